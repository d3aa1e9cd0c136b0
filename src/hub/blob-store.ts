import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import type { RepoCache } from './cache-layout.js';
import type { FileMetadata, HubClient, HubLog } from './hub-client.js';

/** How often a process waiting on another's download looks again. */
const lockPollMs = 250;

/**
 * Takes the blob's lock, or waits while another process (another pod on the same volume) holds it. Returns
 * undefined when the blob appeared meanwhile. The lock saves bandwidth; correctness does not rest on it (downloads
 * go to process-unique names and are renamed into place), so a lock lost to a stale check is only logged.
 */
async function lockBlob(
  cache: RepoCache,
  etag: string,
  path: string,
  log: HubLog,
): Promise<(() => Promise<void>) | undefined> {
  const lockPath = cache.lockPath(etag);
  mkdirSync(dirname(lockPath), { recursive: true });
  let waiting = false;
  for (;;) {
    if (existsSync(cache.blobPath(etag))) return undefined;
    try {
      return await lockfile.lock(lockPath, {
        realpath: false,
        lockfilePath: lockPath,
        // A holder refreshes the lock every 5 s; one not refreshed for 30 s belongs to a process that died.
        stale: 30_000,
        update: 5_000,
        onCompromised: (error) =>
          log.warn({ file: path, reason: error.message }, 'lost the download lock; downloading on'),
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      if (!waiting) log.info({ file: path }, 'another process is downloading this file; waiting for it');
      waiting = true;
      await sleep(lockPollMs);
    }
  }
}

/** Makes sure blobs/<etag> holds the file, downloading it once however many processes share the cache. */
export async function storeBlob(
  cache: RepoCache,
  client: HubClient,
  file: FileMetadata,
  path: string,
  log: HubLog,
): Promise<void> {
  const blob = cache.blobPath(file.etag);
  if (existsSync(blob)) return;
  mkdirSync(dirname(blob), { recursive: true });
  const release = await lockBlob(cache, file.etag, path, log);
  if (release === undefined) return;
  const temporary = cache.temporaryBlobPath(file.etag);
  try {
    if (existsSync(blob)) return;
    await client.download(file, path, temporary);
    // Only a complete, verified file ever has the blob's name.
    renameSync(temporary, blob);
  } finally {
    rmSync(temporary, { force: true });
    await release().catch(() => undefined);
  }
}
