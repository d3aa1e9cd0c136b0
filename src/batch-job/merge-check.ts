import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { BatchJobError } from './batch-job.js';
import { objectStoreError, objectUrl } from './object-store.js';
import type { StoredObject } from './shard-plan.js';
import { objectSize, readManifest, type ShardManifest } from './shard-manifest.js';

/** Parts missing, or manifests that do not add up to the input. */
export class PartsIncompleteError extends BatchJobError {
  constructor(readonly problems: string[]) {
    super(`the parts do not add up:\n  ${problems.join('\n  ')}`, 'SENTIMENT_PARTS_INCOMPLETE');
  }
}

export interface MergeSummary {
  shards: number;
  records: number;
  malformed: number;
  bytes: number;
}

const manifestName = /part-(\d{5})-of-(\d{5})\.manifest\.json$/;

async function manifestKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
      );
      for (const entry of page.Contents ?? []) if (entry.Key && manifestName.test(entry.Key)) keys.push(entry.Key);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } catch (error) {
    throw objectStoreError(error, `listing ${objectUrl(bucket, prefix)}`);
  }
  return keys.sort();
}

/** Ranges of one object, sorted: they must cover [0, size) with no gap and no overlap, all of the same version. */
function coverageProblems(object: StoredObject, url: string, ranges: ShardManifest['input']): string[] {
  if (ranges.length === 0) return object.size === 0 ? [] : [`${url}: no shard read it`];
  const problems: string[] = [];
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let at = 0;
  for (const range of sorted) {
    if (range.etag !== object.etag || range.size !== object.size) {
      problems.push(`${url}: a shard read another version of it (etag ${range.etag}, now ${object.etag})`);
    }
    if (range.start !== at)
      problems.push(
        `${url}: bytes ${Math.min(at, range.start)}-${Math.max(at, range.start)} ${range.start > at ? 'read by no shard' : 'read twice'}`,
      );
    at = range.end;
  }
  if (at !== object.size) problems.push(`${url}: bytes ${at}-${object.size} read by no shard`);
  return problems;
}

/**
 * Checks that every shard of the output finished, that each part is the size its manifest says, and that the
 * manifests' input ranges tile every input object exactly (so every record was owned by exactly one shard).
 */
export async function checkParts(
  client: S3Client,
  output: { bucket: string; prefix: string },
  input: { bucket: string; objects: readonly StoredObject[] },
): Promise<MergeSummary> {
  const keys = await manifestKeys(client, output.bucket, output.prefix);
  const where = objectUrl(output.bucket, output.prefix);
  if (keys.length === 0) throw new PartsIncompleteError([`no part manifests under ${where}`]);
  const manifests: ShardManifest[] = [];
  for (const key of keys) {
    const manifest = await readManifest(client, output.bucket, key);
    if (manifest !== undefined) manifests.push(manifest);
  }
  const problems: string[] = [];
  const count = manifests[0]?.shard.count ?? 0;
  const seen = new Set(manifests.map((m) => m.shard.index));
  for (let i = 0; i < count; i++) if (!seen.has(i)) problems.push(`shard ${i} of ${count}: no manifest (not finished)`);
  for (const m of manifests) {
    if (m.shard.count !== count) problems.push(`${m.part}: made for ${m.shard.count} shards, others for ${count}`);
    if (m.model !== manifests[0]?.model || m.dtype !== manifests[0]?.dtype) {
      problems.push(
        `${m.part}: scored by ${m.model} ${m.dtype}, others by ${manifests[0]?.model} ${manifests[0]?.dtype}`,
      );
    }
    const size = await objectSize(client, output.bucket, m.part);
    if (size !== m.bytes)
      problems.push(`${m.part}: ${size === undefined ? 'missing' : `${size} bytes`}, its manifest says ${m.bytes}`);
  }
  const ranges = manifests.flatMap((m) => m.input);
  for (const object of input.objects) {
    const url = objectUrl(input.bucket, object.key);
    problems.push(
      ...coverageProblems(
        object,
        url,
        ranges.filter((r) => r.url === url),
      ),
    );
  }
  if (problems.length > 0) throw new PartsIncompleteError(problems);
  return {
    shards: count,
    records: manifests.reduce((sum, m) => sum + m.records, 0),
    malformed: manifests.reduce((sum, m) => sum + m.malformed, 0),
    bytes: manifests.reduce((sum, m) => sum + m.bytes, 0),
  };
}
