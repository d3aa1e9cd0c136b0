import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config.js';
import { availableCpus } from '../src/config/cpu-quota.js';
import { createEngine, startEngine } from '../src/engine/create-engine.js';
import { resolveEngineLayout } from '../src/engine/engine-layout.js';
import type { Engine } from '../src/engine/engine.js';
import { loadModel } from '../src/model/model.js';
import type { EncodedText } from '../src/model/tokenizer.js';
import { packBatch } from '../src/engine/packed-batch.js';

export interface BatchingRow {
  /** How the engine ran: one copy on this thread with every CPU's threads, or the service's layout. */
  layout: string;
  batchSize: number;
  order: 'arrival' | 'grouped';
  /** Texts per second counting tokenization and the engine: all the per-text work that is not HTTP. */
  textsPerSec: number;
  /** Texts per second of the engine alone (tensors + ONNX Runtime). */
  engineTextsPerSec: number;
  /** Share of computed tokens that are padding: 1 - real / (longest × size), over all batches. */
  paddingWasted: number;
}

export interface ComputeCeiling {
  texts: number;
  meanTokens: number;
  tokenizeMicrosPerText: number;
  rows: BatchingRow[];
  /** The best length-grouped row: the most texts/s the model can do on this machine with no HTTP at all. */
  ceiling: BatchingRow;
  backend: string;
  /** The dtype computed in: DTYPE resolved for the model directory as the server resolves it. */
  dtype: string;
  intraOpThreads: string;
}

export interface ComputeCeilingOptions {
  modelDir: string;
  texts: readonly string[];
  /** The configurations to time; batch size 1 is the no-batching reference. */
  configs: readonly { batchSize: number; order: 'arrival' | 'grouped' }[];
  /** Each configuration repeats whole passes over the texts until at least this long has been timed. */
  minSeconds: number;
}

function batchesOf(encoded: readonly EncodedText[], batchSize: number, order: 'arrival' | 'grouped'): EncodedText[][] {
  const ordered = order === 'arrival' ? [...encoded] : [...encoded].sort((a, b) => a.ids.length - b.ids.length);
  const batches: EncodedText[][] = [];
  for (let i = 0; i < ordered.length; i += batchSize) batches.push(ordered.slice(i, i + batchSize));
  return batches;
}

function paddingOf(batches: readonly (readonly EncodedText[])[]): number {
  let real = 0;
  let padded = 0;
  for (const batch of batches) {
    const lengths = batch.map((text) => text.ids.length);
    real += lengths.reduce((sum, length) => sum + length, 0);
    padded += Math.max(...lengths) * lengths.length;
  }
  return padded === 0 ? 0 : 1 - real / padded;
}

/** Runs every batch, keeping as many in flight as the engine has instances. */
async function runAll(engine: Engine, batches: readonly EncodedText[][]): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < batches.length) await engine.run(packBatch(batches[next++] as EncodedText[]));
  };
  await Promise.all(Array.from({ length: engine.instances }, lane));
}

async function timePasses(engine: Engine, batches: readonly EncodedText[][], minSeconds: number): Promise<number> {
  let passes = 0;
  const start = performance.now();
  do {
    await runAll(engine, batches);
    passes += 1;
  } while (performance.now() - start < minSeconds * 1000);
  return (performance.now() - start) / 1000 / passes;
}

/**
 * Baseline 3, the compute ceiling: the service's own model loader, tokenizer and engine (same modules, same
 * config defaults and env vars), in this process, with no HTTP, fed batches formed from the whole text set at
 * once: in arrival order, or sorted by length (the best grouping any queue could reach). Each configuration runs
 * in two layouts, and the ceiling is the best of both: one engine on this thread using every CPU as an intra-op
 * thread (the classic setup), and the layout the service resolves (ENGINE_INSTANCES copies on worker threads,
 * as many batches in flight).
 */
export async function measureComputeCeiling(options: ComputeCeilingOptions): Promise<ComputeCeiling> {
  const config = loadConfig([], { ...process.env, MODEL_DIR: options.modelDir, LOG_LEVEL: 'silent' });
  const model = await loadModel(config.modelDir, config.dtype, config.engine, config.device);
  const cpus = availableCpus();
  const serviceLayout = resolveEngineLayout(config, cpus);
  const layouts = [
    {
      name: `1 × ${config.intraOpThreads ?? cpus} threads, this thread`,
      start: () => createEngine(model, { ...config, intraOpThreads: config.intraOpThreads ?? cpus }),
    },
    {
      name: `service: ${serviceLayout.instances} × ${serviceLayout.intraOpThreads ?? 'default'} threads, ${serviceLayout.thread}`,
      start: () => startEngine(model, config, serviceLayout),
    },
  ];
  const rows: BatchingRow[] = [];
  let encoded: EncodedText[] = [];
  let tokenizeSeconds = 0;
  let backend = '';
  for (const layout of layouts) {
    const engine = await layout.start();
    backend = engine.backend;
    try {
      const measured = await measureLayout(engine, layout.name);
      encoded = measured.encoded;
      tokenizeSeconds = measured.tokenizeSeconds;
      rows.push(...measured.rows);
    } finally {
      await engine.dispose();
    }
  }
  const grouped = rows.filter((row) => row.order === 'grouped' || row.batchSize === 1);
  const ceiling = grouped.reduce((best, row) => (row.textsPerSec > best.textsPerSec ? row : best));
  return {
    texts: encoded.length,
    meanTokens: encoded.reduce((sum, text) => sum + text.ids.length, 0) / encoded.length,
    tokenizeMicrosPerText: (tokenizeSeconds * 1e6) / encoded.length,
    rows,
    ceiling,
    backend,
    dtype: model.dtype,
    intraOpThreads: layouts.map((layout) => layout.name).join('; '),
  };

  async function measureLayout(engine: Engine, layoutName: string) {
    const encode = (): EncodedText[] => options.texts.map((text, index) => model.tokenizer.encode(text, index, true));
    encode();
    let encoded: EncodedText[] = [];
    let tokenizePasses = 0;
    const tokenizeStart = performance.now();
    do {
      encoded = encode();
      tokenizePasses += 1;
    } while (performance.now() - tokenizeStart < 1000 * Math.max(0.2, Math.min(1, options.minSeconds)));
    const tokenizeSeconds = (performance.now() - tokenizeStart) / 1000 / tokenizePasses;

    const rows: BatchingRow[] = [];
    for (const { batchSize, order } of options.configs) {
      const batches = batchesOf(encoded, batchSize, order);
      // Warm-up on this configuration's own shapes: ONNX Runtime plans memory per input shape.
      for (const batch of batches.slice(0, 3)) await engine.run(packBatch(batch));
      const engineSeconds = await timePasses(engine, batches, options.minSeconds);
      rows.push({
        layout: layoutName,
        batchSize,
        order,
        textsPerSec: encoded.length / (engineSeconds + tokenizeSeconds),
        engineTextsPerSec: encoded.length / engineSeconds,
        paddingWasted: paddingOf(batches),
      });
    }
    return { encoded, tokenizeSeconds, rows };
  }
}
