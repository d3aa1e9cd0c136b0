/**
 * Scores a model directory on labelled TSV files through the server's own path (model dir loader, tokenizer,
 * engine, batcher, postprocessing), measures single-sentence latency in-process, and optionally checks that the
 * engine's logits match reference logits (PyTorch's, written by training/export_model.py).
 *
 *   npm run eval -- [--model-dir DIR] [--data FILE.tsv ...] [--parity dev_logits.json] [--json OUT.json]
 *
 * DTYPE selects the ONNX file as the server does (auto by default); latency, throughput and parity are measured on
 * that one. Accuracy is reported for every dtype the directory has a file for (fp32, fp16, q8), each with its
 * difference to fp32 in points: what users feel, and the budget DTYPE=auto's choice must stay within.
 * Throughput is measured in-process on the first data file's texts: one text per classify call (batch 1), and
 * 32 texts per call (batch 32), on the engine layout the server would use.
 *
 * TSV: a header line, then `label<TAB>text` (label 0 = NEGATIVE, 1 = POSITIVE, as in SST-2/GLUE).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/config.js';
import type { Dtype } from '../src/engine/engine-choices.js';
import { createEngine } from '../src/engine/create-engine.js';
import { Classifier } from '../src/inference/classifier.js';
import { onnxFileOf } from '../src/model/dtype-choice.js';
import { loadModel } from '../src/model/model.js';
import { packageRoot } from '../src/config/package-root.js';
import { packBatch } from '../src/engine/packed-batch.js';

const PARITY_TOLERANCE = 1e-4;
/** The most accuracy, in points, a dtype other than fp32 may lose on a data set (the DTYPE=auto budget). */
const ACCURACY_BUDGET_POINTS = 0.3;
const LATENCY_SENTENCE = 'I love using this product!';

interface LabelledText {
  label: string;
  text: string;
}

function readTsv(file: string, labels: readonly string[]): LabelledText[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '');
  return lines.map((line, index) => {
    const tab = line.indexOf('\t');
    const id = Number(line.slice(0, tab));
    const label = labels[id];
    if (tab < 0 || label === undefined)
      throw new Error(`${file}:${index + 2}: expected "label<TAB>text" with a known label id`);
    return { label, text: line.slice(tab + 1) };
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

const { values } = parseArgs({
  options: {
    'model-dir': { type: 'string' },
    data: { type: 'string', multiple: true },
    parity: { type: 'string' },
    json: { type: 'string' },
  },
});

const config = loadConfig([], process.env);
const modelDir = path.resolve(values['model-dir'] ?? config.modelDir);
const defaultData = [
  path.join(packageRoot, '../shared/data/sst2/dev.tsv'),
  path.join(packageRoot, 'test/fixtures/domain-probes.tsv'),
];
const dataFiles = values.data ?? defaultData.filter((file) => existsSync(file));

const model = await loadModel(modelDir, config.dtype, config.engine, config.device);
const engine = await createEngine(model, config);
const classifier = new Classifier(model, engine, config);
const report: Record<string, unknown> = {
  modelDir,
  engine: engine.backend,
  dtype: model.dtype,
  dtypeReason: model.dtypeReason,
  accuracy: {},
};
console.log(`model ${modelDir}\nengine ${engine.backend}\ndtype ${model.dtype} (${model.dtypeReason})`);

const far = () => performance.now() + 3_600_000;
const datasets = dataFiles.map((file) => ({ name: path.basename(file), rows: readTsv(file, model.labels) }));
const firstDataTexts = datasets[0]?.rows.map((row) => row.text) ?? [];

async function accuracyOf(scorer: Classifier): Promise<Record<string, { correct: number; accuracy: number }>> {
  const scores: Record<string, { correct: number; accuracy: number }> = {};
  for (const { name, rows } of datasets) {
    const texts = rows.map((row) => row.text);
    const predictions = await scorer.classify(texts, { truncate: true, topK: 1, deadline: far() });
    const correct = rows.filter((row, i) => predictions[i]?.[0]?.label === row.label).length;
    scores[name] = { correct, accuracy: correct / rows.length };
  }
  return scores;
}

// Every dtype with a file in the directory (q8 and int8 read the same one), fp32 first: the reference.
const dtypesHere = (['fp32', 'fp16', 'q8'] as const).filter((dtype) =>
  existsSync(path.join(modelDir, onnxFileOf[dtype])),
);
const accuracies = new Map<Dtype, Record<string, { correct: number; accuracy: number }>>();
for (const dtype of config.engine === 'onnx' ? dtypesHere : [model.dtype]) {
  if (dtype === model.dtype || (dtype === 'q8' && model.dtype === 'int8')) {
    accuracies.set(dtype, await accuracyOf(classifier));
    continue;
  }
  const otherConfig = { ...config, dtype };
  const otherModel = await loadModel(modelDir, dtype, config.engine, config.device);
  const other = new Classifier(otherModel, await createEngine(otherModel, otherConfig), otherConfig);
  accuracies.set(dtype, await accuracyOf(other));
  await other.close();
}
let overBudget = false;
for (const [dtype, scores] of accuracies) {
  const served = dtype === model.dtype ? ' (served)' : '';
  for (const { name, rows } of datasets) {
    const score = scores[name] as { correct: number; accuracy: number };
    const reference = accuracies.get('fp32')?.[name]?.accuracy;
    const points = reference === undefined ? undefined : (score.accuracy - reference) * 100;
    if (points !== undefined && points < -ACCURACY_BUDGET_POINTS) overBudget = true;
    const delta =
      points === undefined || dtype === 'fp32'
        ? ''
        : `, ${points >= 0 ? '+' : ''}${points.toFixed(2)} points vs fp32 (budget -${ACCURACY_BUDGET_POINTS})`;
    (report.accuracy as Record<string, unknown>)[dtype] = {
      ...((report.accuracy as Record<string, object>)[dtype] ?? {}),
      [name]: { examples: rows.length, ...score, pointsVsFp32: points },
    };
    console.log(
      `${dtype}${served} ${name}: accuracy ${(score.accuracy * 100).toFixed(2)}% (${score.correct}/${rows.length})${delta}`,
    );
  }
}
if (overBudget) console.log(`a dtype loses more than ${ACCURACY_BUDGET_POINTS} points of accuracy against fp32`);

const latencies: number[] = [];
for (let i = 0; i < 300; i++) {
  const start = performance.now();
  await classifier.classify([LATENCY_SENTENCE], { truncate: true, topK: 1, deadline: far() });
  if (i >= 50) latencies.push(performance.now() - start);
}
latencies.sort((a, b) => a - b);
report.latencyMs = { sentence: LATENCY_SENTENCE, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
console.log(
  `one short sentence in-process (tokenize + batcher + engine + scoring): ` +
    `p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms`,
);

async function textsPerSecond(batchSize: number, texts: readonly string[]): Promise<number> {
  const started = performance.now();
  let done = 0;
  for (let start = 0; start + batchSize <= texts.length; start += batchSize) {
    await classifier.classify(texts.slice(start, start + batchSize), { truncate: true, topK: 1, deadline: far() });
    done += batchSize;
  }
  return done / ((performance.now() - started) / 1000);
}
// Whether a text's score depends on what it is batched with (it must not: int8 files quantize activations per token):
// each text alone against the length-grouped batches accuracy was measured in. scripts/batch-independence.ts goes further.
if (firstDataTexts.length > 0) {
  const batched = await classifier.classify(firstDataTexts, { truncate: true, topK: 1, deadline: far() });
  let labelChanges = 0;
  let maxScoreDiff = 0;
  for (const [i, text] of firstDataTexts.entries()) {
    const [alone] = await classifier.classify([text], { truncate: true, topK: 1, deadline: far() });
    const together = batched[i]?.[0];
    if (alone?.[0]?.label !== together?.label) labelChanges += 1;
    else maxScoreDiff = Math.max(maxScoreDiff, Math.abs((alone?.[0]?.score ?? 0) - (together?.score ?? 0)));
  }
  report.batchDependence = { texts: firstDataTexts.length, labelChanges, maxScoreDiff };
  console.log(
    `${model.dtype} alone vs in batches on ${datasets[0]?.name}: ${labelChanges} of ${firstDataTexts.length} labels ` +
      `change, scores differ by at most ${maxScoreDiff.toExponential(2)} where they do not`,
  );
}

if (firstDataTexts.length >= 32) {
  const throughput = {
    batch1: await textsPerSecond(1, firstDataTexts.slice(0, 256)),
    batch32: await textsPerSecond(32, firstDataTexts),
  };
  report.textsPerSecond = throughput;
  console.log(
    `throughput in-process on ${path.basename(dataFiles[0] ?? '')}: batch 1 ${throughput.batch1.toFixed(0)} texts/s, ` +
      `batch 32 ${throughput.batch32.toFixed(0)} texts/s`,
  );
}

let parityFailed = false;
if (values.parity) {
  const reference = JSON.parse(readFileSync(values.parity, 'utf8')) as { texts: string[]; logits: number[][] };
  let maxAbsDiff = 0;
  for (let start = 0; start < reference.texts.length; start += 32) {
    const texts = reference.texts.slice(start, start + 32);
    const logits = await engine.run(packBatch(texts.map((text, i) => model.tokenizer.encode(text, start + i, true))));
    texts.forEach((_, row) => {
      reference.logits[start + row]?.forEach((expected, label) => {
        const actual = logits[row * engine.numLabels + label] as number;
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(actual - expected));
      });
    });
  }
  parityFailed = !(maxAbsDiff < PARITY_TOLERANCE);
  report.parity = { reference: values.parity, texts: reference.texts.length, maxAbsDiff, tolerance: PARITY_TOLERANCE };
  console.log(
    `parity with reference logits (${reference.texts.length} texts, padded batches of 32): ` +
      `max abs diff ${maxAbsDiff.toExponential(2)} (${parityFailed ? 'FAIL' : 'ok'}, tolerance ${PARITY_TOLERANCE})`,
  );
}

if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
await classifier.close();
process.exit(parityFailed ? 1 : 0);
