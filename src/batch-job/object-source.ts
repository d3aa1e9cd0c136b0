import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { ByteCount, countBytes } from './byte-count.js';
import { readCsv } from './csv-reader.js';
import type { JobInput } from './batch-job.js';
import { delimiterOf, type RecordFormat } from './formats.js';
import { delimitedRecords, jsonlRecords, type FieldNames, type InputItem } from './input-records.js';
import { readLines } from './line-reader.js';
import { objectStoreError, ObjectStoreError, objectUrl } from './object-store.js';
import { RecordEnds } from './record-ends.js';
import type { Piece } from './shard-plan.js';

/** Bytes per ranged GET: a shard never holds a connection open for long while the engine works through them. */
const rangeBytes = 8 * 1024 * 1024;

/** An object that ends in the middle of a record: the export or upload that made it was cut short. */
export class TruncatedInputError extends ObjectStoreError {
  constructor(url: string, line: number, problem: string) {
    super(
      `${url} ends in the middle of a record (line ${line}: ${problem}): the object looks truncated`,
      true,
      'SENTIMENT_TRUNCATED_INPUT',
    );
  }
}

/** Bytes [from, object end) by ranged GETs of the listed version; stops early when the consumer does. */
async function* objectBytes(client: S3Client, bucket: string, piece: Piece, from: number): AsyncGenerator<Buffer> {
  const { object } = piece;
  const url = objectUrl(bucket, object.key);
  for (let at = from; at < object.size; at += rangeBytes) {
    const to = Math.min(object.size, at + rangeBytes);
    let body: Readable;
    try {
      const response = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: object.key, Range: `bytes=${at}-${to - 1}`, IfMatch: object.etag }),
      );
      body = response.Body as Readable;
    } catch (error) {
      throw objectStoreError(error, `reading ${url} bytes ${at}-${to - 1}`);
    }
    let got = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        got += chunk.length;
        yield chunk;
      }
    } catch (error) {
      throw objectStoreError(error, `reading ${url} bytes ${at}-${to - 1}`);
    }
    if (got !== to - at) {
      throw new ObjectStoreError(`reading ${url}: got ${got} of bytes ${at}-${to - 1}: the object was cut short`, true);
    }
  }
}

/**
 * The bytes of the records a piece owns (see Piece), preceded for CSV/TSV by the object's header record, which
 * every shard needs to name the columns. JSONL reads from one byte before `start`: a shard reads only its own
 * bytes and the end of its last record. CSV/TSV must know whether `start` falls inside a quoted field, which
 * only the bytes before it tell: a later shard of a CSV object scans (without parsing) from the object's start.
 */
export async function* pieceBytes(
  /** The object's bytes from an offset to its end. */
  read: (from: number) => AsyncIterable<Buffer>,
  piece: Piece,
  format: RecordFormat,
  atEnd: { midRecord: boolean },
): AsyncGenerator<Buffer> {
  const ends = new RecordEnds(format);
  const headerFirst = format !== 'jsonl' && piece.start > 0;
  const from = format === 'jsonl' && piece.start > 0 ? piece.start - 1 : 0;
  /** Bytes before the first owned record are skipped (after the header, for CSV/TSV). */
  let phase: 'header' | 'seek' | 'own' = headerFirst ? 'header' : piece.start > 0 ? 'seek' : 'own';
  let offset = from;
  let lastEnd = from;
  for await (const chunk of read(from)) {
    let emitFrom = phase === 'seek' ? -1 : 0;
    let i = 0;
    for (;;) {
      const end = ends.next(chunk, i);
      if (end === -1) break;
      i = end;
      const at = offset + end;
      lastEnd = at;
      if (phase === 'header') {
        yield chunk.subarray(0, end);
        phase = 'seek';
        emitFrom = -1;
      }
      if (phase === 'seek' && at >= piece.start) {
        // A record that starts before `start` and runs past `end` leaves this piece nothing.
        if (at >= piece.end) return;
        phase = 'own';
        emitFrom = end;
      } else if (phase === 'own' && at >= piece.end) {
        yield chunk.subarray(emitFrom, end);
        return;
      }
    }
    if (phase === 'header') yield chunk;
    else if (phase === 'own' && emitFrom < chunk.length) yield chunk.subarray(emitFrom);
    offset += chunk.length;
  }
  atEnd.midRecord = phase === 'own' && lastEnd < offset;
}

/**
 * The records of a shard's pieces, one object after another, each with its own reader (a CSV/TSV object's
 * header is its own). Line numbers count from the start of what the shard reads of each object.
 */
export function objectInput(
  client: S3Client,
  bucket: string,
  pieces: readonly Piece[],
  format: RecordFormat,
  fields: FieldNames,
  maxRecordBytes: number,
): JobInput {
  const bytes = new ByteCount();
  const stop = new AbortController();
  async function* items(): AsyncGenerator<InputItem> {
    for (const piece of pieces) {
      if (stop.signal.aborted) return;
      const atEnd = { midRecord: false };
      const read = (from: number) => objectBytes(client, bucket, piece, from);
      const chunks = countBytes(pieceBytes(read, piece, format, atEnd), bytes);
      const records =
        format === 'jsonl'
          ? jsonlRecords(readLines(chunks, maxRecordBytes), fields)
          : delimitedRecords(
              readCsv(chunks, { delimiter: delimiterOf(format), maxRecordChars: maxRecordBytes }),
              fields,
            );
      // One item held back: the last one of an object that ends mid-record is the evidence of truncation.
      let held: InputItem | undefined;
      for await (const item of records) {
        if (stop.signal.aborted) return;
        if (held !== undefined) yield held;
        held = item;
      }
      if (held?.kind === 'malformed' && atEnd.midRecord) {
        throw new TruncatedInputError(objectUrl(bucket, piece.object.key), held.line, held.message);
      }
      if (held !== undefined) yield held;
    }
  }
  return {
    items: items(),
    close: () => stop.abort(),
    bytes,
    totalBytes: pieces.reduce((sum, piece) => sum + piece.end - piece.start, 0),
  };
}
