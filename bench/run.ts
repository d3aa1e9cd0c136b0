import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { packageRoot } from '../src/config/package-root.js';
import { benchModelIds, prepareModel, type BenchModel } from './bench-models.js';
import { measureComputeCeiling, type ComputeCeiling } from './compute-ceiling.js';
import { failures, type LoadResult } from './load-result.js';
import { flaskCommands, prepareFlaskVenv } from './flask-baseline.js';
import { runAutocannon } from './load-test.js';
import { runOneClient } from './one-client-load.js';
import { runPaced } from './paced-load.js';
import { tailChecks } from './tail-checks.js';
import { timingGroups } from './timing-breakdown.js';
import { PeakRss } from './peak-rss.js';
import { cpuSecondsDuring, waitForIdle } from './process-cpu.js';
import {
  renderMarkdown,
  type BenchReport,
  type ModelReport,
  type ScenarioResult,
  type ServerKind,
  type TargetCheck,
} from './report.js';
import { requestBodies, loadSentences } from './sentences.js';
import { scrapeMetrics, serverSideStats } from './server-metrics.js';
import { startServer, type ServerProcess } from './server-process.js';
import { processesInGroup, startTriton } from '../test/support/triton-process.js';

/**
 * npm run bench        the full run (both models, every scenario and baseline; about 10 minutes on 2 cores)
 * npm run bench:smoke  a few seconds on the embedded model, for CI: checks that everything runs and answers 2xx,
 *                      asserts nothing about speed
 * Flags: --models embedded,distilbert-size  --seconds N (per load run)  --out DIR
 *        --scenarios c1,c16,c64,c256,c16x32,open (the service's; default all; none: the baselines only)
 *        --baselines compute,http,naive,batch-1,fp32,flask,remote (default all; the smoke run leaves out fp32, flask
 *        and remote; targets need the first four, and name fp32 and flask where they ran). fp32: the service with
 *        DTYPE=fp32; flask: the original Python app (bench/flask-baseline.ts), skipped with a note where Python or
 *        torch is absent; remote: the embedded model with ENGINE=remote against the CPU Triton of `npm run triton`,
 *        beside the in-process engine in fp32 (which it brings along), with and without BENCH_BATCH_SHAPES (fixed
 *        shapes, for the padding they cost). `--baselines remote --scenarios none` runs only those three.
 *        --open-rate N (req/s of the open-loop scenarios; default half the best closed-loop req/s of the run)
 *        The last three are for quick A/B runs of one setting (the same open-loop rate for each); a full run keeps
 *        them at their defaults.
 * Service settings come from the environment as for the server (e.g. INTRA_OP_THREADS=1 npm run bench) and apply
 * to the compute ceiling too; BENCH_LOG_LEVEL (default info) sets the log level of all three servers.
 */

interface Plan {
  mode: 'full' | 'smoke';
  warmupSeconds: number;
  httpCeilingSeconds: number;
  timeoutSeconds: number;
  perModel: Record<
    BenchModel['id'],
    {
      seconds: number;
      computeTexts: number;
      computeMinSeconds: number;
      computeConfigs: { batchSize: number; order: 'arrival' | 'grouped' }[];
    }
  >;
}

const issueTableConfigs = [
  { batchSize: 1, order: 'arrival' },
  { batchSize: 8, order: 'arrival' },
  { batchSize: 32, order: 'arrival' },
  { batchSize: 8, order: 'grouped' },
  { batchSize: 32, order: 'grouped' },
] as const;

const plans: Record<'full' | 'smoke', Plan> = {
  full: {
    mode: 'full',
    warmupSeconds: 3,
    httpCeilingSeconds: 10,
    timeoutSeconds: 10,
    perModel: {
      embedded: {
        seconds: 10,
        computeTexts: Infinity,
        computeMinSeconds: 2,
        computeConfigs: [...issueTableConfigs, { batchSize: 64, order: 'grouped' }],
      },
      // One pass over 320 texts per configuration keeps the ceiling under a minute at ~30-50 texts/s.
      'distilbert-size': {
        seconds: 20,
        computeTexts: 320,
        computeMinSeconds: 0,
        computeConfigs: [...issueTableConfigs],
      },
    },
  },
  smoke: {
    mode: 'smoke',
    warmupSeconds: 0.5,
    httpCeilingSeconds: 1,
    timeoutSeconds: 10,
    perModel: {
      embedded: {
        seconds: 1,
        computeTexts: 64,
        computeMinSeconds: 0,
        computeConfigs: [issueTableConfigs[0], issueTableConfigs[1], issueTableConfigs[3]],
      },
      'distilbert-size': {
        seconds: 1,
        computeTexts: 16,
        computeMinSeconds: 0,
        computeConfigs: [issueTableConfigs[0], issueTableConfigs[3]],
      },
    },
  },
};

const { values: flags } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    models: { type: 'string' },
    seconds: { type: 'string' },
    out: { type: 'string', default: join(packageRoot, 'bench', 'results') },
    scenarios: { type: 'string', default: 'c1,c16,c64,c256,c16x32,open' },
    baselines: { type: 'string' },
    'open-rate': { type: 'string' },
  },
});
const scenarioKeys = new Set(flags.scenarios.split(',').map((key) => key.trim()));
const requiredBaselines = ['compute', 'http', 'naive', 'batch-1'];
const baselines = new Set(
  (flags.baselines ?? (flags.smoke ? requiredBaselines : [...requiredBaselines, 'fp32', 'flask', 'remote']).join(','))
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== ''),
);
const complete =
  flags.scenarios === 'c1,c16,c64,c256,c16x32,open' &&
  flags['open-rate'] === undefined &&
  requiredBaselines.every((baseline) => baselines.has(baseline));
/** Shapes for the fixed-shape run: buckets that fit the benchmark's sentences, and the model's maximum length. */
const benchBatchShapes = process.env.BENCH_BATCH_SHAPES ?? '1x64,8x64,32x64,8x128,32x128,4x512';
const plan = plans[flags.smoke ? 'smoke' : 'full'];
const modelIds = (flags.models ?? (flags.smoke ? 'embedded' : benchModelIds.join(',')))
  .split(',')
  .map((id) => id.trim());
for (const id of modelIds) {
  if (!(benchModelIds as readonly string[]).includes(id))
    throw new Error(`--models: unknown model ${id} (${benchModelIds.join(', ')})`);
}
const secondsOverride = flags.seconds === undefined ? undefined : Number(flags.seconds);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
const serviceScript = fileURLToPath(new URL('../src/server.js', import.meta.url));
const naiveScript = fileURLToPath(new URL('./baselines/naive-server.js', import.meta.url));
const httpCeilingScript = fileURLToPath(new URL('./baselines/http-ceiling-server.js', import.meta.url));

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const texts = loadSentences();
const bodies = { 1: requestBodies(texts, 1), 32: requestBodies(texts, 32) } as const;

interface LoadSpec {
  key: string;
  title: string;
  connections: number;
  textsPerRequest: 1 | 32;
  seconds: number;
  timeoutSeconds?: number;
  /** Open loop: autocannon's overallRate, or evenly spaced arrivals. */
  open?: { kind: 'autocannon' | 'paced'; rate: number };
}

/** One load run on a started server, with its peak RSS and, for the service, its own batch statistics. */
/**
 * One load run against a server. modelServer: the processes of a model server it calls (ENGINE=remote), whose CPU
 * time is counted beside the server's own.
 */
async function measure(
  server: ServerProcess,
  kind: ServerKind,
  spec: LoadSpec,
  modelServer?: () => number[],
): Promise<ScenarioResult> {
  await waitForIdle(server.pid);
  const before = kind.startsWith('service') ? await scrapeMetrics(server.url) : undefined;
  const rss = new PeakRss(server.pid).start();
  const started = performance.now();
  const common = {
    url: server.url,
    bodies: bodies[spec.textsPerRequest],
    textsPerRequest: spec.textsPerRequest,
    timeoutSeconds: spec.timeoutSeconds ?? plan.timeoutSeconds,
  };
  const run = (): Promise<LoadResult> => {
    if (spec.open?.kind === 'paced')
      return runPaced({ ...common, rate: spec.open.rate, durationSeconds: spec.seconds, maxConnections: 256 });
    // The idle server: per-request latencies with timing headers, so the tail checks can compare length classes.
    if (spec.connections === 1 && spec.open === undefined)
      return runOneClient({ ...common, durationSeconds: spec.seconds });
    return runAutocannon({
      ...common,
      connections: spec.connections,
      durationSeconds: spec.seconds,
      ...(spec.open === undefined ? {} : { overallRate: spec.open.rate }),
    });
  };
  const [[load, serverCpu], modelServerCpu] = await cpuSecondsDuring(modelServer ?? (() => []), () =>
    cpuSecondsDuring(() => [server.pid], run),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const peakRssBytes = rss.stop();
  const after = before === undefined ? undefined : await scrapeMetrics(server.url);
  const result: ScenarioResult = {
    server: kind,
    key: spec.key,
    title: spec.title,
    load,
    ...(before !== undefined && after !== undefined ? { serverSide: serverSideStats(before, after, wallSeconds) } : {}),
    ...(peakRssBytes === undefined ? {} : { peakRssBytes }),
    cpuSeconds: { server: serverCpu, ...(modelServer === undefined ? {} : { modelServer: modelServerCpu }) },
    loadAverage1m: loadavg()[0] ?? 0,
  };
  const l = result.load;
  log(
    `${server.name} ${spec.title}: ${l.textsPerSec.toFixed(1)} texts/s, p50 ${l.latencyMs.p50.toFixed(1)} p99 ` +
      `${l.latencyMs.p99.toFixed(1)} ms, failed ${failures(l)}` +
      (result.serverSide ? `, mean batch ${result.serverSide.meanBatchSize.toFixed(1)}` : '') +
      `, CPU ${cpuPerThousand(result)}`,
  );
  const breakdown = l.breakdown;
  if (breakdown !== undefined) {
    for (const [group, parts] of timingGroups(breakdown)) {
      log(
        `  ${group} (${parts.requests}), mean ms: client ${parts.clientMs.toFixed(1)} = outside server ${parts.outsideServerMs.toFixed(1)} + ` +
          `tokenization ${parts.tokenizationMs.toFixed(1)} + queue ${parts.queueMs.toFixed(1)} + inference ${parts.inferenceMs.toFixed(1)} + ` +
          `hand-off ${parts.handOffMs.toFixed(1)}; ${parts.computeTokens.toFixed(0)} tokens`,
      );
    }
  }
  return result;
}

async function withServer<T>(
  name: string,
  program: string | { command: readonly string[] },
  env: Record<string, string>,
  body: (server: ServerProcess) => Promise<T>,
): Promise<T> {
  const launch = typeof program === 'string' ? { script: program } : { script: '', command: program.command };
  const server = await startServer({ name, ...launch, env: { LOG_LEVEL: logLevel, ...env } });
  try {
    // Warm-up: JIT, connection set-up, ONNX Runtime's first shapes; not measured.
    await runAutocannon({
      url: server.url,
      bodies: bodies[1],
      textsPerRequest: 1,
      connections: 8,
      durationSeconds: plan.warmupSeconds,
      timeoutSeconds: plan.timeoutSeconds,
    });
    return await body(server);
  } finally {
    const code = await server.stop();
    if (code !== 0) log(`${name} exited with ${code}`);
  }
}

const closedLoop = (seconds: number): LoadSpec[] => [
  { key: 'c1', title: '1 client × 1 text', connections: 1, textsPerRequest: 1, seconds },
  { key: 'c16', title: '16 clients × 1 text', connections: 16, textsPerRequest: 1, seconds },
  { key: 'c64', title: '64 clients × 1 text', connections: 64, textsPerRequest: 1, seconds },
  { key: 'c256', title: '256 clients × 1 text', connections: 256, textsPerRequest: 1, seconds },
  // 512 texts in flight: on a slow model one answer takes longer than the 1-text runs' timeout, and the run must be
  // long enough for several answers per client (the server-side texts/s does not depend on that).
  {
    key: 'c16x32',
    title: '16 clients × 32 texts',
    connections: 16,
    textsPerRequest: 32,
    seconds: seconds * 1.5,
    timeoutSeconds: 30,
  },
];

function ratio(a: number, b: number): number {
  return b === 0 ? NaN : a / b;
}

/**
 * The default model's throughput targets: against the same service in float32, the compute ceiling of the dtype
 * it runs, the naive Node server and the Flask app (those that ran).
 */
function defaultModelTargets(scenarios: ScenarioResult[], compute: ComputeCeiling): TargetCheck[] {
  const c64Of = (server: ServerKind): number | undefined =>
    scenarios.find((s) => s.server === server && s.key === 'c64')?.load.textsPerSec;
  const service = c64Of('service') ?? NaN;
  const t = (value: number): string => `${value.toFixed(1)} texts/s`;
  const targets: TargetCheck[] = [];
  const against = (target: string, other: number | undefined, factor: number, name: string): void => {
    if (other === undefined) return;
    const ratio = service / other;
    targets.push({
      target,
      measured: `${t(service)} vs ${name} ${t(other)} = ${ratio.toFixed(2)}×`,
      met: ratio >= factor,
    });
  };
  against('≥ 2× the same service with DTYPE=fp32', c64Of('service-fp32'), 2, 'DTYPE=fp32');
  against(`≥ 0.9× compute ceiling (${compute.dtype})`, compute.ceiling.textsPerSec, 0.9, 'ceiling');
  against('≥ 3.5× naive server (fp32)', c64Of('naive'), 3.5, 'naive');
  against('≥ 40× the Flask app as written', c64Of('flask'), 40, 'Flask');
  against('≥ 4× the Flask app under gunicorn', c64Of('flask-gunicorn'), 4, 'gunicorn');
  return targets;
}

function targetsFor(model: BenchModel, scenarios: ScenarioResult[], compute: ComputeCeiling, http: ScenarioResult) {
  const find = (server: ServerKind, key: string): ScenarioResult => {
    const found = scenarios.find((s) => s.server === server && s.key === key);
    if (found === undefined) throw new Error(`no ${server} ${key} result`);
    return found;
  };
  const service = find('service', 'c64').load;
  const naive = find('naive', 'c64').load;
  const batch1 = find('service-batch-1', 'c64').load;
  const combined = 1 / (1 / http.load.textsPerSec + 1 / compute.ceiling.textsPerSec);
  const ratios = {
    serviceVsNaive: ratio(service.textsPerSec, naive.textsPerSec),
    serviceVsComputeCeiling: ratio(service.textsPerSec, compute.ceiling.textsPerSec),
    serviceVsCombinedCeiling: ratio(service.textsPerSec, combined),
    serviceVsHttpCeiling: ratio(service.textsPerSec, http.load.textsPerSec),
    serviceVsServiceBatch1: ratio(service.textsPerSec, batch1.textsPerSec),
    serviceBatch1VsNaive: ratio(batch1.textsPerSec, naive.textsPerSec),
    groupedVsUnbatchedInProcess: ratio(
      compute.ceiling.textsPerSec,
      compute.rows.find((r) => r.batchSize === 1)?.textsPerSec ?? NaN,
    ),
    combinedCeilingTextsPerSec: combined,
  };
  const x = (value: number): string => `${value.toFixed(2)}×`;
  const t = (value: number): string => `${value.toFixed(1)} texts/s`;
  const targets: TargetCheck[] = [];
  if (model.id === 'distilbert-size') {
    targets.push({
      target: '≥ 0.9× compute ceiling',
      measured: `${t(service.textsPerSec)} vs ceiling ${t(compute.ceiling.textsPerSec)} = ${x(ratios.serviceVsComputeCeiling)}`,
      met: ratios.serviceVsComputeCeiling >= 0.9,
    });
    targets.push({
      target: '≥ 1.8× naive server',
      measured: `${t(service.textsPerSec)} vs naive ${t(naive.textsPerSec)} = ${x(ratios.serviceVsNaive)}`,
      met: ratios.serviceVsNaive >= 1.8,
    });
    targets.push({
      target: 'no errors',
      measured: `${failures(service)} failed of ${service.ok + failures(service)}`,
      met: failures(service) === 0,
    });
    targets.push({
      target: 'p99 < 3 s',
      measured: `p99 ${service.latencyMs.p99.toFixed(0)} ms`,
      met: service.latencyMs.p99 < 3000,
    });
  } else {
    targets.push(...defaultModelTargets(scenarios, compute));
  }
  targets.push(...tailChecks(scenarios));
  return { ratios, targets };
}

const c64 = (seconds: number): LoadSpec => ({
  key: 'c64',
  title: '64 clients × 1 text',
  connections: 64,
  textsPerRequest: 1,
  seconds,
});

/** The other servers on the same model, each under 64 clients: naive, Flask, the service in fp32 and unbatched. */
async function baselineScenarios(model: BenchModel, seconds: number): Promise<ScenarioResult[]> {
  const env = { MODEL_DIR: model.dir };
  const results: ScenarioResult[] = [];
  const once = async (name: string, program: Parameters<typeof withServer>[1], kind: ServerKind, extra = {}) => {
    await withServer(`${name} ${model.label}`, program, { ...env, ...extra }, async (server) => {
      results.push(await measure(server, kind, c64(seconds)));
    });
  };
  if (baselines.has('naive')) await once('naive', naiveScript, 'naive');
  if (baselines.has('flask')) {
    const venv = prepareFlaskVenv(log);
    if ('skipped' in venv) {
      log(`Flask baseline skipped: ${venv.skipped}`);
      notes.push(`The Flask baseline was skipped: ${venv.skipped}.`);
    } else {
      for (const [kind, { command, env: extra }] of Object.entries(flaskCommands(venv)))
        await once(kind, { command }, kind as ServerKind, extra);
    }
  }
  if (baselines.has('batch-1'))
    await once('service MAX_BATCH_SIZE=1', serviceScript, 'service-batch-1', { MAX_BATCH_SIZE: '1' });
  // ENGINE=remote computes in float32 (Triton serves onnx/model.onnx): its comparison is the service in fp32.
  if (baselines.has('fp32') || baselines.has('remote'))
    await once('service DTYPE=fp32', serviceScript, 'service-fp32', { DTYPE: 'fp32' });
  // The Triton repository serves the embedded model only (triton/repository/).
  if (baselines.has('remote') && model.id === 'embedded') results.push(...(await remoteScenarios(env, seconds)));
  return results;
}

async function benchModel(model: BenchModel, http: ScenarioResult | undefined): Promise<ModelReport> {
  const settings = plan.perModel[model.id];
  const seconds = secondsOverride ?? settings.seconds;
  const compute = baselines.has('compute') ? await computeCeiling(model) : undefined;
  const scenarios: ScenarioResult[] = [];
  const env = { MODEL_DIR: model.dir };
  scenarios.push(...(await baselineScenarios(model, seconds)));
  const serviceSpecs = closedLoop(seconds).filter((spec) => scenarioKeys.has(spec.key));
  // --scenarios none: the baselines only (e.g. fp32 against remote), no start of the service in its default dtype.
  if (serviceSpecs.length > 0 || scenarioKeys.has('open'))
    await withServer(`service ${model.label}`, serviceScript, env, async (server) => {
      for (const spec of serviceSpecs) scenarios.push(await measure(server, 'service', spec));
      if (!scenarioKeys.has('open')) return;
      const capacity = Math.max(
        ...scenarios.filter((s) => s.server === 'service' && s.load.textsPerRequest === 1).map((s) => s.load.reqPerSec),
      );
      const rate =
        flags['open-rate'] === undefined ? Math.max(1, Math.round(capacity / 2)) : Number(flags['open-rate']);
      const openTitle = (how: string): string => `open loop ${rate} req/s (½ capacity), ${how}`;
      scenarios.push(
        await measure(server, 'service', {
          key: 'open-paced',
          title: openTitle('evenly spaced'),
          connections: 256,
          textsPerRequest: 1,
          seconds,
          open: { kind: 'paced', rate },
        }),
      );
      scenarios.push(
        await measure(server, 'service', {
          key: 'open-autocannon',
          title: openTitle('autocannon overallRate'),
          connections: 64,
          textsPerRequest: 1,
          seconds,
          open: { kind: 'autocannon', rate },
        }),
      );
    });
  const { ratios, targets } =
    complete && compute !== undefined && http !== undefined
      ? targetsFor(model, scenarios, compute, http)
      : { ratios: {}, targets: tailChecks(scenarios) };
  targets.push(...remoteTargets(scenarios));
  for (const check of targets) log(`${check.met ? 'met' : 'NOT met'}: ${check.target}: ${check.measured}`);
  return { id: model.id, label: model.label, dir: model.dir, compute, scenarios, ratios, targets };
}

/** CPU seconds per 1000 texts answered: the server's, and the model server's where there is one. */
function cpuPerThousand({ cpuSeconds, load }: ScenarioResult): string {
  const texts = load.ok * load.textsPerRequest;
  const per = (seconds: number) => ((seconds * 1000) / Math.max(1, texts)).toFixed(2);
  if (cpuSeconds === undefined) return 'not measured';
  const server = `${per(cpuSeconds.server)} s/1000 texts`;
  return cpuSeconds.modelServer === undefined
    ? server
    : `${server} in the service + ${per(cpuSeconds.modelServer)} s in the model server`;
}

/** ENGINE=remote against the CPU Triton, started here as `npm run triton` starts it, at 64 clients × 1 text. */
async function remoteScenarios(env: Record<string, string>, seconds: number): Promise<ScenarioResult[]> {
  log('starting Triton (npm run triton) for ENGINE=remote');
  const triton = await startTriton(env);
  const remote = { ...env, ENGINE: 'remote', REMOTE_ENGINE_URL: `grpc://${triton.grpcAddress}` };
  const tritonProcesses = () => processesInGroup(triton.child.pid as number);
  const spec = { key: 'c64', title: '64 clients × 1 text', connections: 64, textsPerRequest: 1 as const, seconds };
  const results: ScenarioResult[] = [];
  try {
    await withServer('service ENGINE=remote', serviceScript, remote, async (server) => {
      results.push(await measure(server, 'service-remote', spec, tritonProcesses));
    });
    await withServer(
      `service ENGINE=remote BATCH_SHAPES=${benchBatchShapes}`,
      serviceScript,
      { ...remote, BATCH_SHAPES: benchBatchShapes },
      async (server) => {
        results.push(await measure(server, 'service-remote-shapes', spec, tritonProcesses));
      },
    );
  } finally {
    await triton.stop();
  }
  return results;
}

/** Throughput over the remote hop against the in-process engine (fp32, as the remote) of the same run, and what fixed shapes cost. */
function remoteTargets(scenarios: ScenarioResult[]): TargetCheck[] {
  const find = (server: ServerKind) => scenarios.find((s) => s.server === server && s.key === 'c64');
  const [local, remote, shapes] = [find('service-fp32'), find('service-remote'), find('service-remote-shapes')];
  if (local === undefined || remote === undefined) return [];
  const vs = ratio(remote.load.textsPerSec, local.load.textsPerSec);
  const checks: TargetCheck[] = [
    {
      target: 'ENGINE=remote (CPU Triton) ≥ 0.85× the in-process engine in fp32, 64 clients × 1 text',
      measured:
        `${remote.load.textsPerSec.toFixed(1)} vs ${local.load.textsPerSec.toFixed(1)} texts/s = ${vs.toFixed(2)}×, ` +
        `${failures(remote.load)} failed; CPU ${cpuPerThousand(remote)} vs ${cpuPerThousand(local)} in-process`,
      met: vs >= 0.85 && failures(remote.load) === 0,
    },
  ];
  if (shapes?.serverSide !== undefined && remote.serverSide !== undefined) {
    checks.push({
      target: `BATCH_SHAPES=${benchBatchShapes}: padding on the benchmark sentences (reported, no target)`,
      measured:
        `mean padding per batch ${(shapes.serverSide.meanPaddingRatio * 100).toFixed(1)}% vs ` +
        `${(remote.serverSide.meanPaddingRatio * 100).toFixed(1)}% without; ${shapes.load.textsPerSec.toFixed(1)} texts/s, ` +
        `mean batch ${shapes.serverSide.meanBatchSize.toFixed(1)}, ${failures(shapes.load)} failed`,
      met: failures(shapes.load) === 0,
    });
  }
  return checks;
}

async function computeCeiling(model: BenchModel): Promise<ComputeCeiling> {
  const settings = plan.perModel[model.id];
  log(`${model.label}: compute ceiling (in-process) on ${Math.min(settings.computeTexts, texts.length)} texts`);
  const compute = await measureComputeCeiling({
    modelDir: model.dir,
    texts: texts.slice(0, Math.min(settings.computeTexts, texts.length)),
    configs: settings.computeConfigs,
    minSeconds: settings.computeMinSeconds,
  });
  for (const row of compute.rows) {
    log(
      `  ${row.layout}, batches of ${row.batchSize} ${row.order}: ${row.textsPerSec.toFixed(1)} texts/s (engine ${row.engineTextsPerSec.toFixed(1)}), padding ${(row.paddingWasted * 100).toFixed(1)}%`,
    );
  }

  log(`  ceiling ${compute.ceiling.textsPerSec.toFixed(1)} texts/s in ${compute.dtype}`);
  return compute;
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: packageRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: packageRoot,
      encoding: 'utf8',
    }).trim();
    return dirty === '' ? commit : `${commit} (with uncommitted changes)`;
  } catch {
    return 'unknown';
  }
}

/** Stage 1: the HTTP ceiling, then every model's compute ceiling, baselines and service scenarios. */
async function measureAll(): Promise<{ httpCeiling: ScenarioResult | undefined; modelReports: ModelReport[] }> {
  const models = modelIds.map((id) => prepareModel(id as BenchModel['id']));
  const httpSeconds = secondsOverride ?? plan.httpCeilingSeconds;
  const httpCeiling = baselines.has('http')
    ? await withServer('HTTP ceiling', httpCeilingScript, {}, (server) =>
        measure(server, 'http-ceiling', {
          key: 'c64',
          title: '64 clients × 1 text',
          connections: 64,
          textsPerRequest: 1,
          seconds: httpSeconds,
        }),
      )
    : undefined;
  const modelReports: ModelReport[] = [];
  for (const model of models) modelReports.push(await benchModel(model, httpCeiling));
  return { httpCeiling, modelReports };
}

/** Stage 2: the results with the machine, the settings and the notes that explain them. */
function buildReport(
  startLoad: number,
  httpCeiling: ScenarioResult | undefined,
  modelReports: ModelReport[],
  notes: string[],
): BenchReport {
  notes.push(
    'Compute ceiling = tokenization + engine on the best length-grouped batches of the texts (the whole set sorted by ' +
      'length; for the DistilBERT-size model the first 320 texts of the shuffled file), in this process with both cores ' +
      'and no HTTP. Combined ceiling = 1 / (1/HTTP ceiling + 1/compute ceiling): the two share the cores.',
    'Open loop, autocannon overallRate: autocannon lets each connection send rate/connections requests per second and ' +
      'sends them as soon as each second starts, so the load arrives as one burst per second. Evenly spaced: ' +
      'bench/paced-load.ts sends request k at start + k/rate regardless of answers and counts latency from then.',
  );
  return {
    date: new Date().toISOString(),
    command: flags.smoke
      ? 'npm run bench:smoke'
      : `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: plan.mode,
    commit: gitCommit(),
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `Linux ${release()}`,
      node: process.versions.node,
      onnxruntime: ort.env.versions.node ?? 'unknown',
      loadAverage1mAtStart: Number(startLoad.toFixed(2)),
      loadAverage1mAtEnd: Number((loadavg()[0] ?? 0).toFixed(2)),
    },
    settings: {
      texts: texts.length,
      timeoutSeconds: plan.timeoutSeconds,
      warmupSeconds: plan.warmupSeconds,
      logLevel,
      serviceEnv:
        [
          'INTRA_OP_THREADS',
          'INTER_OP_THREADS',
          'MAX_BATCH_SIZE',
          'MAX_BATCH_TOKENS',
          'MAX_PADDING_RATIO',
          'MAX_WAIT_MS',
          'BENCH_BATCH_SHAPES',
        ]
          .filter((name) => process.env[name] !== undefined)
          .map((name) => `${name}=${process.env[name]}`)
          .join(' ') || 'defaults',
    },
    httpCeiling,
    models: modelReports,
    notes,
  };
}

/** Stage 3: JSON and Markdown under --out (dated and latest-*), the Markdown on stdout too. */
function writeReport(report: BenchReport): void {
  mkdirSync(flags.out, { recursive: true });
  const stamp = report.date.replaceAll(':', '-').slice(0, 19);
  const markdown = renderMarkdown(report);
  for (const name of [`${plan.mode}-${stamp}`, `latest-${plan.mode}`]) {
    writeFileSync(join(flags.out, `${name}.json`), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(flags.out, `${name}.md`), markdown);
  }
  process.stdout.write(markdown);
  log(`wrote ${join(flags.out, `latest-${plan.mode}.{json,md}`)}`);
}

/** Stage 4: what the smoke run checks: that every part ran and answered, nothing about speed. */
function problemsOf(report: BenchReport): string[] {
  const problems: string[] = [];
  for (const result of [
    ...(report.httpCeiling === undefined ? [] : [report.httpCeiling]),
    ...report.models.flatMap((model) => model.scenarios),
  ]) {
    if (result.load.ok === 0) problems.push(`${result.server} ${result.title}: no 2xx answers`);
    if (result.load.non2xx > 0 && result.server !== 'naive')
      problems.push(`${result.server} ${result.title}: ${result.load.non2xx} non-2xx`);
  }
  for (const model of report.models) {
    if (model.compute !== undefined && !model.compute.rows.every((row) => row.textsPerSec > 0)) {
      problems.push(`${model.label}: compute ceiling measured nothing`);
    }
    // The service in its default settings, or (--scenarios none) one of its baselines.
    const service =
      model.scenarios.find((s) => s.server === 'service') ??
      model.scenarios.find((s) => s.server.startsWith('service'));
    if (service?.serverSide === undefined || service.serverSide.texts === 0)
      problems.push(`${model.label}: no batches seen in /metrics`);
  }
  return problems;
}

/** What the report should say about this run beyond its tables (skipped baselines, a busy machine). */
const notes: string[] = [];

async function main(): Promise<void> {
  const startLoad = loadavg()[0] ?? 0;
  if (startLoad > 0.7)
    notes.push(`The machine was not idle when the run started (1-min load average ${startLoad.toFixed(2)}).`);
  log(`${plan.mode} run; models ${modelIds.join(', ')}; 1-min load average ${startLoad.toFixed(2)}`);
  const { httpCeiling, modelReports } = await measureAll();
  const report = buildReport(startLoad, httpCeiling, modelReports, notes);
  writeReport(report);
  const problems = problemsOf(report);
  if (problems.length > 0) {
    log(`problems:\n  ${problems.join('\n  ')}`);
    if (plan.mode === 'smoke') process.exitCode = 1;
  }
}

await main();
