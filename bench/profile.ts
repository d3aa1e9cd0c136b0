import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/config/package-root.js';
import { benchModelIds, prepareModel, type BenchModel } from './bench-models.js';
import { breakdown, type CpuProfile } from './cpu-profile-breakdown.js';
import { runAutocannon } from './load-test.js';
import { waitForIdle } from './process-cpu.js';
import { loadSentences, requestBodies } from './sentences.js';
import { scrapeMetrics, serverSideStats } from './server-metrics.js';
import { startServer } from './server-process.js';

/**
 * npm run bench:profile -- [--model embedded|distilbert-size] [--seconds 20] [--connections 64]
 *
 * Runs the service under `node --cpu-prof`, loads it with autocannon, and breaks the main thread's time during
 * the load down by category (JSON parse, validation, tokenization, tensor building, ONNX Runtime, serialization,
 * logging, ...), per text. Service settings come from the environment (e.g. INTRA_OP_THREADS=1).
 */
const { values: flags } = parseArgs({
  options: {
    model: { type: 'string', default: 'embedded' },
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    out: { type: 'string', default: join(packageRoot, 'bench', 'results', 'profile') },
  },
});
if (!(benchModelIds as readonly string[]).includes(flags.model))
  throw new Error(`--model: one of ${benchModelIds.join(', ')}`);
const model = prepareModel(flags.model as BenchModel['id']);
const seconds = Number(flags.seconds);
const connections = Number(flags.connections);
const profileDir = join(flags.out, `cpuprofile-${model.id}`);
rmSync(profileDir, { recursive: true, force: true });
mkdirSync(profileDir, { recursive: true });

const bodies = requestBodies(loadSentences(), 1);
const server = await startServer({
  name: 'service (profiled)',
  script: fileURLToPath(new URL('../src/server.js', import.meta.url)),
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  env: { MODEL_DIR: model.dir, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' },
});
const common = { url: server.url, bodies, textsPerRequest: 1, timeoutSeconds: 10 };
await runAutocannon({ ...common, connections: 8, durationSeconds: 3 });
await waitForIdle(server.pid);
const before = await scrapeMetrics(server.url);
const from = Number(process.hrtime.bigint() / 1000n);
const load = await runAutocannon({ ...common, connections, durationSeconds: seconds });
const to = Number(process.hrtime.bigint() / 1000n);
const after = await scrapeMetrics(server.url);
await server.stop();
if (before === undefined || after === undefined) throw new Error('could not scrape /metrics');
const stats = serverSideStats(before, after, (to - from) / 1e6);

const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
if (file === undefined) throw new Error(`no .cpuprofile in ${profileDir}`);
const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
const result = breakdown(profile, from, to, stats.texts);

const settings =
  ['INTRA_OP_THREADS', 'MAX_BATCH_SIZE', 'MAX_PADDING_RATIO', 'MAX_WAIT_MS']
    .filter((name) => process.env[name] !== undefined)
    .map((name) => `${name}=${process.env[name]}`)
    .join(' ') || 'default settings';
const lines = [
  `CPU profile of the service's main thread, ${model.label}, ${connections} clients × 1 text for ${seconds} s, ${settings}; ` +
    `${load.textsPerSec.toFixed(1)} texts/s, mean batch ${stats.meanBatchSize.toFixed(1)}, main thread busy ` +
    `${(result.busyShare * 100).toFixed(0)}% of the window; 1-min load average ${(loadavg()[0] ?? 0).toFixed(2)}.`,
  '',
  '| where | µs per text | share of busy main thread |',
  '|---|---|---|',
  ...result.rows.map(
    (row) => `| ${row.category} | ${row.microsPerText.toFixed(0)} | ${(row.share * 100).toFixed(1)}% |`,
  ),
  `| **total busy** | **${result.rows.reduce((sum, row) => sum + row.microsPerText, 0).toFixed(0)}** | |`,
];
const markdown = lines.join('\n') + '\n';
writeFileSync(join(flags.out, `profile-${model.id}.md`), markdown);
writeFileSync(
  join(flags.out, `profile-${model.id}.json`),
  JSON.stringify({ model: model.label, settings, load, stats, breakdown: result }, null, 2) + '\n',
);
process.stdout.write(markdown);
process.stderr.write(`profile: ${join(profileDir, file)}\n`);
