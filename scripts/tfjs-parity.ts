// Logits of the TensorFlow.js engine against the ONNX engine on the whole SST-2 dev set (the parity target: 1e-4).
//   [MODEL_DIR=…] npm run build && node dist/scripts/tfjs-parity.js [--backends auto,wasm,cpu] [--batch-size 32]
import { parseArgs } from 'node:util';
import { createEngine } from '../src/engine/create-engine.js';
import { createTfjsEngine } from '../src/engine/tfjs/tfjs-engine.js';
import { loadConfig } from '../src/config/config.js';
import { tfjsBackends, type TfjsBackendChoice } from '../src/engine/engine-choices.js';
import { loadModel } from '../src/model/model.js';
import { devSetPath, readDevSet } from './sst2-dev.js';
import { packBatch } from '../src/engine/packed-batch.js';

const { values } = parseArgs({
  options: { backends: { type: 'string', default: 'auto' }, 'batch-size': { type: 'string', default: '32' } },
});
const backends = (values.backends ?? 'auto').split(',') as TfjsBackendChoice[];
for (const b of backends)
  if (!(tfjsBackends as readonly string[]).includes(b))
    throw new Error(`--backends: ${b} is not one of ${tfjsBackends.join(', ')}`);
const batchSize = Number(values['batch-size']);

const config = loadConfig([], { LOG_LEVEL: 'silent', MODEL_DIR: process.env.MODEL_DIR ?? '' });
const model = await loadModel(config.modelDir, 'fp32', 'onnx');
const dev = readDevSet();
const encoded = dev.map((row, i) => model.tokenizer.encode(row.text, i, true));
const onnx = await createEngine(model, { ...config, engine: 'onnx' });

const labels = model.labels.length;
async function logitsOf(run: (batch: typeof encoded) => Promise<Float32Array>): Promise<Float32Array> {
  const all = new Float32Array(encoded.length * labels);
  for (let start = 0; start < encoded.length; start += batchSize)
    all.set(await run(encoded.slice(start, start + batchSize)), start * labels);
  return all;
}
function accuracy(logits: Float32Array): number {
  let right = 0;
  dev.forEach((row, i) => {
    const predicted = logits[i * 2 + 1]! > logits[i * 2]! ? 1 : 0;
    if (predicted === row.label) right++;
  });
  return right / dev.length;
}

const reference = await logitsOf((batch) => onnx.run(packBatch(batch)));
console.log(`model ${model.dir}`);
console.log(
  `dev set ${devSetPath}: ${dev.length} sentences, batches of ${batchSize} in file order (mixed lengths, padded)`,
);
console.log(`onnx  ${onnx.backend}: accuracy ${(accuracy(reference) * 100).toFixed(2)}%`);
let worstOverall = 0;
for (const choice of backends) {
  const tfjs = await createTfjsEngine(model, { device: 'cpu', tfjsBackend: choice });
  const logits = await logitsOf((batch) => tfjs.run(packBatch(batch)));
  let worst = 0;
  let sum = 0;
  let disagreements = 0;
  for (let i = 0; i < logits.length; i++) {
    const difference = Math.abs(logits[i]! - reference[i]!);
    worst = Math.max(worst, difference);
    sum += difference;
  }
  for (let i = 0; i < dev.length; i++) {
    if (logits[i * 2 + 1]! > logits[i * 2]! !== reference[i * 2 + 1]! > reference[i * 2]!) disagreements++;
  }
  worstOverall = Math.max(worstOverall, worst);
  console.log(
    `tfjs  ${tfjs.backend} (TFJS_BACKEND=${choice}): accuracy ${(accuracy(logits) * 100).toFixed(2)}%, ` +
      `max |Δ logit| ${worst.toExponential(3)}, mean |Δ logit| ${(sum / logits.length).toExponential(3)}, ` +
      `labels that differ ${disagreements}/${dev.length}`,
  );
  await tfjs.dispose();
}
await onnx.dispose();
console.log(worstOverall <= 1e-4 ? 'PASS: within 1e-4' : 'FAIL: above 1e-4');
process.exitCode = worstOverall <= 1e-4 ? 0 : 1;
