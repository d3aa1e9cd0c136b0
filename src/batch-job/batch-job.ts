import { createReadStream, createWriteStream, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { truncate } from 'node:fs/promises';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import type { Inference } from '../inference/inference.js';
import type { Prediction } from '../inference/postprocess.js';
import { ByteCount, countBytes } from './byte-count.js';
import { readCsv } from './csv-reader.js';
import { delimiterOf, type RecordFormat } from './formats.js';
import { inArrivalOrder, type Finished } from './in-arrival-order.js';
import { delimitedRecords, jsonlRecords, type FieldNames, type InputItem } from './input-records.js';
import { readLines } from './line-reader.js';
import { OutputSink, type RecordSink } from './output-sink.js';
import type { ProgressSnapshot } from './progress.js';
import { createRecordWriter, OutputMismatchError, type RecordWriter } from './record-writer.js';
import { findResumePoint, type ResumePoint } from './resume-point.js';
import { ServiceError, type ErrorCode } from '../errors/error-codes.js';
import type { Shard } from './shard-plan.js';

export const onErrorPolicies = ['fail', 'skip'] as const;

/** How the command ends, as a Job's pod failure policy reads it. */
export const exitCodes = {
  done: 0,
  /** The job failed; a retry may get further (it resumes). */
  failed: 1,
  usage: 2,
  /** The input or output cannot be used as given (no such bucket, access denied, a truncated object): a retry cannot help. */
  unusableData: 3,
} as const;
export type OnError = (typeof onErrorPolicies)[number];

export interface BatchJobOptions {
  /** A file, or '-' for standard input. */
  input: string;
  /** A file, or '-' for standard output. */
  output: string;
  inputFormat: RecordFormat;
  outputFormat: RecordFormat;
  fields: FieldNames;
  /** A malformed record stops the job (fail) or is reported and left out (skip). */
  onError: OnError;
  /** Continue after the last complete record of an existing output instead of starting over. */
  resume: boolean;
  /** Replace an existing output. Without it (or resume), an existing output is an error. */
  overwrite: boolean;
  /** Most records read and not yet written: bounds memory, and is the batcher's pool for forming batches. */
  window: number;
  /** Longest record; a longer one is malformed (and not held in memory). */
  maxRecordBytes: number;
  /** This pod's share of an object-storage input; its output is a part under the output prefix. */
  shard?: Shard;
  /** A sharded job uploads its part in pieces of this size (or a little more: a record is never split). */
  partBytes?: number;
}

export interface BatchJobIO {
  stdin: Readable;
  stdout: Writable;
  /** Messages, one line each (malformed records, notices); never the texts. */
  log(line: string): void;
  /** Aborting stops reading: what was read is still scored and written, and the job ends as interrupted. */
  signal?: AbortSignal;
  /** Called when the job begins reading, with a view of its progress. */
  onStart?(snapshot: () => ProgressSnapshot): void;
}

export interface BatchSummary {
  /** Records scored and written by this run. */
  scored: number;
  /** Records already in the output from an earlier run (--resume), skipped in the input. */
  resumed: number;
  /** Malformed records this run reported. */
  malformed: number;
  /** Malformed records in the part of the input an earlier run had done (it reported them). */
  malformedResumed: number;
  /** From the first text submitted to the last record written. */
  scoringSeconds: number;
  textsPerSecond: number;
  interrupted: boolean;
}

/** The job cannot run or cannot go on; the message says why. Carries what was done until then. */
export class BatchJobError extends ServiceError {
  summary: BatchSummary | undefined;
  exitCode: number = exitCodes.failed;

  constructor(message: string, code: ErrorCode = 'SENTIMENT_BATCH_JOB') {
    super(code, message);
  }
}

/** --on-error fail met a malformed record. Everything before it was written, so --resume continues from it. */
export class MalformedRecordError extends BatchJobError {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`, 'SENTIMENT_MALFORMED_RECORD');
  }
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The checks that need no model: run before loading one, so a mistyped path fails at once. */
export function checkPaths(options: Pick<BatchJobOptions, 'input' | 'output' | 'resume' | 'overwrite'>): void {
  // Objects in a store (s3://) are checked by the store when the job opens them.
  const local = (path: string): boolean => path !== '-' && !path.startsWith('s3://');
  const input = local(options.input) ? statOf(options.input) : undefined;
  if (local(options.input)) {
    if (input === undefined) throw new BatchJobError(`input ${options.input} does not exist`);
    if (input.isDirectory()) throw new BatchJobError(`input ${options.input} is a directory`);
  }
  if (!local(options.output)) {
    if (options.resume && options.output === '-')
      throw new BatchJobError('--resume needs an output file (--output); it cannot resume standard output');
    return;
  }
  const output = statOf(options.output);
  if (output === undefined) return;
  if (output.isDirectory()) throw new BatchJobError(`output ${options.output} is a directory`);
  if (input !== undefined && input.dev === output.dev && input.ino === output.ino) {
    throw new BatchJobError('the output is the input file; write the results to another file');
  }
  if (!options.resume && !options.overwrite) {
    throw new BatchJobError(
      `output ${options.output} exists: add --resume to continue after its last complete record, or --overwrite to replace it`,
    );
  }
}

/** Where the results go, and where an earlier run's output left off. */
export interface JobOutput {
  sink: RecordSink;
  resumePoint: ResumePoint | undefined;
}

async function openOutput(options: BatchJobOptions, io: BatchJobIO): Promise<JobOutput> {
  if (options.output === '-')
    return { sink: new OutputSink('standard output', io.stdout, false), resumePoint: undefined };
  let resumePoint: ResumePoint | undefined;
  if (options.resume && statOf(options.output) !== undefined) {
    resumePoint = await findResumePoint(options.output, options.outputFormat, options.fields.text);
    if (resumePoint.partialBytes > 0) {
      await truncate(options.output, resumePoint.keepBytes);
      io.log(
        `resume: removed ${resumePoint.partialBytes} bytes of a record cut off mid-write at the end of ${options.output}`,
      );
    }
  }
  try {
    // A fresh volume (a Kubernetes Job's first run) has no output directory yet.
    mkdirSync(dirname(options.output), { recursive: true });
    const stream = createWriteStream(options.output, { flags: resumePoint === undefined ? 'w' : 'a' });
    await once(stream, 'open');
    return { sink: new OutputSink(options.output, stream, true), resumePoint };
  } catch (error) {
    throw new BatchJobError(`cannot write ${options.output}: ${(error as Error).message}`);
  }
}

/** What a run has done so far: the summary's counts and times, and the progress reporter's view of them. */
class JobProgress {
  readonly stats = { scored: 0, resumed: 0, malformed: 0, malformedResumed: 0 };
  read = 0;
  scoringStartedAt: number | undefined;
  finishedAtStart = 0;
  lastWrittenAt = 0;

  finished(): number {
    const { resumed, malformedResumed, scored, malformed } = this.stats;
    return resumed + malformedResumed + scored + malformed;
  }

  /** The first text goes to the classifier: rates and ETA count from here. */
  scoringStarts(): void {
    if (this.scoringStartedAt !== undefined) return;
    this.scoringStartedAt = performance.now();
    this.finishedAtStart = this.finished();
  }

  summary(interrupted: boolean): BatchSummary {
    const seconds =
      this.scoringStartedAt === undefined ? 0 : Math.max(0, (this.lastWrittenAt - this.scoringStartedAt) / 1000);
    return {
      ...this.stats,
      scoringSeconds: seconds,
      textsPerSecond: seconds > 0 ? this.stats.scored / seconds : 0,
      interrupted,
    };
  }

  snapshot(input: JobInput): ProgressSnapshot {
    return {
      scored: this.stats.scored,
      malformed: this.stats.malformed,
      read: this.read,
      finished: this.finished(),
      finishedAtStart: this.finishedAtStart,
      bytesRead: input.bytes.bytes,
      totalBytes: input.totalBytes,
      seconds: this.scoringStartedAt === undefined ? 0 : (performance.now() - this.scoringStartedAt) / 1000,
    };
  }
}

/** The records to score, from a file, stdin or object storage. */
export interface JobInput {
  items: AsyncIterable<InputItem>;
  /** Stops reading: releases the file, pipe or connection. */
  close(): void;
  bytes: ByteCount;
  /** A size to show progress against, for a regular file (not a named pipe or a device). */
  totalBytes: number | undefined;
}

/** Stage 1: the input as records (or malformed lines), counting the bytes read. */
function readInput(options: BatchJobOptions, io: BatchJobIO): JobInput {
  const stream = options.input === '-' ? io.stdin : createReadStream(options.input, { highWaterMark: 64 * 1024 });
  const stat = options.input === '-' ? undefined : statOf(options.input);
  const bytes = new ByteCount();
  const chunks = countBytes(stream as AsyncIterable<Buffer>, bytes);
  const items =
    options.inputFormat === 'jsonl'
      ? jsonlRecords(readLines(chunks, options.maxRecordBytes), options.fields)
      : delimitedRecords(
          readCsv(chunks, { delimiter: delimiterOf(options.inputFormat), maxRecordChars: options.maxRecordBytes }),
          options.fields,
        );
  return {
    items,
    close: () => stream.destroy(),
    bytes,
    totalBytes: stat?.isFile() === true ? stat.size : undefined,
  };
}

/**
 * Stage 2: the records to score. Those an earlier run wrote (--resume) are left out after checking the output
 * matches this input; records the output format refuses turn malformed; reading stops where the job must.
 */
async function* admitRecords(
  items: AsyncIterable<InputItem>,
  writer: RecordWriter,
  sink: RecordSink,
  resumePoint: ResumePoint | undefined,
  progress: JobProgress,
  options: BatchJobOptions,
  io: BatchJobIO,
): AsyncGenerator<InputItem> {
  const { stats } = progress;
  let toSkip = resumePoint?.records ?? 0;
  try {
    for await (const item of items) {
      if (io.signal?.aborted) return;
      progress.read += 1;
      let admittedItem = item;
      if (item.kind === 'record') {
        const { refusal, header } = writer.admit(item.fields);
        if (header !== undefined && resumePoint?.header === undefined) sink.write(header);
        if (refusal !== undefined) admittedItem = { kind: 'malformed', line: item.line, message: refusal };
      }
      if (toSkip > 0) {
        if (admittedItem.kind === 'malformed') {
          stats.malformedResumed += 1;
          continue;
        }
        toSkip -= 1;
        stats.resumed += 1;
        if (toSkip === 0 && admittedItem.text !== resumePoint?.lastText) {
          throw new OutputMismatchError(
            `the output's last record is not input record ${stats.resumed} (line ${admittedItem.line}): ` +
              'is this the input (and --text-field) the output was made from? Not resuming',
          );
        }
        continue;
      }
      yield admittedItem;
      if (admittedItem.kind === 'malformed' && options.onError === 'fail') return;
    }
  } catch (error) {
    if (io.signal?.aborted) return;
    throw error;
  }
  if (toSkip > 0) {
    throw new OutputMismatchError(
      `the output already has ${resumePoint?.records} records but the input has only ${stats.resumed}; not resuming`,
    );
  }
}

/** Stage 3: one record's text to the inference call (which batches it with the others in the window). */
function scoreRecord(inference: Inference, progress: JobProgress) {
  return (item: InputItem): Promise<Prediction> | undefined => {
    if (item.kind !== 'record') return undefined;
    progress.scoringStarts();
    return inference.classify([item.text], { truncate: true, topK: 1 }).then((predictions) => {
      const best = predictions[0]?.[0];
      if (best === undefined) throw new Error('the classifier returned no prediction');
      return best;
    });
  };
}

/** Stage 4: the results written in input order, malformed records reported or fatal as --on-error says. */
async function writeInOrder(
  scored: AsyncIterable<Finished<InputItem, Prediction>>,
  writer: RecordWriter,
  sink: RecordSink,
  progress: JobProgress,
  options: BatchJobOptions,
  io: BatchJobIO,
): Promise<void> {
  for await (const { item, outcome } of scored) {
    if (item.kind === 'malformed') {
      if (options.onError === 'fail') throw new MalformedRecordError(item.line, item.message);
      progress.stats.malformed += 1;
      io.log(`line ${item.line}: ${item.message} (skipped)`);
      continue;
    }
    if (outcome === undefined || !outcome.ok) {
      throw new BatchJobError(
        `scoring the record on line ${item.line} failed: ${outcome?.error.message ?? 'no result'}`,
      );
    }
    sink.writeRecord(writer.format(item.fields, outcome.value), item.text);
    progress.stats.scored += 1;
    progress.lastWrittenAt = performance.now();
    await sink.ready();
  }
}

/**
 * Scores every record of the input and writes it, with its label and score, to the output, in input order.
 * Memory is bounded by the window whatever the input's size: records are read only as fast as they are
 * scored and written. The inference call is the server's (same admission, model, tokenizer, engine and batcher).
 */
export async function runBatchJob(
  inference: Inference,
  options: BatchJobOptions,
  io: BatchJobIO,
  /** Input and output other than a file or a standard stream (object storage); options.input/output then only name them. */
  ends: { input?: JobInput; output?: JobOutput } = {},
): Promise<BatchSummary> {
  if (ends.input === undefined || ends.output === undefined) checkPaths(options);
  const { sink, resumePoint } = ends.output ?? (await openOutput(options, io));
  const input = ends.input ?? readInput(options, io);
  // Ends a read that may wait forever (a pipe); reading stops either way.
  const onAbort = (): void => input.close();
  io.signal?.addEventListener('abort', onAbort, { once: true });
  const writer = createRecordWriter(options.outputFormat, options.fields, resumePoint?.header);
  const progress = new JobProgress();
  io.onStart?.(() => progress.snapshot(input));

  let failure: unknown;
  try {
    const admitted = admitRecords(input.items, writer, sink, resumePoint, progress, options, io);
    await writeInOrder(
      inArrivalOrder(admitted, scoreRecord(inference, progress), options.window),
      writer,
      sink,
      progress,
      options,
      io,
    );
  } catch (error) {
    failure = error;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    // Reading may have stopped early (a failure, --on-error fail): release the file or pipe.
    input.close();
  }
  try {
    // Whatever happened, what was scored is written: a rerun with --resume continues after it.
    await sink.end(failure === undefined && io.signal?.aborted !== true);
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) {
    if (failure instanceof MalformedRecordError) progress.stats.malformed += 1;
    const error = asJobError(failure);
    error.summary = progress.summary(io.signal?.aborted === true);
    throw error;
  }
  return progress.summary(io.signal?.aborted === true);
}

/** The failures a job can meet in normal use, as a message; anything else (a bug) is thrown as it is. */
function asJobError(failure: unknown): BatchJobError {
  if (failure instanceof BatchJobError) return failure;
  const expected =
    // InputFormatError, OutputMismatchError, OutputWriteError...
    failure instanceof ServiceError ||
    // Reading the input: EACCES, EISDIR, EIO...
    (failure instanceof Error && typeof (failure as NodeJS.ErrnoException).code === 'string');
  if (!expected) throw failure;
  return new BatchJobError((failure as Error).message);
}
