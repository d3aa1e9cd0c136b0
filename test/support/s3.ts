import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createObjectStoreClient } from '../../src/batch-job/object-store.js';

/** The S3 server scripts/test-s3.sh started (AWS_ENDPOINT_URL_S3 and its keys are in the environment). */
export function testStore(): S3Client {
  if (!process.env.AWS_ENDPOINT_URL_S3)
    throw new Error('run the S3 tests with npm run test:s3, which starts the server');
  return createObjectStoreClient(process.env);
}

/** The variables a spawned CLI needs to reach the test server. */
export function storeEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
    env[name] = process.env[name] ?? '';
  }
  return env;
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!/BucketAlready(OwnedByYou|Exists)/.test((error as Error).name)) throw error;
  }
}

export async function put(client: S3Client, bucket: string, key: string, body: string | Buffer): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export async function getText(client: S3Client, bucket: string, key: string): Promise<string> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await response.Body?.transformToString('utf8')) ?? '';
}

export async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((entry) => entry.Key ?? '').sort();
}

export async function remove(client: S3Client, bucket: string, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}
