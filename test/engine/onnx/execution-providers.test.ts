import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cudaDriverFloor } from '../../../src/engine/onnx/cuda-driver-floor.js';
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

  it('refuses DEVICE=cuda when the CUDA binaries are not installed, saying where they come from and what they need', () => {
    assert.throws(
      () => executionProvidersFor('cuda', false),
      (error: unknown) => {
        assert.ok(error instanceof DeviceUnavailableError);
        assert.match(error.message, /^DEVICE=cuda: /);
        assert.match(error.message, /Dockerfile\.gpu/);
        assert.match(error.message, /scripts\/prepare-gpu-libs\.sh/);
        // The CUDA line and driver floor of the provider this version ships, not a stale one.
        assert.ok(error.message.includes(`CUDA ${cudaDriverFloor.cuda} and cuDNN 9`), error.message);
        assert.ok(error.message.includes(`R${cudaDriverFloor.driverBranch} or newer`), error.message);
        assert.doesNotMatch(error.message, /CUDA 12/);
        assert.match(error.message, /DEVICE=cpu/);
        return true;
      },
    );
  });
});
