import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Device } from '../engine-choices.js';
import { DeviceUnavailableError } from '../gpu-device.js';
import { cudaDriverFloor } from './cuda-driver-floor.js';

/** Where onnxruntime-node keeps its native libraries for this platform (the CUDA ones are downloaded there). */
export function onnxRuntimeBinaryDir(): string {
  const packageJson = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return join(dirname(packageJson), 'bin', 'napi-v6', process.platform, process.arch);
}

export function cudaProviderInstalled(binaryDir: string): boolean {
  return existsSync(join(binaryDir, 'libonnxruntime_providers_cuda.so'));
}

/**
 * The execution providers for a DEVICE. A device that was asked for but cannot be had is an error, never a silent
 * fall-back to the CPU: a GPU deployment running on its CPU would look healthy while being many times slower.
 */
export function executionProvidersFor(device: Device, cudaInstalled: boolean): string[] {
  switch (device) {
    case 'cpu':
      return ['cpu'];
    case 'cuda':
      if (!cudaInstalled) {
        throw new DeviceUnavailableError(
          `DEVICE=cuda: onnxruntime-node's CUDA execution provider is not installed (npm ci does not ` +
            `download it). Use the GPU image (Dockerfile.gpu), or put libonnxruntime_providers_cuda.so and ` +
            `libonnxruntime_providers_shared.so from the onnxruntime-gpu wheel of onnxruntime-node's version into ` +
            `${onnxRuntimeBinaryDir()} (bash scripts/prepare-gpu-libs.sh extracts them, with the CUDA ` +
            `${cudaDriverFloor.cuda} and cuDNN 9 libraries it needs, into .cache/gpu-libs); NVIDIA driver ` +
            `R${cudaDriverFloor.driverBranch} or newer. Or use DEVICE=cpu`,
        );
      }
      return ['cuda'];
  }
}
