import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { TokenizerPool } from '../../src/inference/tokenizer-pool.js';
import { loadModel, type Model } from '../../src/model/model.js';
import { RejectionError } from '../../src/errors/rejections.js';
import { testConfig } from '../support/config.js';

let model: Model;
let pool: TokenizerPool;
before(async () => {
  const config = testConfig();
  model = await loadModel(config.modelDir, config.dtype, config.engine);
  pool = await TokenizerPool.start({ modelDir: model.dir, maxLength: model.maxLength }, 2);
});
after(() => pool.close());

const texts = [
  'I love using this product!',
  'This is the worst purchase I have ever made.',
  '',
  'The acting is superb, but the script lets it down badly. '.repeat(200),
  '!'.repeat(1_000_000),
  '漢字'.repeat(100_000),
];

describe('TokenizerPool', () => {
  it('gives exactly the token ids the main thread gives, for both truncation sides', async () => {
    for (const side of ['right', 'left'] as const) {
      const fromPool = await pool.tokenize(texts, true, side);
      assert.deepEqual(
        fromPool,
        texts.map((text, index) => model.tokenizer.encode(text, index, true, side)),
      );
    }
    const left = await pool.tokenize(['good '.repeat(2000) + 'terrible'], true, 'left');
    const [cls, sep] = model.tokenizer.encode('', 0, true).ids;
    const terrible = model.tokenizer.encode('terrible', 0, true).ids.slice(1, -1);
    assert.equal(left[0]?.ids.length, model.maxLength);
    assert.equal(left[0]?.ids[0], cls);
    assert.deepEqual(left[0]?.ids.slice(-1 - terrible.length), [...terrible, sep], 'left truncation keeps the end');
  });

  it('refuses an over-long text with truncation off as the main thread does (a too_long rejection)', async () => {
    await assert.rejects(pool.tokenize(['fine', 'fine '.repeat(2000)], false, 'right'), (error: unknown) => {
      assert.ok(error instanceof RejectionError);
      assert.equal(error.reason, 'too_long');
      assert.match(error.message, /^text 1 has (over )?\d+ tokens/);
      return true;
    });
  });

  it('replaces a thread that stops, and a request that finds none alive waits for the replacement', async () => {
    const workers: Worker[] = [];
    const own = await TokenizerPool.start(
      { modelDir: model.dir, maxLength: model.maxLength },
      1,
      (script, workerData) => {
        const worker = new Worker(script, { workerData });
        workers.push(worker);
        return worker;
      },
    );
    try {
      const expected = await own.tokenize(texts, true, 'right');
      await workers[0]?.terminate();
      assert.equal(own.live, 0);
      // Sent while the only thread is gone: answered by its replacement, not refused.
      assert.deepEqual(await own.tokenize(texts, true, 'right'), expected);
      assert.equal(own.replaced, 1);
      assert.equal(workers.length, 2);
      assert.equal(own.live, 1);
    } finally {
      await own.close();
    }
    assert.equal(workers.length, 2, 'closing the pool starts no replacement');
  });
});
