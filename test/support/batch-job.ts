import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runBatchJob, type BatchJobOptions, type BatchSummary } from '../../src/batch-job/batch-job.js';
import type { Inference } from '../../src/inference/inference.js';

/** A scratch directory for one test file's inputs and outputs. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'batch-job-'));
  private n = 0;

  file(name: string, content?: string): string {
    const path = join(this.dir, `${this.n++}-${name}`);
    if (content !== undefined) writeFileSync(path, content);
    return path;
  }

  read(path: string): string {
    return readFileSync(path, 'utf8');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function jobOptions(overrides: Partial<BatchJobOptions>): BatchJobOptions {
  return {
    input: '-',
    output: '-',
    inputFormat: 'jsonl',
    outputFormat: 'jsonl',
    fields: { text: 'text', label: 'label', score: 'score' },
    onError: 'fail',
    resume: false,
    overwrite: false,
    window: 64,
    maxRecordBytes: 1024 * 1024,
    ...overrides,
  };
}

export interface JobRun {
  summary: BatchSummary;
  /** What went to standard output. */
  stdout: string;
  /** The job's messages. */
  messages: string[];
}

/** Runs a job in-process on its inference call; stdin is `stdin` when given. */
export async function runJob(
  inference: Inference,
  options: Partial<BatchJobOptions>,
  stdin = '',
  signal?: AbortSignal,
): Promise<JobRun> {
  const input = new PassThrough();
  input.end(stdin);
  const output = new PassThrough();
  let stdout = '';
  output.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const messages: string[] = [];
  const summary = await runBatchJob(inference, jobOptions(options), {
    stdin: input,
    stdout: output,
    log: (line) => messages.push(line),
    signal,
  });
  return { summary, stdout, messages };
}

/** JSONL text as records. */
export function parseJsonl(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
