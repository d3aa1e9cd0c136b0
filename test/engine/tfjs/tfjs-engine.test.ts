import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readDevSet } from '../../../scripts/sst2-dev.js';
import { createEngine } from '../../../src/engine/create-engine.js';
import type { Engine } from '../../../src/engine/engine.js';
import { createTfjsEngine, type TfjsEngine } from '../../../src/engine/tfjs/tfjs-engine.js';
import { loadModel, type Model } from '../../../src/model/model.js';
import type { EncodedText } from '../../../src/model/tokenizer.js';
import { testConfig } from '../../support/config.js';
import { packBatch } from '../../../src/engine/packed-batch.js';

let model: Model;
let onnx: Engine;
let tfjs: TfjsEngine;
before(async () => {
  const config = testConfig({ ENGINE: 'onnx' });
  model = await loadModel(config.modelDir, 'fp32', 'onnx');
  onnx = await createEngine(model, config);
  tfjs = await createTfjsEngine(model, { device: 'cpu', tfjsBackend: 'auto' });
});
after(async () => {
  await onnx.dispose();
  await tfjs.dispose();
});

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return Math.max(...Array.from(a, (value, i) => Math.abs(value - (b[i] as number))));
}

function encode(texts: readonly string[]): EncodedText[] {
  return texts.map((text, i) => model.tokenizer.encode(text, i, true));
}

/** Every 13th dev sentence: 64 of all lengths, spread over the file. */
function devSample(): string[] {
  return readDevSet()
    .filter((_, i) => i % 13 === 0)
    .slice(0, 64)
    .map((row) => row.text);
}

describe('TensorFlow.js engine (embedded model)', () => {
  it('describes itself: kind, device and the backend that runs, with what was skipped', () => {
    assert.equal(tfjs.kind, 'tfjs');
    assert.equal(tfjs.device, 'cpu');
    assert.equal(tfjs.numLabels, 2);
    // Which backend auto mode finds depends on the host (tfjs-node where its install script could download
    // libtensorflow, wasm otherwise); each skipped one is listed with its reason.
    assert.match(tfjs.backend, /^(tfjs-node|tfjs-wasm|tfjs-cpu) \d+\.\d+\.\d+$/);
    for (const reason of tfjs.skippedBackends)
      assert.match(reason, /^tfjs-node: @tensorflow\/tfjs-node is (not installed|installed but cannot load)/);
  });

  it('matches the ONNX engine within 1e-4 on 64 dev sentences in mixed-length batches', async () => {
    const texts = encode(devSample());
    assert.equal(texts.length, 64);
    let worst = 0;
    for (let start = 0; start < texts.length; start += 16) {
      const batch = texts.slice(start, start + 16);
      worst = Math.max(worst, maxDifference(await tfjs.run(packBatch(batch)), await onnx.run(packBatch(batch))));
    }
    assert.ok(worst <= 1e-4, `max |Δ logit| ${worst}`);
  });

  it('matches the ONNX engine on edge cases: one token, an empty text, one word, a text cut to the maximum length', async () => {
    const cls = model.tokenizer.encode('', 0, true).ids[0] as number;
    const maxLength = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 'wonderful' : 'dreadful')).join(' ');
    const edge: EncodedText[] = [{ ids: [cls], typeIds: [0] }, ...encode(['', 'ok', maxLength])];
    assert.equal(edge[3]?.ids.length, model.maxLength);
    for (const text of edge) {
      const difference = maxDifference(await tfjs.run(packBatch([text])), await onnx.run(packBatch([text])));
      assert.ok(difference <= 1e-4, `${text.ids.length} tokens alone: ${difference}`);
    }
    const together = maxDifference(await tfjs.run(packBatch(edge)), await onnx.run(packBatch(edge)));
    assert.ok(together <= 1e-4, `all four in one batch, 1 to ${model.maxLength} tokens: ${together}`);
  });

  it('gives a text the same logits (within 1e-5) alone and padded in any batch', async () => {
    const texts = encode(devSample().slice(0, 8));
    const alone = await Promise.all(texts.map((text) => tfjs.run(packBatch([text]))));
    const together = await tfjs.run(packBatch(texts));
    const reversed = await tfjs.run(packBatch([...texts].reverse()));
    texts.forEach((_, i) => {
      const own = alone[i] as Float32Array;
      assert.ok(maxDifference(together.subarray(i * 2, i * 2 + 2), own) <= 1e-5, `text ${i} in order`);
      const j = texts.length - 1 - i;
      assert.ok(maxDifference(reversed.subarray(j * 2, j * 2 + 2), own) <= 1e-5, `text ${i} reversed`);
    });
  });

  it('leaks no tensors: tf.memory() is the same after 100 batches of every shape as after the first', async () => {
    const { tf } = tfjs.runtime;
    const texts = encode(devSample());
    await tfjs.run(packBatch(texts.slice(0, 3)));
    const start = tf.memory();
    for (let i = 0; i < 100; i++) {
      const size = i % 25 === 0 ? 32 : 1 + (i % 6);
      const offset = i % (texts.length - size + 1);
      await tfjs.run(packBatch(texts.slice(offset, offset + size)));
    }
    const end = tf.memory();
    assert.equal(end.numTensors, start.numTensors, 'tensors');
    assert.equal(end.numBytes, start.numBytes, 'bytes');
    assert.equal(end.numDataBuffers, start.numDataBuffers, 'data buffers');
  });

  it('keeps its own backend when another engine in the process switches TensorFlow.js to a different one', async () => {
    const other = tfjs.runtime.name === 'cpu' ? 'wasm' : 'cpu';
    const second = await createTfjsEngine(model, { device: 'cpu', tfjsBackend: other });
    try {
      const texts = encode(devSample().slice(0, 4));
      const mine = await tfjs.run(packBatch(texts));
      assert.equal(tfjs.runtime.tf.getBackend(), tfjs.runtime.tfBackend);
      const theirs = await second.run(packBatch(texts));
      assert.equal(second.runtime.tf.getBackend(), other);
      assert.ok(maxDifference(mine, theirs) <= 1e-5);
      assert.ok(
        maxDifference(await tfjs.run(packBatch(texts)), mine) <= 1e-6,
        'the first engine still runs, on its own backend',
      );
      assert.equal(tfjs.runtime.tf.getBackend(), tfjs.runtime.tfBackend);
    } finally {
      await second.dispose();
    }
  });
});
