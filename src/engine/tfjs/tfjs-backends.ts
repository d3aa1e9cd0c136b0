import { createRequire } from 'node:module';
import type * as TfCore from '@tensorflow/tfjs-core';
import type { Device, TfjsBackendChoice } from '../engine-choices.js';
import { DeviceUnavailableError, nvidiaGpuVisible } from '../gpu-device.js';
import { ServiceError } from '../../errors/error-codes.js';

/** The TensorFlow.js API the engine computes with: the namespace of whichever package provided the backend. */
export type Tf = typeof TfCore;

export type TfjsBackendName = Exclude<TfjsBackendChoice, 'auto'>;

/** A TensorFlow.js runtime, loaded, switched to its backend and checked to compute. */
export interface TfjsRuntime {
  tf: Tf;
  name: TfjsBackendName;
  /** The backend's name inside TensorFlow.js: "tensorflow" for both native packages, else "wasm" or "cpu". */
  tfBackend: string;
  device: Device;
  /** For /info and the model-info metric, e.g. "tfjs-wasm 4.22.0". */
  description: string;
  /** Why each backend tried before this one was passed over, in order. */
  skipped: string[];
}

/**
 * What backend selection needs from the outside world, so that tests can stage every case (a package missing,
 * present but broken, a GPU visible or not) without the packages or the hardware.
 */
export interface TfjsHost {
  /** Loads a package as require does; throws when it is missing or fails to load. */
  load(specifier: string): unknown;
  /** Whether an NVIDIA GPU is visible to this process. */
  gpuVisible(): boolean;
}

export class TfjsBackendUnavailableError extends ServiceError {
  constructor(message: string) {
    super('SENTIMENT_TFJS_BACKEND_UNAVAILABLE', message);
  }
}

const packages = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
} as const satisfies Record<TfjsBackendName, string>;

/** The native packages' install step downloads libtensorflow; without it the package is present but cannot load. */
const nativeInstallHint: Record<'tfjs-node-gpu' | 'tfjs-node', string> = {
  'tfjs-node-gpu':
    'install it on a GPU host with CUDA 11.2 and cuDNN 8.1 where its install script can download libtensorflow: ' +
    'npm install @tensorflow/tfjs-node-gpu (or: node node_modules/@tensorflow/tfjs-node-gpu/scripts/install.js gpu download)',
  'tfjs-node':
    'its install script must download libtensorflow: npm rebuild @tensorflow/tfjs-node ' +
    '(or: node node_modules/@tensorflow/tfjs-node/scripts/install.js)',
};

export const nodeHost: TfjsHost = {
  load: createRequire(import.meta.url),
  gpuVisible: () => nvidiaGpuVisible(),
};

/** The backends auto mode tries, in order. DEVICE decides between GPU and CPU, as it does for ONNX Runtime. */
export function candidatesFor(choice: TfjsBackendChoice, device: Device): TfjsBackendName[] {
  if (choice !== 'auto') return [choice];
  return device === 'cuda' ? ['tfjs-node-gpu'] : ['tfjs-node', 'wasm', 'cpu'];
}

function isMissing(error: unknown, specifier: string): boolean {
  const { code, message } = error as { code?: string; message?: string };
  // Only the package itself being absent counts as "not installed"; a missing file inside it means it is broken.
  return code === 'MODULE_NOT_FOUND' && (message ?? '').includes(`'${specifier}'`);
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? '';
}

async function activate(tf: Tf, backend: string): Promise<void> {
  // No debug checks, and no console advice to install tfjs-node (the start-up log says which backend runs).
  tf.enableProdMode();
  let switched = false;
  try {
    switched = await tf.setBackend(backend);
  } catch (error) {
    throw new Error(`backend "${backend}" failed to initialise: ${firstLine(error)}`);
  }
  if (!switched || tf.getBackend() !== backend) throw new Error(`backend "${backend}" failed to initialise`);
  // A backend that initialises may still fail on its first kernel (a native library missing a symbol, say).
  const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).dataSync());
  if (sum[0] !== 4 || sum[1] !== 6) throw new Error(`backend "${backend}" computed 1+3=${sum[0]}, 2+4=${sum[1]}`);
}

/** Loads one backend; throws a one-line reason when it is not installed, not usable, or not what DEVICE asks. */
async function tryBackend(name: TfjsBackendName, host: TfjsHost): Promise<TfjsRuntime> {
  const specifier = packages[name];
  const load = (what: string): unknown => {
    try {
      return host.load(what);
    } catch (error) {
      if (isMissing(error, what)) throw new Error(`${what} is not installed`);
      const hint = name === 'tfjs-node' || name === 'tfjs-node-gpu' ? `; ${nativeInstallHint[name]}` : '';
      throw new Error(`${what} is installed but cannot load (${firstLine(error)})${hint}`);
    }
  };

  if (name === 'tfjs-node-gpu' && !host.gpuVisible()) {
    throw new Error('no NVIDIA GPU is visible (no /dev/nvidia<N>, or CUDA_VISIBLE_DEVICES hides them)');
  }
  if (name === 'tfjs-node' || name === 'tfjs-node-gpu') {
    // The native packages re-export the whole tfjs API and register their "tensorflow" backend when loaded.
    const tf = load(specifier) as Tf & { version?: Record<string, string> };
    await activate(tf, 'tensorflow');
    if (name === 'tfjs-node-gpu' && (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice !== true) {
      throw new Error(
        'libtensorflow loaded but found no usable GPU (it needs CUDA 11.2 and cuDNN 8.1 libraries on the library path)',
      );
    }
    // Both native packages report their own version under the key 'tfjs-node'.
    const version = tf.version?.['tfjs-node'] ?? tf.version_core;
    const device = name === 'tfjs-node-gpu' ? 'cuda' : 'cpu';
    return { tf, name, tfBackend: 'tensorflow', device, description: `${name} ${version}`, skipped: [] };
  }

  const tf = load('@tensorflow/tfjs-core') as Tf;
  const backendModule = load(specifier) as { version_wasm?: string; version_cpu?: string };
  await activate(tf, name);
  const version = (name === 'wasm' ? backendModule.version_wasm : backendModule.version_cpu) ?? tf.version_core;
  return { tf, name, tfBackend: name, device: 'cpu', description: `tfjs-${name} ${version}`, skipped: [] };
}

/**
 * Picks the TensorFlow.js backend: the one TFJS_BACKEND names, or in auto mode the first of the candidates that
 * loads and computes. A backend that cannot be had is skipped with its reason (kept for the start-up log), never
 * hidden: when none is left, the error lists why each failed. DEVICE=cuda never falls back to the CPU.
 */
export async function selectTfjsBackend(
  choice: TfjsBackendChoice,
  device: Device,
  host: TfjsHost = nodeHost,
): Promise<TfjsRuntime> {
  const skipped: string[] = [];
  for (const name of candidatesFor(choice, device)) {
    try {
      return { ...(await tryBackend(name, host)), skipped };
    } catch (error) {
      skipped.push(`${name}: ${firstLine(error)}`);
    }
  }
  const reasons = skipped.join('; ');
  if (device === 'cuda') throw new DeviceUnavailableError(`DEVICE=cuda with ENGINE=tfjs: ${reasons}`);
  throw new TfjsBackendUnavailableError(`ENGINE=tfjs: no TensorFlow.js backend could start (${reasons})`);
}
