import assert from 'node:assert/strict';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Engine } from '../../src/engine/engine.js';
import { predictionsOf } from '../../src/inference/postprocess.js';
import type { Model } from '../../src/model/model.js';
import { loadRealModel } from '../support/real-model.js';
import { packBatch } from '../../src/engine/packed-batch.js';
import { packageRoot } from '../../src/config/package-root.js';

let model: Model;
let engine: Engine;
before(async () => ({ model, engine } = await loadRealModel()));
after(() => engine.dispose());

async function labelOf(text: string): Promise<string> {
  const logits = await engine.run(packBatch([model.tokenizer.encode(text, 0, true)]));
  return predictionsOf(logits, model, 1)[0]!.label;
}

function directorySize(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (total, entry) =>
      total +
      (entry.isDirectory() ? directorySize(path.join(dir, entry.name)) : statSync(path.join(dir, entry.name)).size),
    0,
  );
}

describe('embedded model: sanity probes', () => {
  const probes: [string, string][] = [
    ['I love using this product!', 'POSITIVE'],
    ['This is the worst purchase I have ever made.', 'NEGATIVE'],
    ['not good', 'NEGATIVE'],
    ['not bad at all', 'POSITIVE'],
    ["I don't like it.", 'NEGATIVE'],
    ['The food was not good.', 'NEGATIVE'],
    ['It was not terrible at all, I enjoyed it.', 'POSITIVE'],
  ];
  for (const [text, expected] of probes) {
    it(`${JSON.stringify(text)} -> ${expected}`, async () => assert.equal(await labelOf(text), expected));
  }
});

const modelsDir = path.join(packageRoot, 'models');
/** Every shipped model directory: the default and the fast option. */
const shipped = readdirSync(modelsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => path.join(modelsDir, entry.name));

describe('shipped models: directories', () => {
  it('ships the default and the tiny model', () => {
    assert.ok(shipped.includes(model.dir), `${model.dir} (MODEL_DIR's default) is under models/`);
    assert.ok(shipped.includes(path.join(modelsDir, 'sst2-tiny-bert')));
  });

  for (const dir of shipped) {
    it(`${path.basename(dir)} is a Hugging Face BERT sequence-classification directory with every file the engines read`, () => {
      const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
      assert.equal(config.model_type, 'bert');
      assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
      assert.deepEqual(config.id2label, { 0: 'NEGATIVE', 1: 'POSITIVE' });
      for (const file of [
        'tokenizer.json',
        'tokenizer_config.json',
        'model.safetensors',
        'onnx/model.onnx',
        'onnx/model_quantized.onnx',
        'MODEL_CARD.md',
      ]) {
        assert.ok(statSync(path.join(dir, file)).size > 0, file);
      }
    });
  }

  it('stay within budget: the tiny model 25 MB, everything under models/ 150 MB', () => {
    const tiny = directorySize(path.join(modelsDir, 'sst2-tiny-bert'));
    assert.ok(tiny <= 25 * 1024 * 1024, `sst2-tiny-bert: ${tiny} bytes`);
    assert.ok(directorySize(modelsDir) <= 150 * 1024 * 1024, `models/: ${directorySize(modelsDir)} bytes`);
  });
});

describe('embedded model: weights', () => {
  it('names its safetensors tensors as Hugging Face BERT does', () => {
    const file = readFileSync(path.join(model.dir, 'model.safetensors'));
    const headerLength = Number(file.readBigUInt64LE(0));
    const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
    for (const name of [
      'bert.embeddings.word_embeddings.weight',
      'bert.embeddings.position_embeddings.weight',
      'bert.encoder.layer.0.attention.self.query.weight',
      'bert.encoder.layer.0.output.LayerNorm.bias',
      'bert.pooler.dense.weight',
      'classifier.weight',
    ]) {
      assert.ok(name in header, name);
    }
  });
});
