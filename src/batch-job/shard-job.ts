import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BatchJobError, runBatchJob, type BatchJobIO, type BatchJobOptions, type BatchSummary } from './batch-job.js';
import { delimiterOf } from './formats.js';
import type { Inference } from '../inference/inference.js';
import { objectInput } from './object-source.js';
import {
  isPrefix,
  listInput,
  objectStoreError,
  objectUrl,
  parseObjectUrl,
  type ObjectLocation,
} from './object-store.js';
import { PartUpload } from './part-upload.js';
import { parseCsvRecord } from './resume-point.js';
import { planShard, type Shard } from './shard-plan.js';
import { manifestInput, readManifest, shardKeys, writeManifest, type ShardManifest } from './shard-manifest.js';

/** The model a part was scored with, as its manifest records it. */
export interface ScoredWith {
  model: string;
  dtype: string;
}

export interface ShardResult {
  summary: BatchSummary;
  manifest: ShardManifest;
  /** The shard's manifest was already there: an earlier pod finished it, nothing was done. */
  alreadyDone: boolean;
}

/** The output prefix of a sharded job: `s3://bucket/prefix/`. */
export function outputPrefix(url: string): ObjectLocation {
  const location = parseObjectUrl(url);
  if (location === undefined || !isPrefix(location)) {
    throw new BatchJobError(
      `a sharded job writes parts under a prefix: --output must be s3://bucket/prefix/ (ending in /); got ${url}`,
    );
  }
  return location;
}

/**
 * One shard of a job over object storage: plans its share of the input from the listing, continues its own
 * part from the checkpoint a replaced pod left (or starts it), scores, completes the part and writes its
 * manifest. Run again after it finished, it finds the manifest and does nothing.
 */
export async function runShardJob(
  client: S3Client,
  inference: Inference,
  options: BatchJobOptions & { shard: Shard; partBytes: number },
  io: BatchJobIO,
  scoredWith: ScoredWith,
): Promise<ShardResult> {
  const input = parseObjectUrl(options.input);
  if (input === undefined)
    throw new BatchJobError(`a sharded job reads object storage: INPUT must be s3://…; got ${options.input}`);
  const output = outputPrefix(options.output);
  const objects = await listInput(client, input, options.inputFormat);
  const pieces = planShard(objects, options.shard);
  const keys = shardKeys(output.key, options.shard, options.outputFormat);
  const where = (key: string): string => objectUrl(output.bucket, key);

  const finished = await readManifest(client, output.bucket, keys.manifest);
  if (finished !== undefined) {
    const summary: BatchSummary = {
      scored: 0,
      resumed: finished.records,
      malformed: 0,
      malformedResumed: finished.malformed,
      scoringSeconds: 0,
      textsPerSecond: 0,
      interrupted: false,
    };
    return { summary, manifest: finished, alreadyDone: true };
  }

  const upload = await PartUpload.open(
    client,
    { bucket: output.bucket, key: keys.part, checkpointKey: keys.checkpoint, partBytes: options.partBytes },
    io.log,
  );
  const format = options.outputFormat;
  const resumePoint = await upload.resumePoint(async (text) =>
    parseCsvRecord(Buffer.from(text), delimiterOf(format === 'jsonl' ? 'csv' : format)),
  );
  const source = objectInput(client, input.bucket, pieces, options.inputFormat, options.fields, options.maxRecordBytes);
  const summary = await runBatchJob(inference, options, io, {
    input: source,
    output: { sink: upload, resumePoint },
  });
  if (summary.interrupted) return { summary, manifest: manifestOf(summary, 0), alreadyDone: false };

  const manifest = manifestOf(summary, upload.uploadedBytes());
  await writeManifest(client, output.bucket, keys.manifest, manifest);
  try {
    await client.send(new DeleteObjectCommand({ Bucket: output.bucket, Key: keys.checkpoint }));
  } catch (error) {
    // The manifest is the shard's commit; a leftover checkpoint is only clutter.
    io.log(objectStoreError(error, `deleting ${where(keys.checkpoint)}`).message);
  }
  return { summary, manifest, alreadyDone: false };

  function manifestOf(done: BatchSummary, bytes: number): ShardManifest {
    return {
      shard: options.shard,
      part: keys.part,
      bytes,
      format,
      records: done.scored + done.resumed,
      malformed: done.malformed + done.malformedResumed,
      input: manifestInput(input?.bucket ?? '', pieces),
      ...scoredWith,
    };
  }
}
