import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../src/config/config.js';
import { maxAutoInstances, resolveEngineLayout } from '../../src/engine/engine-layout.js';

type LayoutConfig = Parameters<typeof resolveEngineLayout>[0];
const auto: LayoutConfig = {
  engine: 'onnx',
  device: 'cpu',
  engineThread: 'auto',
  engineInstances: 'auto',
  intraOpThreads: undefined,
};
const layout = (overrides: Partial<Pick<Config, keyof LayoutConfig>>, cpus: number) =>
  resolveEngineLayout({ ...auto, ...overrides }, cpus);

describe('resolveEngineLayout', () => {
  it('on CPU gives one single-threaded ONNX Runtime copy per CPU, on worker threads', () => {
    assert.deepEqual(layout({}, 2), { thread: 'worker', instances: 2, intraOpThreads: 1 });
    assert.deepEqual(layout({}, 1), { thread: 'worker', instances: 1, intraOpThreads: 1 });
  });

  it('caps the automatic copies and shares the CPUs out among them as threads', () => {
    assert.deepEqual(layout({}, 16), {
      thread: 'worker',
      instances: maxAutoInstances,
      intraOpThreads: 16 / maxAutoInstances,
    });
  });

  it('fits the copies to INTRA_OP_THREADS, and the threads to ENGINE_INSTANCES, when one is set', () => {
    assert.deepEqual(layout({ intraOpThreads: 2 }, 4), { thread: 'worker', instances: 2, intraOpThreads: 2 });
    assert.deepEqual(layout({ intraOpThreads: 8 }, 4), { thread: 'worker', instances: 1, intraOpThreads: 8 });
    assert.deepEqual(layout({ engineInstances: 1 }, 4), { thread: 'worker', instances: 1, intraOpThreads: 4 });
    assert.deepEqual(layout({ engineInstances: 3, intraOpThreads: 2 }, 2), {
      thread: 'worker',
      instances: 3,
      intraOpThreads: 2,
    });
  });

  it('keeps one copy on a GPU, with ONNX Runtime choosing its CPU threads', () => {
    assert.deepEqual(layout({ device: 'cuda' }, 8), { thread: 'worker', instances: 1, intraOpThreads: undefined });
  });

  it('keeps one copy on the main thread when asked to', () => {
    assert.deepEqual(layout({ engineThread: 'main' }, 8), { thread: 'main', instances: 1, intraOpThreads: 8 });
  });

  it('runs TensorFlow.js once, on the main thread, with no ONNX Runtime threads', () => {
    assert.deepEqual(layout({ engine: 'tfjs' }, 8), { thread: 'main', instances: 1, intraOpThreads: undefined });
    assert.deepEqual(layout({ engine: 'tfjs', engineThread: 'worker' }, 8), {
      thread: 'worker',
      instances: 1,
      intraOpThreads: undefined,
    });
  });
});
