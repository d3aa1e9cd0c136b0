import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import { loadModel } from '../src/model/model.js';
import { selectBatch, shapeOf, type BatchLimits } from '../src/queue/batch-policy.js';
import { resolveMaxBatchTokens } from '../src/queue/batch-token-budget.js';
import { loadSentences } from './sentences.js';

/**
 * npm run bench:shapes [-- --shapes 1x64,8x64,... --waiting 64]: the padding BATCH_SHAPES costs on the benchmark's
 * sentences, with the service's own batch policy and limits, no server and no timing: `waiting` texts queued (as
 * many clients each waiting on one), batches formed from them oldest first and the queue refilled in file order
 * until every sentence ran. Padding = padded tokens (the shape's rows × columns) not holding a real token.
 */
const { values: flags } = parseArgs({
  options: {
    shapes: { type: 'string', default: process.env.BENCH_BATCH_SHAPES ?? '1x64,8x64,32x64,8x128,32x128,4x512' },
    waiting: { type: 'string', default: '64' },
  },
});
const config = loadConfig([], { BATCH_SHAPES: flags.shapes });
const model = await loadModel(config.modelDir, config.dtype, config.engine);
const lengths = loadSentences().map((text, index) => model.tokenizer.encode(text, index, true).ids.length);
const waiting = Number(flags.waiting);

function run(limits: BatchLimits): { batches: number; padded: number; real: number } {
  const queue: number[] = [];
  let next = 0;
  const totals = { batches: 0, padded: 0, real: 0 };
  while (next < lengths.length || queue.length > 0) {
    while (queue.length < waiting && next < lengths.length) queue.push(lengths[next++] as number);
    const chosen = selectBatch(queue, limits);
    const shape = shapeOf(
      chosen.map((index) => queue[index] as number),
      limits.batchShapes,
    );
    totals.batches += 1;
    totals.padded += shape.paddedTokens;
    totals.real += shape.realTokens;
    for (const index of [...chosen].reverse()) queue.splice(index, 1);
  }
  return totals;
}

const limits: BatchLimits = {
  maxBatchSize: config.maxBatchSize,
  maxBatchTokens: resolveMaxBatchTokens(config.maxBatchTokens, config.device, model.hiddenSize),
  maxPaddingRatio: config.maxPaddingRatio,
};
const rows = [
  { name: 'padded to the longest text (default)', totals: run(limits) },
  { name: `BATCH_SHAPES=${flags.shapes}`, totals: run({ ...limits, batchShapes: config.batchShapes }) },
];
process.stdout.write(
  `${lengths.length} sentences (${model.name} tokenizer), ${waiting} waiting, MAX_BATCH_SIZE=${limits.maxBatchSize}, ` +
    `MAX_BATCH_TOKENS=${limits.maxBatchTokens}\n\n| batching | batches | real tokens | padded tokens | padding |\n|---|---|---|---|---|\n`,
);
for (const { name, totals } of rows) {
  const padding = (totals.padded - totals.real) / totals.padded;
  process.stdout.write(
    `| ${name} | ${totals.batches} | ${totals.real} | ${totals.padded} | ${(padding * 100).toFixed(1)}% |\n`,
  );
}
