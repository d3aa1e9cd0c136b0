import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { selectTfjsBackend } from '../../../src/engine/tfjs/tfjs-backends.js';
import { packBatch, padBatch } from '../../../src/engine/packed-batch.js';
import { Encoder, encoderConfigOf, encoderInputOf, maskedScore } from '../../../src/engine/tfjs/tfjs-encoder.js';
import { SafetensorsFile } from '../../../src/model/safetensors.js';
import { packageRoot } from '../../../src/config/package-root.js';

interface Expected {
  dtype: string;
  batches: { texts: { ids: number[]; typeIds: number[] }[]; logits: number[][] }[];
}

const fixtures = join(packageRoot, 'test', 'fixtures');

function fixture(name: string) {
  const dir = join(fixtures, name);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const expected = JSON.parse(readFileSync(join(dir, 'expected-logits.json'), 'utf8')) as Expected;
  const labels = Object.keys(config.id2label as object).length;
  return {
    config: encoderConfigOf(config, labels, join(dir, 'config.json')),
    weights: SafetensorsFile.read(join(dir, 'model.safetensors')),
    expected,
  };
}

function maxDifference(a: ArrayLike<number>, b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...b.map((v, i) => Math.abs((a[i] as number) - v)));
}

// Random-weight models written by make_tiny_encoders.py, with the logits its PyTorch forward passes give: each
// architecture, storage dtype, activation and head the engine supports is checked against PyTorch, on both
// pure-JavaScript-host backends (wasm and cpu), without PyTorch or an ONNX export in CI.
for (const backend of ['wasm', 'cpu'] as const) {
  describe(`tfjs encoder on ${backend} matches PyTorch`, () => {
    for (const [name, what] of [
      ['tiny-bert', 'BERT, F16 weights, tanh GELU, segment ids'],
      ['tiny-roberta', 'RoBERTa, F32 weights, positions after padding_idx, dense+tanh+out_proj head'],
      ['tiny-distilbert', 'DistilBERT, BF16 weights, ReLU, pre_classifier head, 3 labels'],
    ] as const) {
      it(`${name}: ${what}; within 1e-5 on every batch`, async () => {
        const { tf } = await selectTfjsBackend(backend, 'cpu');
        const { config, weights, expected } = fixture(name);
        assert.equal(weights.dtypeOf(weights.names[0] as string), expected.dtype);
        const encoder = Encoder.load(tf, config, weights);
        try {
          for (const batch of expected.batches) {
            const logits = encoder.logits(encoderInputOf(padBatch(packBatch(batch.texts), config.padTokenId), config));
            const values = await logits.data();
            logits.dispose();
            const difference = maxDifference(values, batch.logits.flat());
            assert.ok(difference <= 1e-5, `batch of ${batch.texts.length}: max |Δ| ${difference}`);
          }
        } finally {
          encoder.dispose();
        }
      });
    }
  });
}

/** The same file with its tensors renamed, as a checkpoint saved by another tool version would name them. */
function renamed(path: string, rename: (name: string) => string): SafetensorsFile {
  const bytes = readFileSync(path);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + length)) as Record<string, unknown>;
  const json = Buffer.from(
    JSON.stringify(Object.fromEntries(Object.entries(header).map(([name, entry]) => [rename(name), entry]))),
  );
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return SafetensorsFile.parse(path, Buffer.concat([prefix, json, bytes.subarray(8 + length)]));
}

describe('tfjs encoder weights', () => {
  it('reads LayerNorm parameters under their old names gamma/beta as well', async () => {
    const { tf } = await selectTfjsBackend('wasm', 'cpu');
    const { config, expected } = fixture('tiny-bert');
    const old = renamed(join(fixtures, 'tiny-bert', 'model.safetensors'), (name) =>
      name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'),
    );
    assert.ok(old.has('bert.embeddings.LayerNorm.gamma'));
    const encoder = Encoder.load(tf, config, old);
    try {
      const batch = expected.batches[0]!;
      const logits = encoder.logits(encoderInputOf(padBatch(packBatch(batch.texts), config.padTokenId), config));
      assert.ok(maxDifference(await logits.data(), batch.logits.flat()) <= 1e-5);
      logits.dispose();
    } finally {
      encoder.dispose();
    }
  });
});

describe('encoderInputOf', () => {
  const batch = [
    { ids: [0, 7, 8, 2], typeIds: [0, 0, 0, 0] },
    { ids: [0, 2], typeIds: [0, 1] },
  ];

  it('pads ids with the pad token, masks the padding and numbers positions from 0 for BERT', () => {
    const input = encoderInputOf(padBatch(packBatch(batch), 5), { architecture: 'bert', padTokenId: 0 });
    assert.equal(input.rows, 2);
    assert.equal(input.columns, 4);
    assert.deepEqual(Array.from(input.ids), [0, 7, 8, 2, 0, 2, 5, 5]);
    assert.deepEqual(Array.from(input.typeIds), [0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(Array.from(input.positionIds), [0, 1, 2, 3, 0, 1, 2, 3]);
    assert.deepEqual(Array.from(input.additiveMask), [0, 0, 0, 0, 0, 0, maskedScore, maskedScore]);
  });

  it('numbers RoBERTa positions from padding_idx + 1 and gives padding padding_idx, as transformers does', () => {
    const input = encoderInputOf(padBatch(packBatch(batch), 1), { architecture: 'roberta', padTokenId: 1 });
    assert.deepEqual(Array.from(input.positionIds), [2, 3, 4, 5, 2, 3, 1, 1]);
  });
});

describe('encoderConfigOf', () => {
  const bert = {
    model_type: 'bert',
    vocab_size: 10,
    hidden_size: 8,
    num_attention_heads: 2,
    num_hidden_layers: 1,
    intermediate_size: 16,
    max_position_embeddings: 8,
  };

  it('reads BERT and DistilBERT hyper-parameters under their own names', () => {
    assert.deepEqual(encoderConfigOf(bert, 2, 'c'), {
      architecture: 'bert',
      vocabSize: 10,
      hiddenSize: 8,
      heads: 2,
      layers: 1,
      intermediateSize: 16,
      maxPositions: 8,
      typeVocabSize: 2,
      activation: 'gelu',
      layerNormEps: 1e-12,
      padTokenId: 0,
      numLabels: 2,
    });
    const distil = encoderConfigOf(
      {
        model_type: 'distilbert',
        vocab_size: 10,
        dim: 8,
        n_heads: 2,
        n_layers: 3,
        hidden_dim: 32,
        max_position_embeddings: 8,
        activation: 'gelu',
      },
      3,
      'c',
    );
    assert.equal(distil.layers, 3);
    assert.equal(distil.typeVocabSize, 0);
    assert.equal(encoderConfigOf({ ...bert, model_type: 'xlm-roberta' }, 2, 'c').architecture, 'roberta');
  });

  it('refuses what it does not implement, naming the file and pointing to ENGINE=onnx', () => {
    assert.throws(
      () => encoderConfigOf({ ...bert, model_type: 'deberta-v2' }, 2, 'dir/config.json'),
      /dir\/config.json: model_type "deberta-v2" is not supported by ENGINE=tfjs .*use ENGINE=onnx/,
    );
    assert.throws(
      () => encoderConfigOf({ ...bert, hidden_act: 'swish' }, 2, 'c'),
      /activation "swish" is not supported/,
    );
    assert.throws(
      () => encoderConfigOf({ ...bert, position_embedding_type: 'relative_key' }, 2, 'c'),
      /position_embedding_type "relative_key"/,
    );
    assert.throws(
      () => encoderConfigOf({ ...bert, num_attention_heads: 3 }, 2, 'c'),
      /not divisible by 3 attention heads/,
    );
    assert.throws(
      () => encoderConfigOf({ ...bert, hidden_size: '8' }, 2, 'c'),
      /hidden_size must be a non-negative integer/,
    );
  });

  it('names a tensor whose shape disagrees with config.json, and frees what it had uploaded', async () => {
    const { tf } = await selectTfjsBackend('cpu', 'cpu');
    const { config, weights } = fixture('tiny-bert');
    const before = tf.memory().numTensors;
    assert.throws(
      () => Encoder.load(tf, { ...config, intermediateSize: 65 }, weights),
      /tensor "bert.encoder.layer.0.intermediate.dense.weight" has shape \[64, 32\]; config.json implies \[65, 32\]/,
    );
    assert.equal(tf.memory().numTensors, before);
  });
});
