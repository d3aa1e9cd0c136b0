import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packageRoot } from '../../src/config/package-root.js';
import { parseJsonl, Scratch } from '../support/batch-job.js';
import { binPath, finish, runCli, spawnCli } from '../support/batch-cli.js';
import { waitUntil } from '../support/wait-until.js';

const scratch = new Scratch();
after(() => scratch.remove());

const reviews = ['I loved it.', 'Terrible, a waste of time.', 'Pretty good overall.', 'Not for me.'];
const jsonl = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: from + i, text: `${reviews[(from + i) % reviews.length]} #${from + i}` }),
  ).join('\n') + '\n';
const completeLines = (path: string): number => {
  try {
    return readFileSync(path, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
};

function assertSameRecords(actual: Record<string, unknown>[], expected: Record<string, unknown>[]) {
  assert.equal(actual.length, expected.length);
  actual.forEach((record, i) => {
    assert.equal(record.id, expected[i]?.id);
    assert.equal(record.label, expected[i]?.label, `record ${i}`);
    assert.ok(Math.abs(Number(record.score) - Number(expected[i]?.score)) < 1e-5, `record ${i} score`);
  });
}

describe('sentiment-batch assembles the inference path as the server does', () => {
  const modelDir = join(packageRoot, 'models', 'sst2-minilm-l6');

  it('starts TOKENIZER_THREADS tokenizer threads', async () => {
    for (const threads of ['0', '2']) {
      const result = await runCli(['--input-format', 'jsonl'], jsonl(2), { TOKENIZER_THREADS: threads });
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`^sentiment-batch: engine: [^\\n]*, ${threads} tokenizer thread\\(s\\), `),
      );
    }
  });

  it('checks model.sha256 before loading the weights, and refuses a changed file', async () => {
    // The model's files by link, with a manifest whose digest of config.json is wrong.
    const dir = scratch.file('model-dir');
    mkdirSync(dir);
    for (const name of readdirSync(modelDir)) symlinkSync(join(modelDir, name), join(dir, name));
    writeFileSync(join(dir, 'model.sha256'), `${'0'.repeat(64)}  config.json\n`);
    const result = await runCli(['--input-format', 'jsonl'], jsonl(1), { MODEL_DIR: dir });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot start: .*config\.json does not match model\.sha256/);
  });
});

describe('sentiment-batch (the built command)', () => {
  it('is the bin of package.json: a built file that starts with a node shebang', () => {
    assert.ok(statSync(binPath).isFile(), binPath);
    assert.equal(readFileSync(binPath, 'utf8').split('\n')[0], '#!/usr/bin/env node');
  });

  it('--help and --version', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: sentiment-batch \[options\] \[INPUT\]/);
    assert.match(help.stdout, /--on-error fail\|skip/);
    const version = await runCli(['--version']);
    assert.equal(
      version.stdout.trim(),
      (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });

  it('bad usage exits 2 and says what is wrong', async () => {
    for (const [args, message] of [
      [['--nope'], /Unknown option '--nope'/],
      [['-'], /reading standard input: give its format with --input-format/],
      [['x.txt'], /cannot tell the format of x.txt/],
      [['--input-format', 'jsonl', '--resume'], /--resume needs an output file/],
      [['--input-format', 'xml'], /--input-format must be one of: jsonl, csv, tsv/],
      [['--input-format', 'jsonl', '--on-error', 'ignore'], /--on-error must be one of: fail, skip/],
      [['--input-format', 'jsonl', '--max-batch-size', '0'], /--max-batch-size must be an integer from 1 to 4096/],
      [['--input-format', 'jsonl', '--label-field', 'text'], /must name three different fields/],
    ] as const) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    const env = await runCli(['--input-format', 'jsonl'], '', { DEVICE: 'tpu' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /DEVICE must be one of: cpu, cuda/);
  });

  it('a missing input or model fails before anything is written, exit 1', async () => {
    const missing = await runCli(['does-not-exist.csv']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /input does-not-exist.csv does not exist/);
    const noModel = await runCli(['--input-format', 'jsonl', '--model-dir', scratch.dir], '{"text":"x"}\n');
    assert.equal(noModel.code, 1);
    assert.match(noModel.stderr, /cannot start: MODEL_DIR .*config.json is missing/);
  });

  it('scores stdin to stdout, with a summary on stderr: records, errors, texts/s, wall time', async () => {
    const result = await runCli(['--input-format', 'jsonl', '--progress', 'none'], jsonl(10));
    assert.equal(result.code, 0, result.stderr);
    const records = parseJsonl(result.stdout);
    assert.deepEqual(
      records.map((r) => r.id),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.ok(records.every((r) => (r.label === 'POSITIVE' || r.label === 'NEGATIVE') && typeof r.score === 'number'));
    assert.match(
      result.stderr,
      /^sentiment-batch: engine: onnxruntime-node [^\n]+\nsentiment-batch: done: 10 records scored, 0 malformed; [\d,]+ texts\/s \([\d.]+ s scoring\); wall [\d.]+ s; peak RSS \d+ MiB\n$/,
    );
  });

  it('reads the engine settings the server reads: ENGINE_INSTANCES=3 runs three engine copies', async () => {
    const three = await runCli(['--input-format', 'jsonl', '--progress', 'none'], jsonl(12), { ENGINE_INSTANCES: '3' });
    assert.equal(three.code, 0, three.stderr);
    // The server's default DTYPE=auto too: the int8 file on CPU, and why.
    assert.match(
      three.stderr,
      /^sentiment-batch: engine: onnxruntime-node [^\n]*, 3 engine thread\(s\); onnx\/model_quantized\.onnx \(DTYPE=auto on CPU: [^\n]*\)\n/,
    );
    assert.equal(parseJsonl(three.stdout).length, 12);
    const main = await runCli(['--input-format', 'jsonl', '--progress', 'none'], jsonl(2), { ENGINE_THREAD: 'main' });
    assert.equal(main.code, 0, main.stderr);
    assert.match(main.stderr, /^sentiment-batch: engine: onnxruntime-node [^\n]*, 1 on the main thread; /);
    const tfjs = await runCli(['--input-format', 'jsonl', '--progress', 'none'], jsonl(2), {
      ENGINE: 'tfjs',
      TFJS_BACKEND: 'cpu',
    });
    assert.equal(tfjs.code, 0, tfjs.stderr);
    assert.match(tfjs.stderr, /^sentiment-batch: engine: tfjs-cpu [^\n]*\n/);
  });

  it('the README example: the shipped sample CSV, text from the review column', async () => {
    const result = await runCli(['examples/reviews.csv', '--text-field', 'review']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.equal(lines[0], 'id,product,review,label,score');
    assert.match(result.stderr, /done: 16 records scored/);
    assert.match(
      result.stdout,
      /^12,board game,"Boring after the first round;\nthe rules are confusing and the pieces feel cheap.",(POSITIVE|NEGATIVE),0\.\d+$/m,
    );
  });

  it('malformed lines: fail stops at the first with its line (exit 1); a rerun with skip and --resume finishes', async () => {
    const input = scratch.file('mixed.jsonl', `${jsonl(3)}not json\n${jsonl(2, 3)}{"id":5}\n${jsonl(2, 6)}`);
    const output = scratch.file('mixed.out.jsonl');
    const failed = await runCli([input, '-o', output, '--progress', 'none']);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /sentiment-batch: line 4: not valid JSON/);
    assert.match(failed.stderr, /stopped: 3 records scored, 1 malformed \(stopped there\);/);
    assert.match(failed.stderr, /run again with --resume/);
    assert.deepEqual(
      parseJsonl(readFileSync(output, 'utf8')).map((r) => r.id),
      [0, 1, 2],
    );

    const skipped = await runCli([input, '-o', output, '--resume', '--on-error', 'skip', '--progress', 'none']);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stderr, /line 4: not valid JSON .*\(skipped\)/);
    assert.match(skipped.stderr, /line 7: has no field "text" .*\(skipped\)/);
    assert.match(skipped.stderr, /done: 4 records scored, 3 already done \(resumed\), 2 malformed \(skipped\)/);
    assert.deepEqual(
      parseJsonl(readFileSync(output, 'utf8')).map((r) => r.id),
      [0, 1, 2, 3, 4, 6, 7],
    );
  });

  it('writes plain progress lines to stderr when it is not a terminal', async () => {
    // --progress-interval 1 with a held-open stdin: the job is still running when a line is due.
    const child = spawnCli(['--input-format', 'jsonl', '--progress-interval', '1']);
    const result = finish(child);
    child.stdin.write(jsonl(5));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitUntil(() => stderr.includes('progress: '));
    child.stdin.end();
    const { code } = await result;
    assert.equal(code, 0);
    assert.match(stderr, /^progress: 5 records, [\d,]+ texts\/s, \d+s elapsed$/m);
  });

  describe('crash and resume', () => {
    const total = 300;
    const input = scratch.file('crash.jsonl', jsonl(total));
    let expected: Record<string, unknown>[] = [];

    it('a complete run, for reference', async () => {
      const output = scratch.file('reference.jsonl');
      const result = await runCli([input, '-o', output, '--progress', 'none']);
      assert.equal(result.code, 0, result.stderr);
      expected = parseJsonl(readFileSync(output, 'utf8'));
      assert.equal(expected.length, total);
    });

    it('killed (SIGKILL) mid-run with a torn last line: --resume continues after the last complete record', async () => {
      const output = scratch.file('killed.jsonl');
      const child = spawnCli(['--input-format', 'jsonl', '-o', output, '--progress', 'none']);
      const exited = finish(child);
      // Feed part of the input and keep stdin open, so the process is surely mid-run when it is killed.
      child.stdin.write(readFileSync(input, 'utf8').split('\n').slice(0, 120).join('\n') + '\n');
      await waitUntil(() => completeLines(output) === 120);
      child.kill('SIGKILL');
      assert.equal((await exited).signal, 'SIGKILL');
      // A write cut off by the crash.
      appendFileSync(output, '{"id":120,"text":"I loved it. #1');

      const resumed = await runCli([input, '-o', output, '--resume', '--progress', 'none']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /resume: removed 32 bytes of a record cut off mid-write/);
      assert.match(resumed.stderr, /done: 180 records scored, 120 already done \(resumed\)/);
      assertSameRecords(parseJsonl(readFileSync(output, 'utf8')), expected);
    });

    it('stopped by SIGTERM (Job deadline, preemption): writes what it read, exits 143, and --resume finishes', async () => {
      const output = scratch.file('terminated.jsonl');
      const child = spawnCli(['--input-format', 'jsonl', '-o', output, '--progress', 'none']);
      const exited = finish(child);
      child.stdin.write(readFileSync(input, 'utf8').split('\n').slice(0, 50).join('\n') + '\n');
      await waitUntil(() => completeLines(output) === 50);
      child.kill('SIGTERM');
      const stopped = await exited;
      assert.equal(stopped.code, 143, stopped.stderr);
      assert.match(stopped.stderr, /SIGTERM: stopping/);
      assert.match(stopped.stderr, /interrupted: 50 records scored/);
      assert.match(stopped.stderr, /run again with --resume to continue/);
      const resumed = await runCli([input, '-o', output, '--resume', '--progress', 'none']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assertSameRecords(parseJsonl(readFileSync(output, 'utf8')), expected);
    });
  });
});
