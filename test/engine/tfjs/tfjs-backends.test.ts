import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DeviceUnavailableError, nvidiaGpuVisible } from '../../../src/engine/gpu-device.js';
import {
  candidatesFor,
  selectTfjsBackend,
  TfjsBackendUnavailableError,
  type Tf,
  type TfjsHost,
} from '../../../src/engine/tfjs/tfjs-backends.js';

/** How a staged package behaves when loaded. */
type Staged =
  | { kind: 'works'; usingGpu?: boolean }
  | { kind: 'missing' }
  | { kind: 'throws'; message: string }
  | { kind: 'no-init' }
  | { kind: 'wrong-sums' };

/**
 * A stand-in for a TensorFlow.js namespace with just what backend selection touches. All packages of one host share
 * it, as the real ones share @tensorflow/tfjs-core.
 */
function fakeTf(backends: Map<string, Staged>, log: string[]): Tf {
  let active = '';
  const fake = {
    version_core: '4.22.0',
    version: { 'tfjs-core': '4.22.0', 'tfjs-node': '4.22.0' },
    enableProdMode: () => undefined,
    setBackend: async (name: string) => {
      log.push(`setBackend ${name}`);
      const staged = backends.get(name);
      if (staged === undefined || staged.kind === 'no-init') return false;
      active = name;
      return true;
    },
    getBackend: () => active,
    backend: () => ({ isUsingGpuDevice: (backends.get(active) as { usingGpu?: boolean }).usingGpu === true }),
    tidy: <T>(fn: () => T) => fn(),
    tensor1d: (values: number[]) => values,
    add: (a: number[], b: number[]) => ({
      dataSync: () => (backends.get(active)?.kind === 'wrong-sums' ? [0, 0] : a.map((v, i) => v + (b[i] as number))),
    }),
  };
  return fake as unknown as Tf;
}

/** Packages by name, each staged; registering a backend happens when its package loads, as with the real ones. */
function host(options: { gpu: boolean; packages: Record<string, Staged> }): TfjsHost & { log: string[] } {
  const log: string[] = [];
  const registered = new Map<string, Staged>();
  const tf = fakeTf(registered, log);
  const backendOf: Record<string, string> = {
    '@tensorflow/tfjs-node-gpu': 'tensorflow',
    '@tensorflow/tfjs-node': 'tensorflow',
    '@tensorflow/tfjs-backend-wasm': 'wasm',
    '@tensorflow/tfjs-backend-cpu': 'cpu',
  };
  return {
    log,
    gpuVisible: () => options.gpu,
    load(specifier: string) {
      log.push(`load ${specifier}`);
      if (specifier === '@tensorflow/tfjs-core') return tf;
      const staged = options.packages[specifier] ?? { kind: 'missing' };
      if (staged.kind === 'missing') {
        throw Object.assign(new Error(`Cannot find module '${specifier}'\nRequire stack:\n- x.js`), {
          code: 'MODULE_NOT_FOUND',
        });
      }
      if (staged.kind === 'throws') throw new Error(staged.message);
      registered.set(backendOf[specifier] as string, staged);
      return specifier.includes('tfjs-node') ? tf : { version_wasm: '4.22.0-wasm', version_cpu: '4.22.0-cpu' };
    },
  };
}

const works: Staged = { kind: 'works' };
const bindingMissing: Staged = {
  kind: 'throws',
  message:
    'The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/lib/napi-v8/tfjs_binding.node.\nPlease run command…',
};

describe('TensorFlow.js backend selection', () => {
  it('tries tfjs-node, wasm, cpu for DEVICE=cpu and only tfjs-node-gpu for DEVICE=cuda; a named backend alone', () => {
    assert.deepEqual(candidatesFor('auto', 'cpu'), ['tfjs-node', 'wasm', 'cpu']);
    assert.deepEqual(candidatesFor('auto', 'cuda'), ['tfjs-node-gpu']);
    assert.deepEqual(candidatesFor('wasm', 'cpu'), ['wasm']);
  });

  it('takes tfjs-node-gpu with DEVICE=cuda when it is installed, a GPU is visible and TensorFlow uses it', async () => {
    const h = host({
      gpu: true,
      packages: { '@tensorflow/tfjs-node-gpu': { kind: 'works', usingGpu: true }, '@tensorflow/tfjs-node': works },
    });
    const runtime = await selectTfjsBackend('auto', 'cuda', h);
    assert.equal(runtime.name, 'tfjs-node-gpu');
    assert.equal(runtime.device, 'cuda');
    assert.equal(runtime.tfBackend, 'tensorflow');
    assert.equal(runtime.description, 'tfjs-node-gpu 4.22.0');
    assert.deepEqual(runtime.skipped, []);
  });

  it('with DEVICE=cuda refuses rather than fall back to a CPU backend, saying why the GPU one failed', async () => {
    const cases: [string, TfjsHost][] = [
      [
        'no NVIDIA GPU is visible',
        host({ gpu: false, packages: { '@tensorflow/tfjs-node-gpu': { kind: 'works', usingGpu: true } } }),
      ],
      ['@tensorflow/tfjs-node-gpu is not installed', host({ gpu: true, packages: { '@tensorflow/tfjs-node': works } })],
      [
        'installed but cannot load \\(The Node.js native addon module',
        host({ gpu: true, packages: { '@tensorflow/tfjs-node-gpu': bindingMissing } }),
      ],
      [
        'found no usable GPU .*CUDA 11.2 and cuDNN 8.1',
        host({ gpu: true, packages: { '@tensorflow/tfjs-node-gpu': { kind: 'works', usingGpu: false } } }),
      ],
    ];
    for (const [reason, h] of cases) {
      await assert.rejects(selectTfjsBackend('auto', 'cuda', h), (error: unknown) => {
        assert.ok(error instanceof DeviceUnavailableError, String(error));
        assert.match(error.message, new RegExp(`^DEVICE=cuda with ENGINE=tfjs: tfjs-node-gpu: .*${reason}`));
        return true;
      });
    }
  });

  it('takes tfjs-node when it loads and computes', async () => {
    const h = host({
      gpu: true,
      packages: {
        '@tensorflow/tfjs-node-gpu': works,
        '@tensorflow/tfjs-node': works,
        '@tensorflow/tfjs-backend-wasm': works,
      },
    });
    const runtime = await selectTfjsBackend('auto', 'cpu', h);
    assert.equal(runtime.name, 'tfjs-node');
    assert.equal(runtime.device, 'cpu');
    assert.equal(runtime.description, 'tfjs-node 4.22.0');
    assert.ok(!h.log.includes('load @tensorflow/tfjs-node-gpu'), 'DEVICE=cpu never loads the GPU package');
  });

  it('falls back to wasm when tfjs-node is missing, or present but its native addon is not (install script not run)', async () => {
    const missing = await selectTfjsBackend(
      'auto',
      'cpu',
      host({ gpu: false, packages: { '@tensorflow/tfjs-backend-wasm': works, '@tensorflow/tfjs-backend-cpu': works } }),
    );
    assert.equal(missing.name, 'wasm');
    assert.equal(missing.tfBackend, 'wasm');
    assert.equal(missing.description, 'tfjs-wasm 4.22.0-wasm');
    assert.deepEqual(missing.skipped, ['tfjs-node: @tensorflow/tfjs-node is not installed']);

    const broken = await selectTfjsBackend(
      'auto',
      'cpu',
      host({
        gpu: false,
        packages: { '@tensorflow/tfjs-node': bindingMissing, '@tensorflow/tfjs-backend-wasm': works },
      }),
    );
    assert.equal(broken.name, 'wasm');
    assert.equal(broken.skipped.length, 1);
    assert.match(
      broken.skipped[0] as string,
      /^tfjs-node: @tensorflow\/tfjs-node is installed but cannot load \(The Node.js native addon module \(tfjs_binding\.node\) can not be found.*\); its install script must download libtensorflow/,
    );
  });

  it('treats a missing file inside a package as broken, not absent', async () => {
    const dlopen: Staged = {
      kind: 'throws',
      message: "Cannot find module '/x/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node'",
    };
    const runtime = await selectTfjsBackend(
      'auto',
      'cpu',
      host({ gpu: false, packages: { '@tensorflow/tfjs-node': dlopen, '@tensorflow/tfjs-backend-wasm': works } }),
    );
    assert.match(runtime.skipped[0] as string, /is installed but cannot load/);
  });

  it('falls back past a native backend that loads but does not initialise or compute wrongly', async () => {
    for (const staged of [{ kind: 'no-init' }, { kind: 'wrong-sums' }] as Staged[]) {
      const runtime = await selectTfjsBackend(
        'auto',
        'cpu',
        host({ gpu: false, packages: { '@tensorflow/tfjs-node': staged, '@tensorflow/tfjs-backend-wasm': works } }),
      );
      assert.equal(runtime.name, 'wasm');
      assert.match(
        runtime.skipped[0] as string,
        /^tfjs-node: backend "tensorflow" (failed to initialise|computed 1\+3=0)/,
      );
    }
  });

  it('falls back to cpu when the wasm backend cannot start, listing both reasons', async () => {
    const runtime = await selectTfjsBackend(
      'auto',
      'cpu',
      host({
        gpu: false,
        packages: { '@tensorflow/tfjs-backend-wasm': { kind: 'no-init' }, '@tensorflow/tfjs-backend-cpu': works },
      }),
    );
    assert.equal(runtime.name, 'cpu');
    assert.equal(runtime.description, 'tfjs-cpu 4.22.0-cpu');
    assert.deepEqual(runtime.skipped, [
      'tfjs-node: @tensorflow/tfjs-node is not installed',
      'wasm: backend "wasm" failed to initialise',
    ]);
  });

  it('fails with every reason when no backend can start', async () => {
    await assert.rejects(selectTfjsBackend('auto', 'cpu', host({ gpu: false, packages: {} })), (error: unknown) => {
      assert.ok(error instanceof TfjsBackendUnavailableError);
      assert.match(
        error.message,
        /no TensorFlow.js backend could start \(tfjs-node: .*not installed; wasm: .*not installed; cpu: .*not installed\)/,
      );
      return true;
    });
  });

  it('runs a named backend or fails; it never substitutes another', async () => {
    const h = host({
      gpu: false,
      packages: {
        '@tensorflow/tfjs-node': works,
        '@tensorflow/tfjs-backend-wasm': works,
        '@tensorflow/tfjs-backend-cpu': works,
      },
    });
    assert.equal((await selectTfjsBackend('cpu', 'cpu', h)).name, 'cpu');
    await assert.rejects(
      selectTfjsBackend('wasm', 'cpu', host({ gpu: false, packages: { '@tensorflow/tfjs-backend-cpu': works } })),
      /wasm: @tensorflow\/tfjs-backend-wasm is not installed/,
    );
  });
});

describe('nvidiaGpuVisible', () => {
  const dev = mkdtempSync(join(tmpdir(), 'dev-'));
  after(() => rmSync(dev, { recursive: true, force: true }));

  it('looks for /dev/nvidia<N> and honours CUDA_VISIBLE_DEVICES hiding every GPU', () => {
    mkdirSync(join(dev, 'none'));
    writeFileSync(join(dev, 'none', 'nvidiactl'), '');
    assert.equal(nvidiaGpuVisible({}, join(dev, 'none')), false, 'nvidiactl alone is not a GPU');
    mkdirSync(join(dev, 'gpu'));
    writeFileSync(join(dev, 'gpu', 'nvidia0'), '');
    assert.equal(nvidiaGpuVisible({}, join(dev, 'gpu')), true);
    assert.equal(nvidiaGpuVisible({ CUDA_VISIBLE_DEVICES: '0' }, join(dev, 'gpu')), true);
    assert.equal(nvidiaGpuVisible({ CUDA_VISIBLE_DEVICES: '' }, join(dev, 'gpu')), false);
    assert.equal(nvidiaGpuVisible({ CUDA_VISIBLE_DEVICES: '-1' }, join(dev, 'gpu')), false);
    assert.equal(nvidiaGpuVisible({}, join(dev, 'absent')), false);
  });
});
