import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageVersion } from '../config/package-root.js';
import { hubErrors, type HubError, HubUnreachableError, type RepoRef } from './hub-errors.js';
import { normalizeEtag } from './cache-layout.js';

/** What the Hub's resolve API says about one file at one revision (a HEAD request, as huggingface_hub does). */
export interface FileMetadata {
  commit: string;
  /** Names the blob: the LFS file's sha256 (X-Linked-Etag), else the file's ETag. */
  etag: string;
  size: number | undefined;
  /** The redirect's target (a CDN for LFS files), else the resolve URL itself. */
  downloadUrl: string;
  /** sha256 the content must have: the linked ETag of an LFS file. */
  sha256: string | undefined;
}

export interface MissingFile {
  missing: true;
  /** The commit the revision resolved to, when the Hub says (it does for a file missing from an existing repo). */
  commit: string | undefined;
}

/** pino's shape, so the server's logger or a CLI's fits. */
export interface HubLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export interface RetryPolicy {
  attempts: number;
  /** Doubles after each failed attempt. */
  firstDelayMs: number;
  /** A HEAD answer may take this long. */
  requestTimeoutMs: number;
  /** A download that receives nothing for this long is cut and resumed. */
  stallTimeoutMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 5,
  firstDelayMs: 500,
  requestTimeoutMs: 10_000,
  stallTimeoutMs: 60_000,
};

/** Files at least this big log their progress at info. */
const progressLogBytes = 10 * 1024 * 1024;

/** A failure worth another attempt: a 5xx or 429, a reset or refused connection, a cut or damaged transfer. */
class Transient extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'status' | 'damaged',
    readonly status?: number,
  ) {
    super(message);
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

export class HubClient {
  constructor(
    private readonly ref: RepoRef,
    private readonly token: string | undefined,
    private readonly log: HubLog,
    private readonly retry: RetryPolicy = defaultRetryPolicy,
  ) {}

  resolveUrl(revision: string, path: string): string {
    // As huggingface_hub's hf_hub_url: the revision quoted whole (refs/pr/1 -> refs%2Fpr%2F1), the path per segment.
    const quotedPath = path.split('/').map(encodeURIComponent).join('/');
    return `${this.ref.endpoint}/${this.ref.repoId}/resolve/${encodeURIComponent(revision)}/${quotedPath}`;
  }

  private headers(url: string): Record<string, string> {
    const headers: Record<string, string> = {
      'user-agent': `sentiment-inference/${packageVersion}`,
      // The real size, not a compressed one.
      'accept-encoding': 'identity',
    };
    // The token goes to the Hub only, never to the CDN a large file redirects to.
    if (this.token !== undefined && new URL(url).origin === new URL(this.ref.endpoint).origin) {
      headers.authorization = `Bearer ${this.token}`;
    }
    return headers;
  }

  private async withRetries<T>(path: string, attempt: (n: number) => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (error) {
        if (!(error instanceof Transient)) throw error;
        if (n >= this.retry.attempts) {
          if (error.kind === 'network')
            throw new HubUnreachableError(this.ref.endpoint, `${error.message}, ${n} attempts`);
          if (error.kind === 'damaged') throw hubErrors.corrupt(this.ref, path, error.message, n);
          throw hubErrors.serverError(this.ref, path, error.status ?? 0, n);
        }
        const delayMs = this.retry.firstDelayMs * 2 ** (n - 1);
        this.log.warn(
          { file: path, attempt: n, retryInMs: delayMs, reason: error.message },
          'Hub request failed, retrying',
        );
        await sleep(delayMs);
      }
    }
  }

  /** Refusals that no retry fixes, translated into what the user should do. */
  private refusal(response: Response, path: string, revision: string): HubError {
    const code = response.headers.get('x-error-code');
    const message = response.headers.get('x-error-message') ?? '';
    const ref = { ...this.ref, revision };
    const hadToken = this.token !== undefined;
    if (code === 'GatedRepo') return hubErrors.gated(ref, response.status, hadToken);
    if (code === 'RevisionNotFound') return hubErrors.revisionNotFound(ref);
    if (code === 'RepoNotFound' || (response.status === 401 && !/invalid credentials/i.test(message))) {
      return hubErrors.repoNotFound(ref, response.status, hadToken);
    }
    if (response.status === 401 || response.status === 403)
      return hubErrors.tokenRefused(ref, response.status, hadToken);
    if (response.status === 404) return hubErrors.fileNotFound(ref, path, '');
    return hubErrors.notTheHub(ref, path, `HTTP ${response.status}${message === '' ? '' : ` (${message})`}`);
  }

  private async request(url: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        headers: { ...this.headers(url), ...(init.headers as Record<string, string>) },
        signal,
      });
    } catch (error) {
      throw new Transient(networkReason(error), 'network');
    }
  }

  /** HEAD of the resolve URL; relative redirects (a renamed repository) are followed, a CDN's is only noted. */
  async metadata(revision: string, path: string): Promise<FileMetadata | MissingFile> {
    return this.withRetries(path, async () => {
      let url = this.resolveUrl(revision, path);
      for (let hops = 0; ; hops++) {
        const response = await this.request(
          url,
          { method: 'HEAD', redirect: 'manual' },
          AbortSignal.timeout(this.retry.requestTimeoutMs),
        );
        const location = response.headers.get('location');
        if (
          response.status >= 300 &&
          response.status < 400 &&
          location !== null &&
          !/^[a-z][a-z0-9+.-]*:/i.test(location) &&
          hops < 5
        ) {
          url = new URL(location, url).href;
          continue;
        }
        if (response.status >= 500 || response.status === 429)
          throw new Transient(`HTTP ${response.status}`, 'status', response.status);
        const commit = response.headers.get('x-repo-commit') ?? undefined;
        if (response.status === 404 && response.headers.get('x-error-code') === 'EntryNotFound')
          return { missing: true, commit };
        if (response.status >= 400) throw this.refusal(response, path, revision);
        const linkedEtag = response.headers.get('x-linked-etag');
        const etag = linkedEtag ?? response.headers.get('etag');
        const ref = { ...this.ref, revision };
        if (commit === undefined || !/^[0-9a-f]{40}$/.test(commit))
          throw hubErrors.notTheHub(ref, path, 'no X-Repo-Commit header with a commit');
        if (etag === null || normalizeEtag(etag) === '' || /[/\\]/.test(normalizeEtag(etag))) {
          throw hubErrors.notTheHub(ref, path, 'no usable ETag header');
        }
        // A redirect's own Content-Length is its body's, not the file's.
        const sizeHeader =
          response.headers.get('x-linked-size') ??
          (response.status < 300 ? response.headers.get('content-length') : null);
        const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
        const normalized = normalizeEtag(etag);
        return {
          commit,
          etag: normalized,
          size,
          // Asked for at the commit, not the branch, so the content is the one this ETag names.
          downloadUrl:
            response.status >= 300 && location !== null ? new URL(location, url).href : this.resolveUrl(commit, path),
          sha256: linkedEtag !== null && /^[0-9a-f]{64}$/.test(normalized) ? normalized : undefined,
        };
      }
    });
  }

  /**
   * GETs the file into `destination` (a name nobody else uses), resuming with a Range request after a cut
   * connection, and checks its size and, for LFS files, its sha256. The caller renames it into place.
   */
  async download(file: FileMetadata, path: string, destination: string): Promise<void> {
    const handle = await open(destination, 'w');
    let written = 0;
    let hash: Hash | undefined = file.sha256 === undefined ? undefined : createHash('sha256');
    const restart = async (): Promise<void> => {
      await handle.truncate(0);
      written = 0;
      hash = file.sha256 === undefined ? undefined : createHash('sha256');
    };
    const loud = (file.size ?? 0) >= progressLogBytes;
    const started = performance.now();
    const logStart = loud ? this.log.info.bind(this.log) : this.log.debug.bind(this.log);
    logStart({ file: path, bytes: file.size }, 'downloading from the Hub');
    let nextReport = 0.1;
    try {
      await this.withRetries(path, async () => {
        const abort = new AbortController();
        let stall: NodeJS.Timeout | undefined;
        const armStall = (): void => {
          clearTimeout(stall);
          stall = setTimeout(() => abort.abort(), this.retry.stallTimeoutMs);
        };
        armStall();
        try {
          const response = await this.request(
            file.downloadUrl,
            { method: 'GET', redirect: 'follow', headers: written > 0 ? { range: `bytes=${written}-` } : {} },
            abort.signal,
          );
          if (response.status >= 500 || response.status === 429)
            throw new Transient(`HTTP ${response.status}`, 'status', response.status);
          if (response.status >= 400) throw this.refusal(response, path, file.commit);
          // A server that ignores Range sends everything again.
          if (written > 0 && response.status !== 206) await restart();
          try {
            // No body is an empty file; the size check below tells it from a short one.
            for await (const chunk of (response.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
              armStall();
              await handle.write(chunk, 0, chunk.length, written);
              hash?.update(chunk);
              written += chunk.length;
              if (loud && file.size !== undefined && written / file.size >= nextReport) {
                this.log.info(
                  { file: path, bytes: written, of: file.size, percent: Math.floor((100 * written) / file.size) },
                  'download progress',
                );
                while (written / file.size >= nextReport) nextReport += 0.1;
              }
            }
          } catch (error) {
            // A failed write (a full disk) is no network trouble and no retry helps it.
            if ((error as NodeJS.ErrnoException).syscall !== undefined) throw error;
            throw new Transient(`connection cut after ${written} bytes: ${networkReason(error)}`, 'network');
          }
        } finally {
          clearTimeout(stall);
        }
        if (file.size !== undefined && written !== file.size) {
          if (written > file.size) {
            await restart();
            throw new Transient(`${written} bytes where ${file.size} were announced`, 'damaged');
          }
          throw new Transient(`connection ended after ${written} of ${file.size} bytes`, 'network');
        }
        const digest = hash?.digest('hex');
        if (digest !== undefined && digest !== file.sha256) {
          await restart();
          throw new Transient(`sha256 ${digest}, expected ${file.sha256}`, 'damaged');
        }
      });
      await handle.sync();
    } finally {
      await handle.close();
    }
    const seconds = (performance.now() - started) / 1000;
    (loud ? this.log.info.bind(this.log) : this.log.debug.bind(this.log))(
      {
        file: path,
        bytes: written,
        seconds: Number(seconds.toFixed(2)),
        verified: file.sha256 === undefined ? 'size' : 'sha256',
      },
      'downloaded from the Hub',
    );
  }
}
