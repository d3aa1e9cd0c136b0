import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { objectStoreError, objectUrl } from './object-store.js';
import { partName, type Piece, type Shard } from './shard-plan.js';

/** What a finished shard wrote, beside its part: enough for the merge check to account for every input byte. */
export interface ShardManifest {
  shard: Shard;
  /** The part object's key, and its size. */
  part: string;
  bytes: number;
  format: string;
  /** Records in the part, and malformed records left out (--on-error skip). */
  records: number;
  malformed: number;
  /** The byte ranges whose records this shard owned (records starting in [start, end)). */
  input: { url: string; etag: string; size: number; start: number; end: number }[];
  model: string;
  dtype: string;
}

/** The keys of a shard's output under the output prefix. */
export function shardKeys(prefix: string, shard: Shard, extension: string) {
  const name = partName(shard);
  return {
    part: `${prefix}${name}.${extension}`,
    manifest: `${prefix}${name}.manifest.json`,
    checkpoint: `${prefix}${name}.checkpoint.json`,
  };
}

export function manifestInput(bucket: string, pieces: readonly Piece[]): ShardManifest['input'] {
  return pieces.map(({ object, start, end }) => ({
    url: objectUrl(bucket, object.key),
    etag: object.etag,
    size: object.size,
    start,
    end,
  }));
}

export async function writeManifest(client: S3Client, bucket: string, key: string, manifest: ShardManifest) {
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${JSON.stringify(manifest, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw objectStoreError(error, `writing the manifest ${objectUrl(bucket, key)}`);
  }
}

/** The manifest, or undefined when the shard has not finished. */
export async function readManifest(client: S3Client, bucket: string, key: string): Promise<ShardManifest | undefined> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await response.Body?.transformToString('utf8')) ?? '') as ShardManifest;
  } catch (error) {
    if (error instanceof S3ServiceException && error.name === 'NoSuchKey') return undefined;
    throw objectStoreError(error, `reading the manifest ${objectUrl(bucket, key)}`);
  }
}

/** The size of an object, or undefined if there is none. */
export async function objectSize(client: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    if (error instanceof S3ServiceException && (error.name === 'NotFound' || error.name === 'NoSuchKey'))
      return undefined;
    throw objectStoreError(error, `looking up ${objectUrl(bucket, key)}`);
  }
}
