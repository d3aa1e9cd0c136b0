import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chooseDtype, chooseDtypeIn } from '../../src/model/dtype-choice.js';
import { readModelDir } from '../../src/model/model-dir.js';
import { testConfig } from '../support/config.js';

const shipped = testConfig().modelDir;
const scratch = mkdtempSync(join(tmpdir(), 'dtype-choice-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('DTYPE=auto', () => {
  it('takes the int8 file on CPU when the directory has it, and says so', () => {
    const choice = chooseDtypeIn(shipped, 'auto', 'onnx', 'cpu');
    assert.equal(choice.dtype, 'q8');
    assert.match(choice.reason, /DTYPE=auto on CPU: the model directory has onnx\/model_quantized\.onnx/);
    const dir = readModelDir(shipped, 'auto');
    assert.equal(dir.onnxPath, join(shipped, 'onnx', 'model_quantized.onnx'));
    assert.equal(dir.weightsPath, dir.onnxPath);
    assert.equal(dir.dtype, 'q8');
  });

  it('falls back to float32 on CPU when the directory has no int8 file', () => {
    const dir = join(scratch, 'float-only');
    cpSync(shipped, dir, { recursive: true, filter: (source) => !source.endsWith('model_quantized.onnx') });
    const read = readModelDir(dir, 'auto');
    assert.equal(read.dtype, 'fp32');
    assert.equal(read.onnxPath, join(dir, 'onnx', 'model.onnx'));
    assert.match(read.dtypeReason, /has no onnx\/model_quantized\.onnx, so float32/);
  });

  it('takes float16 on CUDA only where the directory has it', () => {
    const has = (files: string[]) => (file: string) => files.includes(file);
    assert.equal(chooseDtype('auto', 'onnx', 'cuda', has(['onnx/model_fp16.onnx', 'onnx/model.onnx'])).dtype, 'fp16');
    // The shipped models have int8 but no float16 file: int8 is not taken on a GPU.
    assert.equal(chooseDtypeIn(shipped, 'auto', 'onnx', 'cuda').dtype, 'fp32');
  });

  it('is float32 for the TensorFlow.js engine, and an explicit DTYPE always stands', () => {
    assert.equal(chooseDtypeIn(shipped, 'auto', 'tfjs', 'cpu').dtype, 'fp32');
    assert.equal(readModelDir(shipped, 'auto', 'tfjs').weightsPath, join(shipped, 'model.safetensors'));
    assert.deepEqual(
      chooseDtype('fp32', 'onnx', 'cpu', () => true),
      { dtype: 'fp32', reason: 'DTYPE=fp32' },
    );
    assert.equal(chooseDtype('int8', 'onnx', 'cuda', () => false).dtype, 'int8');
  });
});
