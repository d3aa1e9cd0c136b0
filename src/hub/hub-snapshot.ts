import { readFileSync } from 'node:fs';
import type { Config } from '../config/config.js';
import { storeBlob } from './blob-store.js';
import { hubCacheDir, isCommitSha, RepoCache, tagCacheDir, tokenFilePath } from './cache-layout.js';
import { defaultRetryPolicy, HubClient, type HubLog, type RetryPolicy } from './hub-client.js';
import { hubErrors, HubUnreachableError, type RepoRef } from './hub-errors.js';
import { modelFiles, type WantedFile } from './model-files.js';

export type HubSettings = Pick<
  Config,
  'engine' | 'device' | 'dtype' | 'revision' | 'hfToken' | 'hfEndpoint' | 'hfHome' | 'hfHubCache' | 'hfHubOffline'
> & { modelId: string };

/** A Hub model in the local cache, ready to be read as a model directory. */
export interface HubSnapshot {
  modelId: string;
  /** As asked for: a branch, tag or commit. */
  revision: string;
  /** The commit it resolved to (TEI's model_sha). */
  commit: string;
  /** snapshots/<commit>/ in the cache. */
  dir: string;
}

/** HF_TOKEN, else the token `huggingface-cli login` saved under HF_HOME, as huggingface_hub looks for one. */
function tokenOf(settings: HubSettings): string | undefined {
  if (settings.hfToken !== undefined) return settings.hfToken;
  try {
    const saved = readFileSync(tokenFilePath(settings), 'utf8').trim();
    return saved === '' ? undefined : saved;
  } catch {
    return undefined;
  }
}

function missingFrom(cache: RepoCache, commit: string | undefined, files: readonly WantedFile[]): string[] {
  return files
    .filter(
      (f) =>
        f.required && (commit === undefined || !(cache.hasFile(commit, f.path) || hasAlternative(cache, commit, f))),
    )
    .map((f) => f.path);
}

function hasAlternative(cache: RepoCache, commit: string, file: WantedFile): boolean {
  return file.unlessPresent !== undefined && cache.hasFile(commit, file.unlessPresent);
}

/**
 * Resolves MODEL_ID at REVISION to a complete snapshot directory in the cache: from the cache alone with
 * HF_HUB_OFFLINE (or when the revision is a commit already there), else asking the Hub and downloading what is
 * missing. When the Hub cannot be reached, a complete cached snapshot of the revision still serves.
 */
export async function resolveHubSnapshot(
  settings: HubSettings,
  log: HubLog,
  retry: RetryPolicy = defaultRetryPolicy,
): Promise<HubSnapshot> {
  const { modelId, revision } = settings;
  const ref: RepoRef = { repoId: modelId, revision, endpoint: settings.hfEndpoint };
  const cacheDir = hubCacheDir(settings);
  const cache = new RepoCache(cacheDir, modelId);
  const files = modelFiles(settings.engine, settings.dtype, settings.device);
  const snapshot = (commit: string): HubSnapshot => ({ modelId, revision, commit, dir: cache.snapshotDir(commit) });

  const cachedCommit = cache.cachedCommit(revision);
  const cachedComplete = cachedCommit !== undefined && missingFrom(cache, cachedCommit, files).length === 0;
  if (settings.hfHubOffline) {
    if (!cachedComplete) throw hubErrors.offlineNotCached(ref, cacheDir, missingFrom(cache, cachedCommit, files));
    log.info(
      { modelId, revision, commit: cachedCommit, cache: cacheDir },
      'HF_HUB_OFFLINE: serving the model from the cache',
    );
    return snapshot(cachedCommit);
  }
  // A commit's files never change: nothing to ask the Hub.
  if (cachedComplete && isCommitSha(revision)) return snapshot(cachedCommit);

  const client = new HubClient(ref, tokenOf(settings), log, retry);
  try {
    return snapshot(await download(cache, client, ref, files, log));
  } catch (error) {
    if (!(error instanceof HubUnreachableError)) throw error;
    if (!cachedComplete) throw hubErrors.unreachableNotCached(ref, cacheDir, error);
    log.warn(
      { modelId, revision, commit: cachedCommit, reason: error.message },
      'the Hub is unreachable: serving the cached snapshot',
    );
    return snapshot(cachedCommit);
  }
}

async function download(
  cache: RepoCache,
  client: HubClient,
  ref: RepoRef,
  files: readonly WantedFile[],
  log: HubLog,
): Promise<string> {
  tagCacheDir(cache.cacheDir);
  // The first answer fixes the commit; every later file is asked for at that commit, so a push to the branch
  // during the download cannot mix two versions in one snapshot.
  let commit: string | undefined;
  for (const file of files) {
    if (commit !== undefined && !file.required && cache.knownMissing(commit, file.path)) continue;
    if (commit !== undefined && hasAlternative(cache, commit, file)) continue;
    const metadata = await client.metadata(commit ?? ref.revision, file.path);
    if ('missing' in metadata) {
      commit ??= metadata.commit;
      if (!file.required && metadata.commit !== undefined) {
        cache.markMissing(metadata.commit, file.path);
        continue;
      }
      if (!file.required) continue;
      throw hubErrors.fileNotFound(ref, file.path, file.hint.replaceAll('<MODEL_ID>', ref.repoId));
    }
    if (commit === undefined) {
      commit = metadata.commit;
      cache.writeRef(ref.revision, commit);
      log.info({ modelId: ref.repoId, revision: ref.revision, commit }, 'resolved the model on the Hub');
    }
    if (cache.hasFile(commit, file.path)) continue;
    await storeBlob(cache, client, metadata, file.path, log);
    cache.link(commit, file.path, metadata.etag);
  }
  if (commit === undefined) throw hubErrors.notTheHub(ref, 'config.json', 'no commit for the revision');
  return commit;
}
