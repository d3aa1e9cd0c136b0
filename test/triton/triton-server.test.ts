import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { packBatch, padBatch } from '../../src/engine/packed-batch.js';
import type { Engine } from '../../src/engine/engine.js';
import type { EncodedText } from '../../src/model/tokenizer.js';
import type { Model } from '../../src/model/model.js';
import { readDevSet } from '../../scripts/sst2-dev.js';
import { loadRealModel } from '../support/real-model.js';
import { waitUntil } from '../support/wait-until.js';
import { callOn } from '../support/grpc-client.js';
import {
  launchTriton,
  processesInGroup,
  startTriton,
  tritonStartMs,
  type TritonProcess,
} from '../support/triton-process.js';

// The Triton model repository (triton/repository) served by the real tritonserver that `npm run triton` starts, on
// CPU with ONNX Runtime, against the in-process engine on the same token ids.

let model: Model;
let engine: Engine;
let triton: TritonProcess;
let encoded: EncodedText[];

const batchSize = 64;

interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** The Open Inference request for a batch of token ids, as INT64 [rows, columns] raw tensors. */
function inferRequest(name: string, batch: readonly EncodedText[], padTokenId: number) {
  const padded = padBatch(packBatch(batch), padTokenId);
  const shape = [padded.rows, padded.columns];
  const raw = (values: Int32Array): Buffer => Buffer.from(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
  return {
    model_name: name,
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'].map((input) => ({
      name: input,
      datatype: 'INT64',
      shape,
    })),
    raw_input_contents: [raw(padded.ids), raw(padded.attentionMask), raw(padded.typeIds)],
  };
}

function logitsOf(response: { raw_output_contents: Buffer[] }): Float32Array {
  const bytes = response.raw_output_contents[0] as Buffer;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function remoteLogits(target: TritonProcess, batch: readonly EncodedText[]): Promise<Float32Array> {
  return logitsOf(
    await callOn(target.client, 'ModelInfer', inferRequest(model.name, batch, model.tokenizer.padTokenId)),
  );
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((most, value, i) => Math.max(most, Math.abs(value - (b[i] as number))), 0);
}

before(
  async () => {
    // Triton's ONNX Runtime runtime serves float32 onnx/model.onnx: compare with the in-process engine on the same file.
    ({ model, engine } = await loadRealModel({ ENGINE: 'onnx', DTYPE: 'fp32' }));
    encoded = readDevSet().map(({ text }, i) => model.tokenizer.encode(text, i, true));
    triton = await startTriton();
  },
  { timeout: tritonStartMs },
);

after(async () => {
  await triton?.stop();
  await engine?.dispose();
});

describe('npm run triton (CPU, ONNX Runtime)', () => {
  it('serves the model under the name the service publishes, with the documented token tensors', async () => {
    const metadata = await callOn(triton.client, 'ModelMetadata', { name: model.name });
    assert.equal(metadata.name, model.name);
    assert.equal(metadata.platform, 'python');
    assert.deepEqual(
      metadata.inputs.map((t: TensorMetadata) => [t.name, t.datatype, t.shape]),
      ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => [name, 'INT64', [-1, -1]]),
    );
    assert.deepEqual(
      metadata.outputs.map((t: TensorMetadata) => [t.name, t.datatype, t.shape]),
      [['logits', 'FP32', [-1, model.labels.length]]],
    );
    assert.equal((await callOn(triton.client, 'ModelReady', { name: model.name })).ready, true);
  });

  // Both engines compute every sentence: minutes on a busy 2-core machine.
  it('gives the in-process engine logits (|Δ| < 1e-4) on every SST-2 dev sentence', { timeout: 600_000 }, async () => {
    let worst = 0;
    for (let start = 0; start < encoded.length; start += batchSize) {
      const batch = encoded.slice(start, start + batchSize);
      const [local, remote] = await Promise.all([engine.run(packBatch(batch)), remoteLogits(triton, batch)]);
      worst = Math.max(worst, maxDifference(local, remote));
    }
    assert.ok(worst < 1e-4, `largest logit difference ${worst}`);
  });

  it('answers a request whose tensors disagree with an error, and goes on serving', async () => {
    const request = inferRequest(model.name, encoded.slice(0, 2), model.tokenizer.padTokenId);
    // Two rows like input_ids (Triton checks the batch size itself) but one column: the model finds the mismatch.
    const bad = {
      ...request,
      inputs: [request.inputs[0], { ...request.inputs[1], shape: [2, 1] }],
      raw_input_contents: [request.raw_input_contents[0], Buffer.alloc(16)],
    };
    await assert.rejects(callOn(triton.client, 'ModelInfer', bad), /input 'attention_mask' has shape \[2, 1\]/);
    const logits = await remoteLogits(triton, encoded.slice(0, 2));
    assert.equal(logits.length, 2 * model.labels.length);
  });

  it('refuses a model name it does not serve', async () => {
    await assert.rejects(callOn(triton.client, 'ModelMetadata', { name: 'no-such-model' }), /no-such-model/);
  });
});

describe('BATCH_SHAPES (fixed shapes, as Neuron-compiled models need)', () => {
  let shaped: TritonProcess;
  before(async () => (shaped = await startTriton({ BATCH_SHAPES: '1x8,4x16,4x32' })), { timeout: tritonStartMs });
  after(() => shaped?.stop());

  it('pads each batch up to a configured shape (and splits wider ones) with unchanged logits', async () => {
    const short = encoded.filter((text) => text.ids.length <= 8).slice(0, 7);
    const long = encoded.filter((text) => text.ids.length > 16 && text.ids.length <= 32).slice(0, 5);
    for (const batch of [short.slice(0, 1), short, long, [...short.slice(0, 2), ...long.slice(0, 1)]]) {
      const [local, remote] = await Promise.all([engine.run(packBatch(batch)), remoteLogits(shaped, batch)]);
      assert.ok(maxDifference(local, remote) < 1e-4);
    }
  });

  it('refuses a batch longer than every shape, naming the limit', async () => {
    const tooLong = encoded.filter((text) => text.ids.length > 32).slice(0, 1);
    assert.equal(tooLong.length, 1, 'the dev set has a text over 32 tokens');
    await assert.rejects(remoteLogits(shaped, tooLong), /exceeds the longest compiled shape \(32 tokens\)/);
  });
});

/** The launch's Python backend stubs (one per model instance), found by its process group. */
function stubsOf(target: TritonProcess): number[] {
  return processesInGroup(target.child.pid as number).filter((pid) =>
    readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('triton_python_backend_stub'),
  );
}

/** A killed group's processes are gone once the kernel has torn them down: moments, not a stub's own parent check. */
async function groupGone(group: number): Promise<number[]> {
  await waitUntil(() => processesInGroup(group).length === 0, 10, 500).catch(() => undefined);
  return processesInGroup(group);
}

describe('start and stop', () => {
  it('stops on SIGTERM with exit code 0, its Python backend stubs with it', async () => {
    const group = triton.child.pid as number;
    assert.equal(stubsOf(triton).length, 2, 'one stub per model instance while it runs');
    const exit = await triton.stop();
    assert.equal(exit.code, 0, exit.output);
    assert.deepEqual(await groupGone(group), []);
  });

  it('leaves no Python backend stub running when killed (SIGKILL)', { timeout: tritonStartMs }, async () => {
    const killed = await startTriton();
    const group = killed.child.pid as number;
    assert.equal(stubsOf(killed).length, 2);
    const exit = await killed.kill();
    assert.equal(exit.signal, 'SIGKILL');
    assert.deepEqual(await groupGone(group), []);
  });

  it('exits 1 naming the model when the repository has no folder for MODEL_DIR', async () => {
    const { exited } = launchTriton({ MODEL_DIR: 'models/sst2-tiny-bert', TRITON_GRPC_PORT: '0' });
    const exit = await exited;
    assert.equal(exit.code, 1);
    assert.match(exit.output, /no model 'sst2-tiny-bert'/);
  });
});
