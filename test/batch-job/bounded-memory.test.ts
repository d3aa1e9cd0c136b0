import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { runCli } from '../support/batch-cli.js';
import { Scratch } from '../support/batch-job.js';

const scratch = new Scratch();
after(() => scratch.remove());

const words = ['good', 'bad', 'fine', 'great', 'awful', 'ok', 'nice', 'poor'];

/** Writes `count` short JSONL records to a file, streaming, and returns its path. */
async function generate(name: string, count: number): Promise<string> {
  const path = scratch.file(name);
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = 0; i < count; i++) {
    chunk += `{"id":${i},"text":"${words[i % 8]} ${words[(i >> 3) % 8]}"}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return path;
}

/** Lines of a file, and whether its ids run 0, 1, 2, … in order, read as a stream. */
async function checkOrder(path: string): Promise<{ lines: number; inOrder: boolean }> {
  let lines = 0;
  let inOrder = true;
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      if (inOrder && !line.startsWith(`{"id":${lines},`)) inOrder = false;
      lines += 1;
    }
  }
  return { lines, inOrder };
}

const mib = (kib: number): number => Math.round(kib / 1024);

describe('bounded memory', () => {
  it('1,000,000 records through the whole pipeline (engine answering at once): peak RSS does not grow with the input', {
    timeout: 600_000,
  }, async (t) => {
    const records = 1_000_000;
    const checkpoint = 100_000;
    const input = await generate('million.jsonl', records);
    const output = scratch.file('million.out.jsonl');
    const child = fileURLToPath(new URL('../support/batch-memory-child.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [child, input, output, String(checkpoint)], {
      maxBuffer: 1 << 20,
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      scored: number;
      engineTexts: number;
      rssAtCheckpointKiB: number;
      rssAtEndKiB: number;
      seconds: number;
    };
    t.diagnostic(
      `${records} records in ${report.seconds.toFixed(1)} s; peak RSS ${mib(report.rssAtCheckpointKiB)} MiB after ` +
        `${checkpoint}, ${mib(report.rssAtEndKiB)} MiB at the end`,
    );
    assert.equal(report.scored, records);
    assert.equal(report.engineTexts, records);
    assert.deepEqual(await checkOrder(output), { lines: records, inOrder: true });
    // Holding every record (its parsed object, text and output line: well over 100 bytes each as JS values) would
    // add more than 85 MiB between the first 100,000 and the millionth; a bounded pipeline adds only what the garbage
    // collector and the allocator leave behind, which varies from run to run (up to half that on Node 24).
    assert.ok(
      report.rssAtEndKiB - report.rssAtCheckpointKiB < 80 * 1024,
      `peak RSS grew from ${mib(report.rssAtCheckpointKiB)} to ${mib(report.rssAtEndKiB)} MiB`,
    );
    assert.ok(report.rssAtEndKiB < 400 * 1024, `peak RSS ${mib(report.rssAtEndKiB)} MiB`);
  });

  it('the CLI with the real engine: 20 times the input costs no more memory than the engines themselves', {
    timeout: 600_000,
  }, async (t) => {
    // The engines' own memory depends on the model (the default's two ONNX sessions hold far more than the job's
    // window); what must not grow with the input is the rest, so the bound is relative to a small run's peak.
    const peakRss = async (records: number): Promise<number> => {
      const input = await generate(`slice-${records}.jsonl`, records);
      const output = scratch.file(`slice-${records}.out.jsonl`);
      const result = await runCli([input, '-o', output, '--progress', 'none']);
      assert.equal(result.code, 0, result.stderr);
      t.diagnostic(result.stderr.trim());
      assert.deepEqual(await checkOrder(output), { lines: records, inOrder: true });
      return Number(/peak RSS (\d+) MiB/.exec(result.stderr)?.[1]);
    };
    const small = await peakRss(1_000);
    const large = await peakRss(20_000);
    assert.ok(small > 0 && large > 0, `peak RSS ${small} and ${large} MiB`);
    assert.ok(large < small + 150, `peak RSS ${large} MiB for 20,000 records against ${small} MiB for 1,000`);
  });
});
