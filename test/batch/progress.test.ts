import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { formatDuration, progressBar, progressLine, ProgressReporter, type ProgressSnapshot } from '../../src/batch/progress.js';

const snapshot = (overrides: Partial<ProgressSnapshot> = {}): ProgressSnapshot => ({
  scored: 12_000,
  malformed: 0,
  bytesRead: 250_000,
  totalBytes: 1_000_000,
  bytesAtStart: 0,
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

  it('a line gives the share of the input, records, rate and an ETA from the byte rate', () => {
    assert.equal(progressLine(snapshot()), 'progress: 25.0% of input, 12,000 records, 1,200 texts/s, ETA 30s, 10s elapsed');
    assert.equal(
      progressLine(snapshot({ malformed: 3, totalBytes: undefined })),
      'progress: 12,000 records, 1,200 texts/s, 3 malformed, 10s elapsed',
    );
  });

  it('the ETA of a resumed run counts only the bytes read since scoring began', () => {
    // 500 kB skipped at once, then 100 kB in 10 s: 400 kB left at 10 kB/s.
    assert.match(progressLine(snapshot({ bytesAtStart: 500_000, bytesRead: 600_000 })), /60\.0% of input.*ETA 40s/);
  });

  it('a bar fits the terminal width', () => {
    const bar = progressBar(snapshot(), 79);
    const [, done = '', left = ''] = /^\[(#*)(-*)\]  25\.0%  12,000 records  1,200 texts\/s  ETA 30s$/.exec(bar) ?? [];
    assert.ok(done.length + left.length >= 10 && bar.length <= 79, bar);
    assert.equal(Math.round((done.length / (done.length + left.length)) * 4), 1, 'a quarter filled');
    assert.ok(progressBar(snapshot(), 40).length <= 40);
    assert.equal(progressBar(snapshot({ totalBytes: undefined }), 80), '12,000 records  1,200 texts/s  10s');
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
