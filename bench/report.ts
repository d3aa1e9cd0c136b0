import type { ComputeCeiling } from './compute-ceiling.js';
import { failures, type LoadResult } from './load-result.js';
import type { ServerSideStats } from './server-metrics.js';
import { timingGroups } from './timing-breakdown.js';

export type ServerKind =
  | 'service'
  | 'naive'
  | 'flask'
  | 'flask-gunicorn'
  | 'http-ceiling'
  | 'service-batch-1'
  | 'service-fp32'
  | 'service-remote'
  | 'service-remote-shapes';

export interface ScenarioResult {
  server: ServerKind;
  /** Stable key: c1, c16, c64, c256, c16x32, open-autocannon, open-paced. */
  key: string;
  title: string;
  load: LoadResult;
  serverSide?: ServerSideStats;
  peakRssBytes?: number;
  /** CPU seconds used during the load run: the server's process, and a model server's (ENGINE=remote) beside it. */
  cpuSeconds?: { server: number; modelServer?: number };
  loadAverage1m: number;
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

export interface ModelReport {
  id: string;
  label: string;
  dir: string;
  compute: ComputeCeiling | undefined;
  scenarios: ScenarioResult[];
  ratios: Record<string, number>;
  targets: TargetCheck[];
}

export interface BenchReport {
  date: string;
  command: string;
  mode: 'full' | 'smoke';
  commit: string;
  machine: Record<string, string | number>;
  settings: Record<string, string | number>;
  httpCeiling: ScenarioResult | undefined;
  models: ModelReport[];
  notes: string[];
}

const serverNames: Record<ServerKind, string> = {
  service: 'service',
  naive: 'naive (pipeline per request)',
  flask: 'Flask app as written (app.run, transformers pipeline, PyTorch fp32)',
  'flask-gunicorn': 'Flask app under gunicorn, 2 workers × 1 thread',
  'http-ceiling': 'HTTP ceiling (no model)',
  'service-batch-1': 'service, MAX_BATCH_SIZE=1',
  'service-fp32': 'service, DTYPE=fp32',
  'service-remote': 'service, ENGINE=remote (CPU Triton)',
  'service-remote-shapes': 'service, ENGINE=remote, BATCH_SHAPES',
};

function fixed(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function percent(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(digits)}%`;
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
}

function failureCell(load: LoadResult): string {
  if (failures(load) === 0) return '0';
  const parts = [];
  if (load.non2xx > 0) {
    const codes = Object.entries(load.statusCodes).filter(([code]) => !code.startsWith('2'));
    parts.push(codes.map(([code, count]) => `${count}×${code}`).join(' '));
  }
  if (load.timeouts > 0) parts.push(`${load.timeouts} timeouts`);
  if (load.errors > 0) parts.push(`${load.errors} errors`);
  return parts.join(', ');
}

function scenarioRow(model: string, result: ScenarioResult): string {
  const { load, serverSide } = result;
  const mib = result.peakRssBytes === undefined ? '–' : fixed(result.peakRssBytes / 2 ** 20, 0);
  return [
    model,
    serverNames[result.server],
    result.title,
    fixed(load.reqPerSec),
    fixed(load.textsPerSec),
    serverSide === undefined ? '–' : fixed(serverSide.textsPerSec),
    ms(load.latencyMs.p50),
    ms(load.latencyMs.p90),
    ms(load.latencyMs.p99),
    failureCell(load),
    serverSide === undefined ? '–' : fixed(serverSide.meanBatchSize),
    serverSide === undefined ? '–' : percent(serverSide.meanPaddingRatio),
    serverSide === undefined ? '–' : percent(serverSide.engineBusyShare),
    mib,
    fixed(result.loadAverage1m, 2),
  ].join(' | ');
}

/** Where the open-loop requests' time went, from the service's timing headers (mean ms per request). */
function breakdownTable(report: BenchReport): string[] {
  const rows: string[] = [];
  for (const model of report.models) {
    for (const result of model.scenarios) {
      const breakdown = result.load.breakdown;
      if (breakdown === undefined) continue;
      for (const [group, parts] of timingGroups(breakdown)) {
        rows.push(
          `| ${model.label} | ${result.title} | ${group} (${parts.requests}) | ${ms(parts.clientMs)} | ${ms(parts.outsideServerMs)} | ` +
            `${ms(parts.tokenizationMs)} | ${ms(parts.queueMs)} | ${ms(parts.inferenceMs)} | ${ms(parts.handOffMs)} | ${fixed(parts.computeTokens, 0)} |`,
        );
      }
    }
  }
  if (rows.length === 0) return [];
  return [
    '',
    "**Where the time goes** (one client, and the evenly spaced open loop; sentences ≤ 64 tokens, reviews longer; mean ms per request from the service's timing headers, which " +
      'truncate to whole ms; outside server = client latency − x-total-time: connection wait, event loop, load generator; ' +
      'hand-off = x-total-time − tokenization − queue − inference: messages to the tokenizer and engine threads, routing, serialization):',
    '',
    '| model | scenario | requests | client | outside server | tokenization | queue | inference | hand-off | tokens |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
}

export function renderMarkdown(report: BenchReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(
    `Measured ${report.date} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB, no GPU), ${m.os}, Node ${m.node}, ` +
      `onnxruntime-node ${m.onnxruntime}; commit ${report.commit}; \`${report.command}\` (${report.mode} run); service settings: ${report.settings.serviceEnv}, log level ${report.settings.logLevel}.`,
  );
  lines.push('');
  lines.push(
    "**Compute ceiling**: the service's tokenizer and engine in one process, no HTTP, batches formed from the whole text set; " +
      "each in two engine layouts (one copy using every CPU as a thread, and the service's own), the ceiling being the best grouped row; " +
      'in the dtype the service runs (DTYPE resolved as the server resolves it).',
  );
  lines.push('');
  lines.push(
    '| model | dtype | engine layout | batches of | order | texts/s (tokenize + engine) | engine only | padding wasted |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const model of report.models) {
    for (const row of model.compute?.rows ?? []) {
      const best = row === model.compute?.ceiling ? ' **(ceiling)**' : '';
      lines.push(
        `| ${model.label} | ${model.compute?.dtype ?? '–'} | ${row.layout} | ${row.batchSize} | ${row.batchSize === 1 ? '–' : row.order === 'grouped' ? 'grouped by length' : 'arrival'} | ` +
          `${fixed(row.textsPerSec)}${best} | ${fixed(row.engineTextsPerSec)} | ${percent(row.paddingWasted, 1)} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    '**Over HTTP** (autocannon on 127.0.0.1, same machine; texts/s answered 2xx; latency in ms over 2xx answers; ' +
      'computed texts/s, mean batch, padding (mean per batch) and engine busy (time in the engine over the run, summed over engine copies, so up to 100% × ENGINE_INSTANCES) from the ' +
      "service's /metrics; load = 1-min load average after the run):",
  );
  lines.push('');
  lines.push(
    '| model | server | scenario | req/s | texts/s | computed texts/s | p50 | p90 | p99 | failed | mean batch | padding | engine busy | peak RSS MiB | load |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  if (report.httpCeiling !== undefined) lines.push(`| ${scenarioRow('–', report.httpCeiling)} |`);
  for (const model of report.models) {
    for (const result of model.scenarios) lines.push(`| ${scenarioRow(model.label, result)} |`);
  }
  lines.push(...breakdownTable(report));
  lines.push('');
  lines.push('**Targets** (64 clients, 1 text per request, unless said otherwise):');
  lines.push('');
  lines.push('| model | target | measured | met |');
  lines.push('|---|---|---|---|');
  for (const model of report.models) {
    for (const check of model.targets)
      lines.push(`| ${model.label} | ${check.target} | ${check.measured} | ${check.met ? 'yes' : '**no**'} |`);
  }
  if (report.notes.length > 0) {
    lines.push('');
    for (const note of report.notes) lines.push(`- ${note}`);
  }
  return lines.join('\n') + '\n';
}
