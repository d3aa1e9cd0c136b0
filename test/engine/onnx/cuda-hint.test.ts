// The hint appended to a failed DEVICE=cuda start: names the missing driver only when no GPU is visible.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cudaFailureHint } from '../../../src/engine/onnx/cuda-hint.js';

describe('cudaFailureHint', () => {
  it('says the NVIDIA driver/GPU is missing, and how to give the container one, when none is visible', () => {
    const hint = cudaFailureHint(false);
    assert.match(hint, /No NVIDIA GPU or driver is visible/);
    assert.match(hint, /libcuda\.so\.1/);
    assert.match(hint, /--gpus all/);
    assert.match(hint, /DEVICE=cpu/);
  });

  it('adds nothing when a GPU is visible (the failure is something else; ONNX Runtime says what)', () => {
    assert.equal(cudaFailureHint(true), '');
  });
});
