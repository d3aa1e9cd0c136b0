import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Config } from '../config/config.js';

// The huggingface_hub cache layout (huggingface_hub/file_download.py), kept exactly so that a cache filled by
// `huggingface-cli download` or TEI serves this service, and ours serves them:
//   <cache>/models--<org>--<name>/blobs/<etag>                   file contents, named by ETag (sha256 for LFS files)
//   <cache>/models--<org>--<name>/refs/<revision>                the commit a branch or tag pointed to
//   <cache>/models--<org>--<name>/snapshots/<commit>/<path>      relative symlinks into blobs/
//   <cache>/models--<org>--<name>/.no_exist/<commit>/<path>      files the repository does not have at that commit
//   <cache>/.locks/models--<org>--<name>/                        lock files, one per blob

/** $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub, as huggingface_hub resolves it. */
export function hubCacheDir(config: Pick<Config, 'hfHome' | 'hfHubCache'>): string {
  return config.hfHubCache ?? join(config.hfHome ?? join(homedir(), '.cache', 'huggingface'), 'hub');
}

/** `$HF_HOME/token`, where `huggingface-cli login` keeps the token. */
export function tokenFilePath(config: Pick<Config, 'hfHome'>): string {
  return join(config.hfHome ?? join(homedir(), '.cache', 'huggingface'), 'token');
}

export function isCommitSha(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** `W/"abc"` and `"abc"` -> `abc`, as huggingface_hub names blobs. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '');
}

export class RepoCache {
  readonly folderName: string;
  readonly root: string;

  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.folderName = ['models', ...repoId.split('/')].join('--');
    this.root = join(cacheDir, this.folderName);
  }

  blobPath(etag: string): string {
    return join(this.root, 'blobs', etag);
  }

  /** A name no other process or attempt uses, next to the blob so the final rename stays on one file system. */
  temporaryBlobPath(etag: string): string {
    return join(this.root, 'blobs', `${etag}.${randomBytes(4).toString('hex')}.incomplete`);
  }

  snapshotDir(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  pointerPath(commit: string, path: string): string {
    return join(this.snapshotDir(commit), path);
  }

  noExistPath(commit: string, path: string): string {
    return join(this.root, '.no_exist', commit, path);
  }

  /** Ours, beside huggingface_hub's `<etag>.lock` (a flock(2) file Node cannot take): best effort, like theirs. */
  lockPath(etag: string): string {
    return join(this.cacheDir, '.locks', this.folderName, `${etag}.node.lock`);
  }

  /** The commit a revision resolves to from the cache alone: itself if it is one, else refs/<revision>. */
  cachedCommit(revision: string): string | undefined {
    if (isCommitSha(revision)) return revision;
    try {
      const commit = readFileSync(join(this.root, 'refs', revision), 'utf8').trim();
      return isCommitSha(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Written atomically (temporary file + rename): a concurrent reader sees the old commit or the new one. */
  writeRef(revision: string, commit: string): void {
    if (revision === commit || this.cachedCommit(revision) === commit) return;
    const path = join(this.root, 'refs', revision);
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, commit);
    renameSync(temporary, path);
  }

  /** Whether the snapshot holds this file, following its link (a dangling link to a removed blob does not count). */
  hasFile(commit: string, path: string): boolean {
    try {
      return statSync(this.pointerPath(commit, path)).isFile();
    } catch {
      return false;
    }
  }

  knownMissing(commit: string, path: string): boolean {
    return existsSync(this.noExistPath(commit, path));
  }

  markMissing(commit: string, path: string): void {
    const marker = this.noExistPath(commit, path);
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, '');
  }

  /**
   * snapshots/<commit>/<path> -> ../../blobs/<etag> (one more ../ per folder in path), relative so the cache can be
   * moved or mounted elsewhere. Made under a temporary name and renamed over, so concurrent starts never clash.
   */
  link(commit: string, path: string, etag: string): void {
    const pointer = this.pointerPath(commit, path);
    mkdirSync(dirname(pointer), { recursive: true });
    const temporary = `${pointer}.${randomBytes(4).toString('hex')}.link`;
    symlinkSync(relative(dirname(pointer), this.blobPath(etag)), temporary);
    try {
      renameSync(temporary, pointer);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }
}

/** Tags the cache for backup tools (https://bford.info/cachedir/), as huggingface_hub does. */
export function tagCacheDir(cacheDir: string): void {
  const tag = join(cacheDir, 'CACHEDIR.TAG');
  if (existsSync(tag)) return;
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(
      tag,
      'Signature: 8a477f597d28d172789f06886806bc55\n' +
        '# This file is a cache directory tag created by huggingface_hub.\n' +
        '# For information about cache directory tags, see:\n' +
        '#\thttps://bford.info/cachedir/\n',
    );
  } catch {
    // A read-only cache (a mounted volume) is served as it is.
  }
}
