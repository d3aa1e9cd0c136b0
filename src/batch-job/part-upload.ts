import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { objectStoreError, objectUrl } from './object-store.js';
import type { RecordSink } from './output-sink.js';
import type { ResumePoint } from './resume-point.js';

/** S3's smallest part (all but the last); parts are cut at the first record end past the part size. */
export const minPartBytes = 5 * 1024 * 1024;
export const defaultPartBytes = 8 * 1024 * 1024;

/** A part uploaded and recorded in the checkpoint: the records up to its end are done for good. */
interface CommittedPart {
  number: number;
  etag: string;
  bytes: number;
  /** Records in this and all earlier parts. */
  records: number;
  /** The text field of the last of them, which a resumed run checks against the input. */
  lastText: string | undefined;
}

/** What a replaced pod needs to continue the shard's output: a small JSON object beside the part. */
interface Checkpoint {
  uploadId: string;
  /** Text written before the first record (a CSV/TSV header), to check a resumed run writes the same. */
  header: string | undefined;
  parts: CommittedPart[];
}

/**
 * A shard's output as one multipart upload that survives the pod. Records are buffered until a part is full,
 * then uploaded; the checkpoint object is rewritten after each part, and is the only commit point: a pod killed
 * at any moment loses at most the records of the part it was filling, which its replacement scores again.
 * The part object appears, whole, only when the upload completes.
 */
export class PartUpload implements RecordSink {
  private chunks: string[] = [];
  private bufferedBytes = 0;
  private records: number;
  private lastText: string | undefined;
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;

  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly checkpointKey: string,
    private readonly partBytes: number,
    private readonly checkpoint: Checkpoint,
  ) {
    this.records = checkpoint.parts.at(-1)?.records ?? 0;
  }

  /** Continues the upload a checkpoint records, or starts one. `log` says which. */
  static async open(
    client: S3Client,
    target: { bucket: string; key: string; checkpointKey: string; partBytes: number },
    log: (line: string) => void,
  ): Promise<PartUpload> {
    const { bucket, key, checkpointKey, partBytes } = target;
    let checkpoint = await readCheckpoint(client, bucket, checkpointKey);
    if (checkpoint !== undefined && !(await uploadStillThere(client, bucket, key, checkpoint))) {
      log(
        `resume: the multipart upload of ${objectUrl(bucket, key)} is gone (completed, aborted or expired); starting the shard over`,
      );
      checkpoint = undefined;
    }
    if (checkpoint === undefined) {
      const created = await send(`starting the upload of ${objectUrl(bucket, key)}`, () =>
        client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })),
      );
      checkpoint = { uploadId: created.UploadId ?? '', header: undefined, parts: [] };
      await writeCheckpoint(client, bucket, checkpointKey, checkpoint);
    } else if (checkpoint.parts.length > 0) {
      const last = checkpoint.parts.at(-1) as CommittedPart;
      log(
        `resume: ${checkpoint.parts.length} part(s) of ${objectUrl(bucket, key)} already uploaded (${last.records} records)`,
      );
    }
    return new PartUpload(client, bucket, key, checkpointKey, partBytes, checkpoint);
  }

  /** Where the input continues: after the records of the uploaded parts. `parseHeader` reads a CSV/TSV header. */
  async resumePoint(parseHeader: (text: string) => Promise<string[]>): Promise<ResumePoint | undefined> {
    const last = this.checkpoint.parts.at(-1);
    if (last === undefined) return undefined;
    const { header } = this.checkpoint;
    return {
      records: last.records,
      keepBytes: 0,
      partialBytes: 0,
      header: header === undefined ? undefined : await parseHeader(header),
      lastText: last.lastText,
    };
  }

  /** Bytes in the uploaded parts so far. */
  uploadedBytes(): number {
    return this.checkpoint.parts.reduce((sum, part) => sum + part.bytes, 0);
  }

  write(text: string): void {
    this.throwIfFailed();
    if (this.records === 0 && this.checkpoint.parts.length === 0) {
      this.checkpoint.header = text;
    }
    this.buffer(text);
  }

  writeRecord(output: string, inputText: string): void {
    this.throwIfFailed();
    this.buffer(output);
    this.records += 1;
    this.lastText = inputText;
    if (this.bufferedBytes >= this.partBytes) this.cut();
  }

  async ready(): Promise<void> {
    await this.pending;
    this.throwIfFailed();
  }

  /**
   * Complete: the last part goes up and the part object is assembled. Stopped early (a signal, a failure): the
   * records being buffered are dropped rather than committed as a part smaller than S3 allows mid-upload.
   */
  async end(complete: boolean): Promise<void> {
    await this.ready();
    if (!complete) return;
    if (this.checkpoint.parts.length === 0 && this.bufferedBytes === 0) {
      // No records at all: S3 completes no upload without a part, and an empty part is only allowed last.
      await this.emptyObject();
    } else {
      if (this.bufferedBytes > 0 || this.checkpoint.parts.length === 0) this.cut();
      await this.ready();
      await send(`completing the upload of ${objectUrl(this.bucket, this.key)}`, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: this.key,
            UploadId: this.checkpoint.uploadId,
            MultipartUpload: { Parts: this.checkpoint.parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
          }),
        ),
      );
    }
  }

  private async emptyObject(): Promise<void> {
    const where = objectUrl(this.bucket, this.key);
    await send(`writing ${where}`, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: Buffer.alloc(0) })),
    );
    await send(`aborting the empty upload of ${where}`, () =>
      this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.checkpoint.uploadId }),
      ),
    );
  }

  private buffer(text: string): void {
    this.chunks.push(text);
    this.bufferedBytes += Buffer.byteLength(text);
  }

  /** Uploads what is buffered as the next part, then records it; parts go up one at a time, in order. */
  private cut(): void {
    const body = Buffer.from(this.chunks.join(''));
    this.chunks = [];
    this.bufferedBytes = 0;
    const records = this.records;
    const lastText = this.lastText;
    this.pending = this.pending.then(async () => {
      if (this.failure !== undefined) return;
      try {
        const number = this.checkpoint.parts.length + 1;
        const uploaded = await send(`uploading part ${number} of ${objectUrl(this.bucket, this.key)}`, () =>
          this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: this.key,
              UploadId: this.checkpoint.uploadId,
              PartNumber: number,
              Body: body,
            }),
          ),
        );
        this.checkpoint.parts.push({ number, etag: uploaded.ETag ?? '', bytes: body.length, records, lastText });
        await writeCheckpoint(this.client, this.bucket, this.checkpointKey, this.checkpoint);
      } catch (error) {
        this.failure = error;
      }
    });
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

async function send<T>(doing: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw objectStoreError(error, doing);
  }
}

async function readCheckpoint(client: S3Client, bucket: string, key: string): Promise<Checkpoint | undefined> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await response.Body?.transformToString('utf8')) ?? '') as Checkpoint;
  } catch (error) {
    if (error instanceof S3ServiceException && error.name === 'NoSuchKey') return undefined;
    throw objectStoreError(error, `reading the checkpoint ${objectUrl(bucket, key)}`);
  }
}

async function writeCheckpoint(client: S3Client, bucket: string, key: string, checkpoint: Checkpoint): Promise<void> {
  await send(`writing the checkpoint ${objectUrl(bucket, key)}`, () =>
    client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(checkpoint),
        ContentType: 'application/json',
      }),
    ),
  );
}

/** Whether the checkpoint's upload can go on: it exists, and holds every recorded part as recorded. */
async function uploadStillThere(
  client: S3Client,
  bucket: string,
  key: string,
  checkpoint: Checkpoint,
): Promise<boolean> {
  const found = new Map<number, string>();
  try {
    let marker: string | undefined;
    do {
      const page = await client.send(
        new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: checkpoint.uploadId, PartNumberMarker: marker }),
      );
      for (const part of page.Parts ?? []) {
        if (part.PartNumber !== undefined) found.set(part.PartNumber, part.ETag ?? '');
      }
      marker = page.IsTruncated === true ? page.NextPartNumberMarker : undefined;
    } while (marker !== undefined);
  } catch (error) {
    if (error instanceof S3ServiceException && error.name === 'NoSuchUpload') return false;
    throw objectStoreError(error, `listing the uploaded parts of ${objectUrl(bucket, key)}`);
  }
  return checkpoint.parts.every((part) => found.get(part.number) === part.etag);
}
