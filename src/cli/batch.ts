#!/usr/bin/env node
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { basename } from 'node:path';
import { BatchJobError, checkPaths, exitCodes, type BatchSummary, type OnError } from '../batch-job/batch-job.js';
import { batchJobInference } from '../batch-job/job-inference.js';
import { checkMerge, scoreJob } from '../batch-job/object-job.js';
import { formatCount, ProgressReporter } from '../batch-job/progress.js';
import type { Classifier } from '../inference/classifier.js';
import { startInferenceStack } from '../inference/inference-stack.js';
import { pino } from 'pino';
import { packageVersion } from '../config/package-root.js';
import { parseBatchArgs, usage, UsageError, type BatchCliOptions } from './batch-options.js';

// sentiment-batch: the offline counterpart of the server. Same config, model directory, tokenizer, engine and
// batcher; records come from a file instead of HTTP requests. Output goes to stdout or a file, everything
// else (errors, progress, the summary) to stderr.

const name = 'sentiment-batch';
const say = (line: string): boolean => process.stderr.write(`${name}: ${line}\n`);
const startedAt = performance.now();

/** onError: with fail, the one malformed record counted is the one the job stopped at, not one it skipped. */
function summaryLine(summary: BatchSummary, onError: OnError): string {
  const parts = [`${formatCount(summary.scored)} records scored`];
  if (summary.resumed > 0) parts.push(`${formatCount(summary.resumed)} already done (resumed)`);
  const malformedFate = onError === 'skip' ? ' (skipped)' : ' (stopped there)';
  parts.push(`${formatCount(summary.malformed)} malformed${summary.malformed > 0 ? malformedFate : ''}`);
  if (summary.malformedResumed > 0)
    parts.push(`${formatCount(summary.malformedResumed)} malformed in the resumed part`);
  const rate = `${formatCount(summary.textsPerSecond)} texts/s (${summary.scoringSeconds.toFixed(2)} s scoring)`;
  const wall = `wall ${((performance.now() - startedAt) / 1000).toFixed(2)} s`;
  const rss = `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`;
  return `${parts.join(', ')}; ${rate}; ${wall}; ${rss}`;
}

/** --merge: no model, only the parts' manifests against the input. */
async function merge(options: BatchCliOptions): Promise<number> {
  const summary = await checkMerge(options.job);
  say(
    `all ${summary.shards} parts are there and cover the input exactly: ${formatCount(summary.records)} records, ` +
      `${formatCount(summary.malformed)} malformed (left out), ${formatCount(summary.bytes)} bytes`,
  );
  return exitCodes.done;
}

async function run(options: BatchCliOptions): Promise<number> {
  if (options.merge) return merge(options);
  checkPaths(options.job);
  const { config } = options;
  let classifier: Classifier;
  let scoredWith: { model: string; dtype: string };
  try {
    // The server's assembly: MODEL_ID (a Hub model, downloaded or cached) or MODEL_DIR with its model.sha256 check,
    // the engine layout, TOKENIZER_THREADS; download logs go to stderr.
    const stack = await startInferenceStack(config, {
      hubLog: () => pino({ level: config.logLevel }, pino.destination(2)),
    });
    const { engine, layout } = stack;
    // What actually started, so a job's log shows the layout its settings gave (ENGINE_INSTANCES and the rest).
    say(
      `engine: ${engine.backend}, ${stack.tokenizerThreads} tokenizer thread(s), ` +
        `${engine.instances} ${layout.thread === 'main' ? 'on the main thread' : 'engine thread(s)'}; ` +
        `${relative(stack.model.dir, stack.model.weightsPath)} (${stack.model.dtypeReason})`,
    );
    classifier = stack.classifier;
    const hub = stack.model.hub;
    scoredWith = { model: hub ? `${hub.modelId}@${hub.commit}` : basename(stack.model.dir), dtype: config.dtype };
  } catch (error) {
    say(`cannot start: ${(error as Error).message}`);
    return 1;
  }

  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy !== undefined) {
      say(`${signal} again: exiting without writing what is in flight`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stoppedBy = signal;
    say(`${signal}: stopping; writing the records already read (send it again to exit at once)`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const mode = options.progress === 'auto' ? (process.stderr.isTTY ? 'bar' : 'lines') : options.progress;
  let progress: ProgressReporter | undefined;
  const log = (line: string): void => {
    if (progress !== undefined) progress.log(`${name}: ${line}`);
    else say(line);
  };
  try {
    const inference = batchJobInference(classifier, config);
    const summary = await scoreJob(
      inference,
      options.job,
      {
        stdin: process.stdin,
        stdout: process.stdout,
        log,
        signal: stop.signal,
        onStart: (snapshot) => {
          progress = new ProgressReporter({
            mode,
            stream: process.stderr,
            intervalMs: options.progressIntervalMs,
            snapshot,
          });
          progress.start();
        },
      },
      scoredWith,
    );
    progress?.stop();
    if (summary.interrupted) {
      say(`interrupted: ${summaryLine(summary, options.job.onError)}`);
      // A shard always continues its own part; a file output continues with --resume.
      say(options.job.shard === undefined ? 'run again with --resume to continue' : 'run again to continue the shard');
      return stoppedBy === 'SIGINT' ? 130 : 143;
    }
    say(`done: ${summaryLine(summary, options.job.onError)}`);
    return 0;
  } catch (error) {
    progress?.stop();
    if (!(error instanceof BatchJobError)) throw error;
    say(error.message);
    if (error.summary !== undefined) {
      say(`stopped: ${summaryLine(error.summary, options.job.onError)}`);
      if (error.summary.scored > 0 && options.job.output !== '-')
        say('fix the cause and run again with --resume to continue');
    }
    return error.exitCode;
  } finally {
    await classifier.close();
  }
}

let parsed: ReturnType<typeof parseBatchArgs>;
try {
  parsed = parseBatchArgs(process.argv.slice(2), process.env, process.stdin.isTTY === true);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  say(error.message);
  say('see --help');
  process.exit(2);
}

if (parsed.kind === 'help') {
  process.stdout.write(`${usage}\n`);
} else if (parsed.kind === 'version') {
  process.stdout.write(`${packageVersion}\n`);
} else {
  try {
    process.exitCode = await run(parsed.options);
  } catch (error) {
    say(error instanceof BatchJobError ? error.message : `failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = error instanceof BatchJobError ? error.exitCode : exitCodes.failed;
  }
}
