// In-process throughput of each engine on the embedded model: texts/s at given batch sizes, no HTTP, no batcher.
//   [MODEL_DIR=…] [DTYPE=q8] npm run build && node dist/scripts/engine-bench.js [--engines onnx,tfjs:wasm,tfjs:cpu] [--batch-sizes 1,32] [--seconds 10] [--by-length] [--onnx-threads N]
// Batches are consecutive SST-2 dev sentences (mixed lengths, padded to the longest), the same for every engine;
// --by-length sorts them by length first, so batches carry almost no padding (as the batcher's length grouping aims to).
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { tfjsBackends, type TfjsBackendChoice } from '../src/engine/engine-choices.js';
import { createEngine } from '../src/engine/create-engine.js';
import type { Engine } from '../src/engine/engine.js';
import { createTfjsEngine } from '../src/engine/tfjs/tfjs-engine.js';
import { loadModel } from '../src/model/model.js';
import { readDevSet } from './sst2-dev.js';
import { packBatch } from '../src/engine/packed-batch.js';

const { values } = parseArgs({
  options: {
    engines: { type: 'string', default: 'onnx,tfjs:wasm,tfjs:cpu' },
    'batch-sizes': { type: 'string', default: '1,32' },
    seconds: { type: 'string', default: '10' },
    'by-length': { type: 'boolean', default: false },
    // ONNX Runtime's intra-op threads (default: one per core); the WebAssembly backend always uses one thread in Node.
    'onnx-threads': { type: 'string' },
  },
});
const engines = (values.engines ?? '').split(',');
const batchSizes = (values['batch-sizes'] ?? '').split(',').map(Number);
const seconds = Number(values.seconds);

const config = loadConfig([], {
  LOG_LEVEL: 'silent',
  MODEL_DIR: process.env.MODEL_DIR ?? '',
  INTRA_OP_THREADS: values['onnx-threads'] ?? '',
  // fp32 unless DTYPE says otherwise: the engines compare on the same float32 weights.
  DTYPE: process.env.DTYPE ?? 'fp32',
});
const model = await loadModel(config.modelDir, config.dtype, 'onnx');
const texts = readDevSet().map((row, i) => model.tokenizer.encode(row.text, i, true));
if (values['by-length']) texts.sort((a, b) => a.ids.length - b.ids.length);

async function create(name: string): Promise<Engine> {
  if (name === 'onnx') return createEngine(model, { ...config, engine: 'onnx' });
  const [kind, backend] = name.split(':');
  if (kind !== 'tfjs' || !(tfjsBackends as readonly string[]).includes(backend ?? '')) {
    throw new Error(`--engines: "${name}" is neither onnx nor tfjs:<${tfjsBackends.join('|')}>`);
  }
  return createTfjsEngine(model, { device: 'cpu', tfjsBackend: backend as TfjsBackendChoice });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

console.log(
  `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; node ${process.version}`,
);
console.log(
  `${seconds} s per measurement; ${values['by-length'] ? 'batches of similar length' : 'batches in file order (mixed lengths)'}; dev sentences average ${(texts.reduce((n, t) => n + t.ids.length, 0) / texts.length).toFixed(1)} tokens`,
);
console.log(`ONNX file ${model.onnxPath}`);
// CPU time per text is the steadier figure on a shared machine: wall time also counts time spent descheduled.
console.log('engine                          batch   texts/s   p50 ms/batch   p90 ms/batch   cpu ms/text');
for (const name of engines) {
  const engine = await create(name);
  for (const size of batchSizes) {
    let next = 0;
    const batch = () => {
      if (next + size > texts.length) next = 0;
      const slice = texts.slice(next, next + size);
      next += size;
      return slice;
    };
    for (let i = 0; i < 3; i++) await engine.run(packBatch(batch())); // warm-up for this shape range
    const durations: number[] = [];
    let done = 0;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    while (performance.now() - start < seconds * 1000 || durations.length < 5) {
      const b = batch();
      const t = performance.now();
      await engine.run(packBatch(b));
      durations.push(performance.now() - t);
      done += b.length;
    }
    const elapsed = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    durations.sort((a, b) => a - b);
    console.log(
      `${(engine.kind === 'onnx' && config.intraOpThreads !== undefined ? `${engine.backend} ×${config.intraOpThreads}` : engine.backend).padEnd(32)}${String(size).padStart(5)}${(done / elapsed).toFixed(0).padStart(10)}` +
        `${percentile(durations, 0.5).toFixed(2).padStart(15)}${percentile(durations, 0.9).toFixed(2).padStart(15)}` +
        `${((cpu.user + cpu.system) / 1000 / done).toFixed(2).padStart(14)}`,
    );
  }
  await engine.dispose();
}
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
