import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '../../../src/engine/create-engine.js';
import type { Engine } from '../../../src/engine/engine.js';
import { cudaProviderInstalled, onnxRuntimeBinaryDir } from '../../../src/engine/onnx/execution-providers.js';
import { DeviceUnavailableError } from '../../../src/engine/gpu-device.js';
import type { Model } from '../../../src/model/model.js';
import type { EncodedText } from '../../../src/model/tokenizer.js';
import { engineSentences, overLongSentence } from '../../support/engine-sentences.js';
import { loadRealModel } from '../../support/real-model.js';
import { packBatch } from '../../../src/engine/packed-batch.js';

/** The default dtype (int8 on CPU) and float32, each a model and its engine. */
let model: Model;
let engine: Engine;
let float32: { model: Model; engine: Engine };
before(async () => {
  ({ model, engine } = await loadRealModel({ ENGINE: 'onnx' }));
  float32 = await loadRealModel({ ENGINE: 'onnx', DTYPE: 'fp32' });
});
after(async () => {
  await engine.dispose();
  await float32.engine.dispose();
});

const sentences = [...engineSentences, overLongSentence];

function rowsOf(logits: Float32Array, count: number): number[][] {
  return Array.from({ length: count }, (_, row) => Array.from(logits.subarray(row * 2, row * 2 + 2)));
}

function maxDifference(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((value, j) => Math.abs(value - (b[i]?.[j] ?? NaN)))));
}

describe('ONNX engine (embedded model)', () => {
  it('describes itself', () => {
    assert.equal(engine.kind, 'onnx');
    assert.equal(engine.device, 'cpu');
    assert.match(engine.backend, /^onnxruntime-node \d+\.\d+\.\d+ cpu$/);
    assert.equal(engine.numLabels, 2);
    assert.equal(model.dtype, 'q8', 'DTYPE=auto on CPU runs the int8 file');
  });

  it('returns batch × labels logits', async () => {
    const encoded = sentences.map((text, i) => model.tokenizer.encode(text, i, true));
    const logits = await engine.run(packBatch(encoded));
    assert.equal(logits.length, sentences.length * 2);
    assert.ok(logits.every(Number.isFinite));
  });

  // int8 included: activations are quantized per token (training/per_token_activations.py), so no batch-mate and no
  // padding changes a text's int8 values.
  for (const [name, loaded] of [
    ['the default dtype (int8 on CPU)', () => ({ model, engine })],
    ['float32', () => float32],
  ] as const) {
    it(`${name}: gives a text the same logits (within 1e-5) alone and in any batch, however it is padded`, async () => {
      const { model, engine } = loaded();
      const encoded = sentences.map((text, i) => model.tokenizer.encode(text, i, true));
      const alone: number[][] = [];
      for (const text of encoded) alone.push(...rowsOf(await engine.run(packBatch([text])), 1));

      const together = rowsOf(await engine.run(packBatch(encoded)), encoded.length);
      assert.ok(maxDifference(together, alone) <= 1e-5, `all together: ${maxDifference(together, alone)}`);

      const reversed = rowsOf(await engine.run(packBatch([...encoded].reverse())), encoded.length).reverse();
      assert.ok(maxDifference(reversed, alone) <= 1e-5, `reversed: ${maxDifference(reversed, alone)}`);

      // Each short text next to the longest one, padded to its full length.
      const longest = encoded.at(-1) as EncodedText;
      for (const [i, text] of encoded.entries()) {
        const [row] = rowsOf(await engine.run(packBatch([text, longest])), 2);
        assert.ok(maxDifference([row as number[]], [alone[i] as number[]]) <= 1e-5, `text ${i} padded to the longest`);
      }

      // Several copies of one text, as many batches of one request would carry.
      const copies = rowsOf(await engine.run(packBatch([encoded[0], encoded[2], encoded[0]] as EncodedText[])), 3);
      assert.ok(maxDifference([copies[0], copies[2]] as number[][], [alone[0], alone[0]] as number[][]) <= 1e-5);
    });
  }

  it('fails at start with DEVICE=cuda unless the CUDA provider is installed and starts', async () => {
    const installed = cudaProviderInstalled(onnxRuntimeBinaryDir());
    // DTYPE=auto on CUDA runs float32 (or float16), never the int8 file: compared with float32 on the CPU.
    const attempt = createEngine(float32.model, {
      engine: 'onnx',
      device: 'cuda',
      intraOpThreads: undefined,
      interOpThreads: undefined,
    });
    if (!installed) {
      await assert.rejects(attempt, (error: unknown) => {
        assert.ok(error instanceof DeviceUnavailableError);
        assert.match(error.message, /Dockerfile\.gpu/);
        return true;
      });
      return;
    }
    // With the binaries present, the host decides: where the NVIDIA driver is loaded, a CUDA engine that gives the
    // CPU engine's logits; without it, a clear refusal. Never a CPU engine in disguise.
    if (!existsSync('/proc/driver/nvidia/version')) {
      await assert.rejects(attempt, DeviceUnavailableError);
      return;
    }
    const cuda = await attempt;
    try {
      assert.equal(cuda.device, 'cuda');
      assert.match(cuda.backend, /cuda/);
      const encoded = sentences.map((text, i) => model.tokenizer.encode(text, i, true));
      const difference = maxDifference(
        rowsOf(await cuda.run(packBatch(encoded)), encoded.length),
        rowsOf(await float32.engine.run(packBatch(encoded)), encoded.length),
      );
      assert.ok(difference <= 1e-3, `CUDA and CPU logits differ by ${difference}`);
    } finally {
      await cuda.dispose();
    }
  });

  it('honours thread settings', async () => {
    const single = await createEngine(model, { engine: 'onnx', device: 'cpu', intraOpThreads: 1, interOpThreads: 1 });
    try {
      const encoded = [model.tokenizer.encode(sentences[0] as string, 0, true)];
      assert.ok(
        maxDifference(
          rowsOf(await single.run(packBatch(encoded)), 1),
          rowsOf(await engine.run(packBatch(encoded)), 1),
        ) <= 1e-5,
      );
    } finally {
      await single.dispose();
    }
  });
});
