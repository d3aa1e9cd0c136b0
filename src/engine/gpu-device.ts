import { existsSync, readdirSync } from 'node:fs';
import { ServiceError } from '../errors/error-codes.js';

// What every engine backend needs to know about the GPU, so no backend reads another backend's folder for it.

/** DEVICE=cuda asked for a GPU that this engine cannot use. */
export class DeviceUnavailableError extends ServiceError {
  constructor(message: string) {
    super('SENTIMENT_DEVICE_UNAVAILABLE', message);
  }
}

/** An NVIDIA device node, unless CUDA_VISIBLE_DEVICES hides every GPU from this process. */
export function nvidiaGpuVisible(env: NodeJS.ProcessEnv = process.env, devDir = '/dev'): boolean {
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined && (visible.trim() === '' || visible.trim() === '-1')) return false;
  if (!existsSync(devDir)) return false;
  try {
    return readdirSync(devDir).some((name) => /^nvidia\d+$/.test(name));
  } catch {
    return false;
  }
}
