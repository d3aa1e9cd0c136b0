import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { ServiceError } from '../errors/error-codes.js';

/** Writing the output failed (disk full, the reader of a pipe went away). */
export class OutputWriteError extends ServiceError {
  constructor(name: string, cause: Error) {
    const hint = (cause as NodeJS.ErrnoException).code === 'EPIPE' ? ' (the reading end of the pipe was closed)' : '';
    super('SENTIMENT_OUTPUT_WRITE', `writing ${name} failed: ${cause.message}${hint}`, { cause });
  }
}

/** Where the job writes its output text, in order; a record is always written whole, in one call. */
export interface RecordSink {
  /** Text that is not a record (a CSV/TSV header). */
  write(text: string): void;
  /** One record's output; `inputText` is its text field, by which a resumed run recognises its place. */
  writeRecord(output: string, inputText: string): void;
  /** Resolves once the sink can take more; rejects if writing failed. */
  ready(): Promise<void>;
  /** Writes what is buffered; `complete` says whether the whole input was done (or the run stopped early). */
  end(complete: boolean): Promise<void>;
}

/**
 * Buffers output text and writes it in pieces: when a piece is full, or once per turn of the event loop, so
 * results reach the file (or the next process in a pipe) while the job waits for input or for the engine.
 * When the stream cannot take more, ready() waits for it to drain: that is the job's back-pressure.
 */
export class OutputSink implements RecordSink {
  private buffer = '';
  private flushScheduled = false;
  private drained: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    /** For messages: the file, or standard output. */
    name: string,
    private readonly stream: Writable,
    /** End the stream when done: true for a file; false for process.stdout, which is never ended. */
    private readonly endStream: boolean,
    private readonly pieceChars = 64 * 1024,
  ) {
    stream.on('error', (error: Error) => {
      this.failure ??= new OutputWriteError(name, error);
    });
  }

  write(text: string): void {
    this.throwIfFailed();
    this.buffer += text;
    if (this.buffer.length >= this.pieceChars) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  writeRecord(output: string): void {
    this.write(output);
  }

  /** Resolves once the stream can take more; rejects if writing failed. */
  async ready(): Promise<void> {
    if (this.drained !== undefined) await this.drained;
    this.throwIfFailed();
  }

  /** Writes what is buffered and ends the stream (see endStream); resolves once it is written. */
  async end(): Promise<void> {
    this.flush();
    this.throwIfFailed();
    if (!this.endStream) return this.ready();
    const done = finished(this.stream);
    this.stream.end();
    await done;
  }

  private flush(): void {
    if (this.buffer === '' || this.failure !== undefined) return;
    const piece = this.buffer;
    this.buffer = '';
    if (!this.stream.write(piece) && this.drained === undefined) {
      this.drained = new Promise<void>((resolve) => {
        const settle = (): void => {
          this.stream.off('drain', settle);
          this.stream.off('close', settle);
          this.drained = undefined;
          resolve();
        };
        this.stream.on('drain', settle);
        // A stream that fails or closes never drains; ready() then reports the failure.
        this.stream.on('close', settle);
      });
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
