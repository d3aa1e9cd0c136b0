import {
  ListObjectsV2Command,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { BatchJobError, exitCodes } from './batch-job.js';
import { formatOfPath, type RecordFormat } from './formats.js';
import type { StoredObject } from './shard-plan.js';
import type { ErrorCode } from '../errors/error-codes.js';

/** An object (`s3://bucket/key`) or every object under a prefix (`s3://bucket/prefix/`, `s3://bucket/`). */
export interface ObjectLocation {
  bucket: string;
  key: string;
}

const scheme = 's3://';

export function isObjectUrl(value: string): boolean {
  return value.startsWith(scheme);
}

export function isPrefix(location: ObjectLocation): boolean {
  return location.key === '' || location.key.endsWith('/');
}

export function objectUrl(bucket: string, key: string): string {
  return `${scheme}${bucket}/${key}`;
}

/** Parses `s3://bucket/key`; undefined when the value is not in that form (the caller words the usage error). */
export function parseObjectUrl(value: string): ObjectLocation | undefined {
  if (!isObjectUrl(value)) return undefined;
  const rest = value.slice(scheme.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  // S3's bucket naming rules, shortened: 3-63 lower-case letters, digits, dots and hyphens.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) return undefined;
  return { bucket, key: slash === -1 ? '' : rest.slice(slash + 1) };
}

/** The object store refused or failed a request. `exitCode` 3 when retrying the same request cannot help. */
export class ObjectStoreError extends BatchJobError {
  constructor(message: string, permanent: boolean, code: ErrorCode = 'SENTIMENT_OBJECT_STORE') {
    super(message, code);
    this.exitCode = permanent ? exitCodes.unusableData : exitCodes.failed;
  }
}

const hints: Record<string, string> = {
  NoSuchBucket: 'the bucket does not exist',
  NoSuchKey: 'no such object',
  AccessDenied: 'access denied: check the credentials (IRSA role, Pod Identity, AWS_PROFILE) and the bucket policy',
  Forbidden: 'access denied: check the credentials (IRSA role, Pod Identity, AWS_PROFILE) and the bucket policy',
  InvalidAccessKeyId: 'the access key is not known to the store',
  // versitygw's (and other gateways') name for the same.
  XAdminUserNotFound: 'the access key is not known to the store',
  SignatureDoesNotMatch: 'the secret key does not match the access key',
  PreconditionFailed: 'the object changed since the job listed it; every shard must read the same version',
  InvalidRange: 'the object is shorter than when the job listed it (replaced or truncated)',
};

/** A HEAD request's error has no body, hence no name: its status says what it can. */
const statusHints: Record<number, string> = {
  403: 'access denied, or the credentials were not accepted: check them (IRSA role, Pod Identity, AWS_PROFILE) and the bucket policy',
  404: 'not found',
};

/** Statuses that the same request will meet again: not found, denied, changed. */
const permanentStatuses = new Set([400, 401, 403, 404, 409, 412, 416]);

/** An SDK failure as a job error that says what was being done and whether a retry can help. */
export function objectStoreError(error: unknown, doing: string): BatchJobError {
  if (error instanceof BatchJobError) return error;
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    const hint = hints[error.name] ?? (status === undefined ? undefined : statusHints[status]) ?? error.message;
    return new ObjectStoreError(
      `${doing}: ${hint} (${error.name}${status === undefined ? '' : `, HTTP ${status}`})`,
      status !== undefined && permanentStatuses.has(status),
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  // No answer at all (DNS, refused, reset, no region or credentials configured): retrying may help.
  return new ObjectStoreError(`${doing}: ${message}`, false);
}

/**
 * The client, with credentials from the SDK's default chain (env, profile, IRSA web identity, EKS Pod Identity).
 * A custom endpoint (AWS_ENDPOINT_URL_S3, or AWS_ENDPOINT_URL) is an S3-compatible store: those are addressed
 * path-style (bucket in the path), which they all accept, rather than by virtual host.
 */
export function createObjectStoreClient(env: NodeJS.ProcessEnv): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return new S3Client({ endpoint, forcePathStyle: endpoint !== undefined });
}

/** The input objects, sorted by key: the object itself, or every object of the format (by extension) under a prefix. */
export async function listInput(
  client: S3Client,
  location: ObjectLocation,
  format: RecordFormat,
): Promise<StoredObject[]> {
  const url = objectUrl(location.bucket, location.key);
  try {
    if (!isPrefix(location)) {
      const head = await client
        .send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }))
        .catch(async (error: unknown) => {
          // A HEAD's 404 has no body to say what is missing (the bucket, the object, or a key the store
          // does not know): a listing's error says.
          if (error instanceof S3ServiceException && error.name === 'NotFound') {
            await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.key, MaxKeys: 1 }));
            throw new ObjectStoreError(`${url}: no such object (NoSuchKey, HTTP 404)`, true);
          }
          throw error;
        });
      return [{ key: location.key, size: head.ContentLength ?? 0, etag: head.ETag ?? '' }];
    }
    const objects: StoredObject[] = [];
    const pages = paginateListObjectsV2({ client }, { Bucket: location.bucket, Prefix: location.key });
    for await (const page of pages) {
      for (const entry of page.Contents ?? []) {
        if (entry.Key === undefined || formatOfPath(entry.Key) !== format) continue;
        objects.push({ key: entry.Key, size: entry.Size ?? 0, etag: entry.ETag ?? '' });
      }
    }
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (objects.length === 0) {
      throw new ObjectStoreError(`${url}: no ${format} objects (by extension) under this prefix`, true);
    }
    return objects;
  } catch (error) {
    throw objectStoreError(error, `listing ${url}`);
  }
}
