import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceUnavailableError } from '../../../src/engine/gpu-device.js';
import { executionProvidersFor } from '../../../src/engine/onnx/execution-providers.js';

describe('executionProvidersFor', () => {
  it('runs DEVICE=cpu on the CPU provider', () => {
    assert.deepEqual(executionProvidersFor('cpu', false), ['cpu']);
    assert.deepEqual(executionProvidersFor('cpu', true), ['cpu']);
  });

  it('runs DEVICE=cuda on the CUDA provider alone, with no silent CPU fall-back', () => {
    assert.deepEqual(executionProvidersFor('cuda', true), ['cuda']);
  });

  it('refuses DEVICE=cuda when the CUDA binaries are not installed, saying how to install them', () => {
    assert.throws(
      () => executionProvidersFor('cuda', false),
      (error: unknown) => {
        assert.ok(error instanceof DeviceUnavailableError);
        assert.match(error.message, /^DEVICE=cuda: /);
        assert.match(error.message, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
        assert.match(error.message, /DEVICE=cpu/);
        return true;
      },
    );
  });
});
