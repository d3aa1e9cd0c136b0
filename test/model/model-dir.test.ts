import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelDirError, readModelDir } from '../../src/model/model-dir.js';
import { testConfig } from '../support/config.js';

const embedded = testConfig().modelDir;
const scratch = mkdtempSync(join(tmpdir(), 'model-dir-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the embedded model's small files, with one change made by the test. */
function copyWith(name: string, change: (dir: string) => void): string {
  const dir = join(scratch, name);
  cpSync(embedded, dir, {
    recursive: true,
    filter: (source) => !source.endsWith('.onnx') && !source.endsWith('.safetensors'),
  });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), 'not really a model, but present');
  change(dir);
  return dir;
}

function editJson(dir: string, file: string, edit: (json: Record<string, unknown>) => void): void {
  const path = join(dir, file);
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(path, JSON.stringify(json));
}

describe('readModelDir', () => {
  it('reads the embedded model: labels, maximum length, ONNX file', () => {
    const dir = readModelDir(embedded, 'fp32');
    assert.deepEqual(dir.labels, ['NEGATIVE', 'POSITIVE']);
    assert.equal(dir.name, 'sst2-minilm-l6');
    assert.equal(dir.modelType, 'bert');
    assert.equal(dir.scoring, 'softmax');
    assert.ok(dir.maxLength > 0);
    assert.equal(dir.hiddenSize, 384);
    assert.equal(dir.onnxPath, join(embedded, 'onnx', 'model.onnx'));
    assert.equal(dir.weightsPath, dir.onnxPath);
  });

  it('needs only model.safetensors for ENGINE=tfjs, and only the ONNX file for ENGINE=onnx', () => {
    const plain = copyWith('plain-hf', (d) => {
      rmSync(join(d, 'onnx'), { recursive: true });
      writeFileSync(join(d, 'model.safetensors'), 'x');
    });
    assert.equal(readModelDir(plain, 'fp32', 'tfjs').weightsPath, join(plain, 'model.safetensors'));
    assert.throws(() => readModelDir(plain, 'fp32', 'onnx'), /onnx\/model\.onnx is missing/);
    const onnxOnly = copyWith('onnx-only', () => undefined);
    assert.equal(readModelDir(onnxOnly, 'fp32', 'onnx').weightsPath, join(onnxOnly, 'onnx', 'model.onnx'));
    assert.throws(
      () => readModelDir(onnxOnly, 'fp32', 'tfjs'),
      /model\.safetensors is missing \(ENGINE=tfjs loads its weights from it\)/,
    );
  });

  const broken: [string, (dir: string) => void, RegExp][] = [
    ['missing config.json', (dir) => rmSync(join(dir, 'config.json')), /config\.json is missing/],
    [
      'malformed config.json',
      (dir) => writeFileSync(join(dir, 'config.json'), '{"model_type": '),
      /config\.json is not valid JSON/,
    ],
    [
      'config.json without id2label',
      (dir) => editJson(dir, 'config.json', (json) => delete json.id2label),
      /no id2label/,
    ],
    [
      'id2label with a gap',
      (dir) => editJson(dir, 'config.json', (json) => (json.id2label = { 0: 'NEG', 2: 'POS' })),
      /id 1 has none/,
    ],
    ['missing tokenizer.json', (dir) => rmSync(join(dir, 'tokenizer.json')), /tokenizer\.json is missing/],
    [
      'missing tokenizer_config.json',
      (dir) => rmSync(join(dir, 'tokenizer_config.json')),
      /tokenizer_config\.json is missing/,
    ],
    [
      'missing ONNX file',
      (dir) => rmSync(join(dir, 'onnx', 'model.onnx')),
      /onnx\/model\.onnx is missing \(DTYPE=fp32\)/,
    ],
    [
      'no maximum length anywhere',
      (dir) => {
        editJson(dir, 'config.json', (json) => delete json.max_position_embeddings);
        editJson(dir, 'tokenizer_config.json', (json) => (json.model_max_length = 1e30));
      },
      /gives a maximum length/,
    ],
  ];
  for (const [what, change, message] of broken) {
    it(`says what is wrong: ${what}`, () => {
      const dir = copyWith(what.replaceAll(' ', '-'), change);
      assert.throws(
        () => readModelDir(dir, 'fp32'),
        (error: unknown) => {
          assert.ok(error instanceof ModelDirError);
          assert.match(error.message, new RegExp(`^MODEL_DIR ${dir.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('says when the directory does not exist or is a file', () => {
    assert.throws(() => readModelDir(join(scratch, 'nowhere'), 'fp32'), /does not exist/);
    assert.throws(() => readModelDir(join(embedded, 'config.json'), 'fp32'), /is not a directory/);
  });

  it('picks the quantized file for DTYPE q8 and int8', () => {
    const dir = copyWith('quantized', (d) => writeFileSync(join(d, 'onnx', 'model_quantized.onnx'), 'x'));
    assert.equal(readModelDir(dir, 'q8').onnxPath, join(dir, 'onnx', 'model_quantized.onnx'));
    assert.equal(readModelDir(dir, 'int8').onnxPath, join(dir, 'onnx', 'model_quantized.onnx'));
    rmSync(join(dir, 'onnx', 'model_quantized.onnx'));
    assert.throws(() => readModelDir(dir, 'q8'), /onnx\/model_quantized\.onnx is missing \(DTYPE=q8\)/);
  });

  it('takes the smaller of the tokenizer limit and the position embeddings, minus RoBERTa’s offset', () => {
    const dir = copyWith('roberta-like', (d) => {
      editJson(d, 'config.json', (json) => {
        json.model_type = 'roberta';
        json.max_position_embeddings = 514;
      });
      editJson(d, 'tokenizer_config.json', (json) => (json.model_max_length = 1e30));
    });
    assert.equal(readModelDir(dir, 'fp32').maxLength, 512);
  });

  it("reads the hidden width as hidden_size, or DistilBERT's dim, and leaves it unknown when absent", () => {
    const distil = copyWith('distil-like', (d) =>
      editJson(d, 'config.json', (json) => {
        delete json.hidden_size;
        json.dim = 768;
      }),
    );
    assert.equal(readModelDir(distil, 'fp32').hiddenSize, 768);
    const unknown = copyWith('no-width', (d) => editJson(d, 'config.json', (json) => delete json.hidden_size));
    assert.equal(readModelDir(unknown, 'fp32').hiddenSize, undefined);
  });

  it('scores multi-label models with a sigmoid per label', () => {
    const dir = copyWith('multi-label', (d) =>
      editJson(d, 'config.json', (json) => (json.problem_type = 'multi_label_classification')),
    );
    assert.equal(readModelDir(dir, 'fp32').scoring, 'sigmoid');
  });
});
