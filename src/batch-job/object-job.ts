import type { S3Client } from '@aws-sdk/client-s3';
import { runBatchJob, type BatchJobIO, type BatchJobOptions, type BatchSummary } from './batch-job.js';
import type { Inference } from '../inference/inference.js';
import { checkParts, type MergeSummary } from './merge-check.js';
import { readObjects, writeObject } from './object-ends.js';
import { createObjectStoreClient, isObjectUrl, listInput, parseObjectUrl } from './object-store.js';
import { outputPrefix, runShardJob, type ScoredWith } from './shard-job.js';
import { defaultPartBytes } from './part-upload.js';

let client: S3Client | undefined;
/** One client per process, made when the job first needs object storage. */
function objectStore(): S3Client {
  client ??= createObjectStoreClient(process.env);
  return client;
}

/**
 * The job for any input and output: a shard of object storage (parts, manifest, resume per shard), or one
 * run from a file, stdin or objects to a file, stdout or one object.
 */
export async function scoreJob(
  inference: Inference,
  options: BatchJobOptions,
  io: BatchJobIO,
  scoredWith: ScoredWith,
): Promise<BatchSummary> {
  if (options.shard !== undefined) {
    const sharded = { ...options, shard: options.shard, partBytes: options.partBytes ?? defaultPartBytes };
    const result = await runShardJob(objectStore(), inference, sharded, io, scoredWith);
    const { manifest } = result;
    if (result.alreadyDone)
      io.log(
        `shard ${manifest.shard.index}/${manifest.shard.count} was already done (its manifest is there): nothing to do`,
      );
    else if (!result.summary.interrupted) {
      io.log(`wrote ${manifest.part}: ${manifest.records} records, ${manifest.bytes} bytes, and its manifest`);
    }
    return result.summary;
  }
  const input = isObjectUrl(options.input) ? await readObjects(objectStore(), options) : undefined;
  const output = isObjectUrl(options.output) ? writeObject(objectStore(), options) : undefined;
  return runBatchJob(inference, options, io, { input, output });
}

/** --merge: the parts under the output prefix, checked against the input listed again. */
export async function checkMerge(options: BatchJobOptions): Promise<MergeSummary> {
  const output = outputPrefix(options.output);
  const input = parseObjectUrl(options.input);
  if (input === undefined) throw new Error('batch-options lets --merge through only with an s3:// input');
  const objects = await listInput(objectStore(), input, options.inputFormat);
  return checkParts(objectStore(), { bucket: output.bucket, prefix: output.key }, { bucket: input.bucket, objects });
}
