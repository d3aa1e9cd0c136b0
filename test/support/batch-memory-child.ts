// Runs one batch job in its own process and reports its peak RSS, for the bounded-memory test:
//   node batch-memory-child.js INPUT OUTPUT CHECKPOINT
// Everything is the CLI's pipeline (reader, parser, tokenizer, batcher, in-order window, writer) except the
// engine, which answers at once (InstantEngine): a million texts through the real one would take many minutes
// here. The test runs the real engine on a smaller input through the CLI itself.
import { runBatchJob } from '../../src/batch-job/batch-job.js';
import { batchJobInference } from '../../src/batch-job/job-inference.js';
import { Classifier } from '../../src/inference/classifier.js';
import { loadModel } from '../../src/model/model.js';
import { testConfig } from './config.js';
import { jobOptions } from './batch-job.js';
import { InstantEngine } from './instant-engine.js';

const [input, output, checkpointArg] = process.argv.slice(2);
if (input === undefined || output === undefined || checkpointArg === undefined)
  throw new Error('usage: INPUT OUTPUT CHECKPOINT');
const checkpoint = Number(checkpointArg);
const window = 2048;

const config = testConfig();
const model = await loadModel(config.modelDir, config.dtype, config.engine);
const engine = new InstantEngine();
const classifier = new Classifier(model, engine, {
  maxBatchSize: 64,
  maxBatchTokens: 8192,
  maxPaddingRatio: 0.5,
  maxWaitMs: 0,
  maxQueue: window,
});

const maxRssKiB = (): number => process.resourceUsage().maxRSS;
let submitted = 0;
let rssAtCheckpointKiB = 0;
// The job's inference call, as sentiment-batch builds it, with a look at memory when the checkpoint's text goes in.
const inference = batchJobInference(classifier, { maxTextsPerRequest: 1, maxQueue: window });
const classify = inference.classify.bind(inference);
inference.classify = (texts, options) => {
  submitted += texts.length;
  if (submitted === checkpoint) rssAtCheckpointKiB = maxRssKiB();
  return classify(texts, options);
};
const startedAt = performance.now();
const summary = await runBatchJob(inference, jobOptions({ input, output, window, overwrite: true }), {
  stdin: process.stdin,
  stdout: process.stdout,
  log: (line) => process.stderr.write(`${line}\n`),
});
await classifier.close();
process.stdout.write(
  `${JSON.stringify({
    scored: summary.scored,
    engineTexts: engine.texts,
    rssAtCheckpointKiB,
    rssAtEndKiB: maxRssKiB(),
    seconds: (performance.now() - startedAt) / 1000,
  })}\n`,
);
