/**
 * How much a text's score depends on the texts it is batched with: every SST-2 dev sentence scored alone, then in
 * batches (length-sorted, as the batcher groups them, and in a seeded random order, as unrelated traffic mixes them),
 * through the engine the server would use for each model directory (DTYPE resolved as the server does).
 *
 *   npm run build && node dist/scripts/batch-independence.js [--model-dir DIR ...] [--batch-size 32] [--seed 1]
 *
 * Reports, per directory and batching, the largest |score difference| of any label and how many top labels change.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { createEngine } from '../src/engine/create-engine.js';
import type { Engine } from '../src/engine/engine.js';
import { packBatch } from '../src/engine/packed-batch.js';
import { predictionsOf } from '../src/inference/postprocess.js';
import { loadModel, type Model } from '../src/model/model.js';
import type { EncodedText } from '../src/model/tokenizer.js';
import { readDevSet } from './sst2-dev.js';

const { values } = parseArgs({
  options: {
    'model-dir': { type: 'string', multiple: true },
    'batch-size': { type: 'string', default: '32' },
    seed: { type: 'string', default: '1' },
  },
});
const config = loadConfig([], { ...process.env, LOG_LEVEL: 'silent' });
const batchSize = Number(values['batch-size']);

/** Scores of every label per text, in the model's label order. */
interface DevText {
  index: number;
  encoded: EncodedText;
}

async function scoresOf(engine: Engine, model: Model, batches: readonly DevText[][]): Promise<Map<number, number[]>> {
  const scores = new Map<number, number[]>();
  for (const batch of batches) {
    const logits = await engine.run(packBatch(batch.map((text) => text.encoded)));
    batch.forEach((text, row) => {
      const rowLogits = logits.subarray(row * engine.numLabels, (row + 1) * engine.numLabels);
      const predictions = predictionsOf(rowLogits, model, engine.numLabels);
      scores.set(
        text.index,
        model.labels.map((label) => predictions.find((p) => p.label === label)?.score ?? NaN),
      );
    });
  }
  return scores;
}

function batchesOf(texts: readonly DevText[]): DevText[][] {
  const batches: DevText[][] = [];
  for (let i = 0; i < texts.length; i += batchSize) batches.push(texts.slice(i, i + batchSize));
  return batches;
}

/** A seeded shuffle (mulberry32), so a run can be repeated. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function compare(alone: Map<number, number[]>, together: Map<number, number[]>) {
  let maxScoreDiff = 0;
  let labelChanges = 0;
  for (const [index, scores] of alone) {
    const other = together.get(index) ?? [];
    scores.forEach((score, label) => {
      maxScoreDiff = Math.max(maxScoreDiff, Math.abs(score - (other[label] ?? NaN)));
    });
    const top = (s: number[]) => s.indexOf(Math.max(...s));
    if (top(scores) !== top(other)) labelChanges += 1;
  }
  return { maxScoreDiff, labelChanges };
}

const dev = readDevSet();
for (const dir of values['model-dir'] ?? [config.modelDir]) {
  const model = await loadModel(path.resolve(dir), config.dtype, 'onnx', config.device);
  const engine = await createEngine(model, { ...config, engine: 'onnx' });
  const texts = dev.map((row, index) => ({ index, encoded: model.tokenizer.encode(row.text, index, true) }));
  const alone = await scoresOf(
    engine,
    model,
    texts.map((text) => [text]),
  );
  const orders = {
    'length-sorted': [...texts].sort((a, b) => a.encoded.ids.length - b.encoded.ids.length),
    random: shuffled(texts, Number(values.seed)),
  };
  for (const [order, ordered] of Object.entries(orders)) {
    const { maxScoreDiff, labelChanges } = compare(alone, await scoresOf(engine, model, batchesOf(ordered)));
    console.log(
      `${dir} (${model.dtype}, ${path.basename(model.weightsPath)}): alone vs batches of ${batchSize}, ${order}: ` +
        `max |score difference| ${maxScoreDiff.toExponential(2)}, ${labelChanges} of ${texts.length} labels change`,
    );
  }
  await engine.dispose();
}
