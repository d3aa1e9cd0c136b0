import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  formatDuration,
  progressBar,
  progressLine,
  ProgressReporter,
  type ProgressSnapshot,
} from '../../src/batch-job/progress.js';

// A 1 MB file of which 250 kB (2,500 records) were read, 1,200 records done in 10 s.
const snapshot = (overrides: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  scored: 1_200,
  malformed: 0,
  read: 2_500,
  finished: 1_200,
  finishedAtStart: 0,
  bytesRead: 250_000,
  totalBytes: 1_000_000,
  seconds: 10,
  ...overrides,
});

class Capture extends Writable {
  text = '';
  constructor(readonly columns?: number) {
    super();
  }
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('progress', () => {
  it('formats durations', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(59.4), '59s');
    assert.equal(formatDuration(185), '3m05s');
    assert.equal(formatDuration(3725), '1h02m');
  });

  it('a line gives the share of records done, the rate and an ETA; records in the input estimated from bytes per record', () => {
    // 10,000 records estimated, 1,200 done at 120/s: 8,800 left, 73 s.
    assert.equal(progressLine(snapshot()), 'progress: 12.0% done, 1,200 records, 120 texts/s, ETA 1m13s, 10s elapsed');
    assert.equal(
      progressLine(snapshot({ malformed: 3, finished: 1_203, totalBytes: undefined })),
      'progress: 1,200 records, 120 texts/s, 3 malformed, 10s elapsed',
    );
  });

  it('the ETA of a resumed run goes by its own pace, not counting the part done before', () => {
    // 6,000 done before, 1,200 in 10 s: 2,800 left at 120/s.
    const resumed = snapshot({ read: 8_000, bytesRead: 800_000, finished: 7_200, finishedAtStart: 6_000 });
    assert.equal(progressLine(resumed), 'progress: 72.0% done, 1,200 records, 120 texts/s, ETA 23s, 10s elapsed');
  });

  it('a bar fits the terminal width', () => {
    const bar = progressBar(snapshot(), 79);
    const [, done = '', left = ''] =
      /^\[(#*)(-*)\] {2}12\.0% {2}1,200 records {2}120 texts\/s {2}ETA 1m13s$/.exec(bar) ?? [];
    assert.ok(done.length + left.length >= 10 && bar.length <= 79, bar);
    assert.equal(Math.round((done.length / (done.length + left.length)) * 8), 1, 'an eighth filled');
    assert.ok(progressBar(snapshot(), 40).length <= 40);
    assert.equal(progressBar(snapshot({ totalBytes: undefined }), 80), '1,200 records  120 texts/s  10s');
  });

  it('the reporter writes lines, or redraws a bar in place and clears it for messages', () => {
    const lines = new Capture();
    const reporter = new ProgressReporter({ mode: 'lines', stream: lines, intervalMs: 1000, snapshot });
    reporter.report();
    reporter.log('line 3: bad (skipped)');
    assert.equal(lines.text, `${progressLine(snapshot())}\nline 3: bad (skipped)\n`);

    const terminal = new Capture(60);
    const bar = new ProgressReporter({ mode: 'bar', stream: terminal, intervalMs: 1000, snapshot });
    bar.report();
    bar.log('message');
    bar.report();
    bar.stop();
    const drawn = `\r${progressBar(snapshot(), 59)}\x1b[K`;
    assert.equal(terminal.text, `${drawn}\r\x1b[Kmessage\n${drawn}\r\x1b[K`);

    const none = new Capture();
    new ProgressReporter({ mode: 'none', stream: none, intervalMs: 1000, snapshot }).report();
    assert.equal(none.text, '');
  });
});
