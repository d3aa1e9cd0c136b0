import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough } from 'node:stream';
import { BatchJobError, type BatchJobOptions, type JobInput, type JobOutput } from './batch-job.js';
import { objectInput } from './object-source.js';
import { listInput, objectStoreError, objectUrl, parseObjectUrl, type ObjectLocation } from './object-store.js';
import { OutputSink, type RecordSink } from './output-sink.js';
import { planShard } from './shard-plan.js';

function location(url: string, what: string): ObjectLocation {
  const parsed = parseObjectUrl(url);
  if (parsed === undefined) throw new BatchJobError(`${what} ${url} is not s3://bucket/key (bucket: 3-63 characters)`);
  return parsed;
}

/** Every record of an object, or of every object of the format under a prefix, in key order, by ranged GETs. */
export async function readObjects(client: S3Client, options: BatchJobOptions): Promise<JobInput> {
  const input = location(options.input, 'input');
  const objects = await listInput(client, input, options.inputFormat);
  const pieces = planShard(objects, { index: 0, count: 1 });
  return objectInput(client, input.bucket, pieces, options.inputFormat, options.fields, options.maxRecordBytes);
}

/**
 * One output object, streamed up as a multipart upload (lib-storage: a few parts in memory at a time, whatever
 * the size). It appears only if the job completes; a run that stops early aborts the upload. Resuming needs
 * parts that outlive the pod: a sharded job's (--shard 0/1 for one pod).
 */
class ObjectUploadSink implements RecordSink {
  private readonly body = new PassThrough();
  private readonly text: OutputSink;
  private readonly upload: Upload;
  private readonly done: Promise<unknown>;

  constructor(client: S3Client, target: ObjectLocation) {
    const url = objectUrl(target.bucket, target.key);
    this.text = new OutputSink(url, this.body, true);
    this.upload = new Upload({ client, params: { Bucket: target.bucket, Key: target.key, Body: this.body } });
    this.done = this.upload.done().catch((error: unknown) => {
      const failure = objectStoreError(error, `uploading ${url}`);
      this.body.destroy(failure);
      throw failure;
    });
    // Observed in end(); until then a failure shows as the body stream's error.
    this.done.catch(() => undefined);
  }

  write(text: string): void {
    this.text.write(text);
  }

  writeRecord(output: string): void {
    this.text.write(output);
  }

  ready(): Promise<void> {
    return this.text.ready();
  }

  async end(complete: boolean): Promise<void> {
    if (!complete) {
      await this.upload.abort();
      return;
    }
    await this.text.end();
    await this.done;
  }
}

/** The output object; batch-options has refused a prefix and --resume for it. */
export function writeObject(client: S3Client, options: BatchJobOptions): JobOutput {
  return { sink: new ObjectUploadSink(client, location(options.output, 'output')), resumePoint: undefined };
}
