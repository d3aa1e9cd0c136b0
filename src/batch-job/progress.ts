import type { Writable } from 'node:stream';

export const progressModes = ['auto', 'bar', 'lines', 'none'] as const;
export type ProgressMode = (typeof progressModes)[number];

/** What the job has done so far, as progress reports it. */
export interface ProgressSnapshot {
  /** Records scored and written by this run. */
  scored: number;
  /** Malformed records this run reported. */
  malformed: number;
  /** Records (valid or not) taken from the input so far. */
  read: number;
  /** Of those, the ones done with: written, skipped as malformed, or done by an earlier run (--resume). */
  finished: number;
  /** finished when this run began scoring: the part an earlier run had done. */
  finishedAtStart: number;
  /** Input bytes read so far, and, for a file, the input's size. */
  bytesRead: number;
  totalBytes: number | undefined;
  /** Seconds since scoring began. */
  seconds: number;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 42s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

interface Estimate {
  textsPerSecond: number;
  /** 0..1 of the input's records done with, when the input's size is known. */
  fraction: number | undefined;
  etaSeconds: number | undefined;
}

/**
 * Share and ETA count records, not bytes: reading runs ahead of writing by the window, which on a small file is
 * a large part of it. The number of records in the input is estimated from the bytes per record read so far.
 */
export function estimate(s: ProgressSnapshot): Estimate {
  const textsPerSecond = s.seconds > 0 ? s.scored / s.seconds : 0;
  if (s.totalBytes === undefined || s.totalBytes === 0 || s.bytesRead === 0 || s.read === 0) {
    return { textsPerSecond, fraction: undefined, etaSeconds: undefined };
  }
  const records = Math.max(s.read, (s.read * s.totalBytes) / s.bytesRead);
  const fraction = Math.min(1, s.finished / records);
  // This run's pace: a resumed run went past the part done before without scoring it.
  const perSecond = s.seconds > 0 ? (s.finished - s.finishedAtStart) / s.seconds : 0;
  const etaSeconds = perSecond > 0 ? Math.max(0, records - s.finished) / perSecond : undefined;
  return { textsPerSecond, fraction, etaSeconds };
}

function details(s: ProgressSnapshot, e: Estimate): string[] {
  const parts = [`${formatCount(s.scored)} records`, `${formatCount(e.textsPerSecond)} texts/s`];
  if (s.malformed > 0) parts.push(`${formatCount(s.malformed)} malformed`);
  if (e.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(e.etaSeconds)}`);
  return parts;
}

/** A line for logs (not a terminal): counts, rate, and the share done and an ETA when the input's size is known. */
export function progressLine(s: ProgressSnapshot): string {
  const e = estimate(s);
  const share = e.fraction === undefined ? [] : [`${(e.fraction * 100).toFixed(1)}% done`];
  return `progress: ${[...share, ...details(s, e)].join(', ')}, ${formatDuration(s.seconds)} elapsed`;
}

/** A terminal line of at most `columns` characters: a bar when the input's size is known, counts otherwise. */
export function progressBar(s: ProgressSnapshot, columns: number): string {
  const e = estimate(s);
  const text = details(s, e).join('  ');
  if (e.fraction === undefined) return `${text}  ${formatDuration(s.seconds)}`.slice(0, columns);
  const percent = `${(e.fraction * 100).toFixed(1).padStart(5)}%`;
  const barWidth = Math.max(10, Math.min(40, columns - text.length - percent.length - 6));
  const filled = Math.round(e.fraction * barWidth);
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${percent}  ${text}`.slice(0, columns);
}

export interface ProgressReporterOptions {
  mode: Exclude<ProgressMode, 'auto'>;
  /** Where progress goes: stderr, so stdout stays the output. */
  stream: Writable & { columns?: number };
  /** How often: a bar is redrawn every 200 ms, lines every intervalMs. */
  intervalMs: number;
  snapshot(): ProgressSnapshot;
}

/**
 * Reports progress on stderr: a bar redrawn in place on a terminal, plain periodic lines in logs. Messages that
 * must appear meanwhile (malformed records) go through log(), which keeps them from being drawn over.
 */
export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private barShown = false;

  constructor(private readonly options: ProgressReporterOptions) {}

  start(): void {
    if (this.options.mode === 'none' || this.timer !== undefined) return;
    const every = this.options.mode === 'bar' ? 200 : this.options.intervalMs;
    this.timer = setInterval(() => this.report(), every);
    this.timer.unref();
  }

  /** Draws the bar or writes a line now. */
  report(): void {
    const { mode, stream } = this.options;
    if (mode === 'none') return;
    const snapshot = this.options.snapshot();
    if (mode === 'lines') {
      stream.write(`${progressLine(snapshot)}\n`);
    } else {
      stream.write(`\r${progressBar(snapshot, (stream.columns ?? 80) - 1)}\x1b[K`);
      this.barShown = true;
    }
  }

  log(line: string): void {
    this.clearBar();
    this.options.stream.write(`${line}\n`);
  }

  /** Stops reporting and clears the bar, so the summary starts on a clean line. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.clearBar();
  }

  private clearBar(): void {
    if (!this.barShown) return;
    this.options.stream.write('\r\x1b[K');
    this.barShown = false;
  }
}
