/** A V8 .cpuprofile (what node --cpu-prof writes), reduced to what the breakdown needs. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  /** Microseconds, CLOCK_MONOTONIC (the clock of process.hrtime), like timeDeltas' running sum. */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Rule {
  category: string;
  matches(functionName: string, url: string): boolean;
}

const has =
  (...parts: string[]) =>
  (_: string, url: string) =>
    parts.some((part) => url.includes(part));

/**
 * Rules for where one sample's time goes, tried frame by frame from the leaf up: the innermost frame that one of
 * these names decides. So JSON.parse inside secure-json-parse counts as JSON, a Node stream write under pino as
 * logging, and ONNX Runtime's native run (called from onnxruntime-node's backend) as inference.
 */
const specificRules: Rule[] = [
  { category: 'ORT inference (session.run, native)', matches: has('onnxruntime-node/dist/backend.js') },
  {
    category: 'tensor building (engine feeds, ORT JS wrapper)',
    matches: has('/engine/onnx-engine.js', 'onnxruntime-common'),
  },
  {
    category: 'tokenization',
    matches: has('@huggingface/tokenizers', '@huggingface/transformers', '/model/tokenizer.js'),
  },
  { category: 'JSON parse', matches: has('secure-json-parse') },
  { category: 'validation (ajv)', matches: has('fastify/lib/validation.js', '/ajv/') },
  {
    category: 'serialization (fast-json-stringify)',
    matches: (name, url) =>
      url.includes('fast-json-stringify') || (url.includes('fastify/lib/') && /serializ/i.test(name)),
  },
  { category: 'logging (pino)', matches: has('/pino/', 'sonic-boom', 'thread-stream', '/request-log.js') },
  { category: 'metrics (prom-client)', matches: has('prom-client', '/plugins/http-metrics.js', '/src/metrics.js') },
  { category: 'batcher + postprocess', matches: has('/batching/', '/inference/') },
  { category: 'route handler', matches: has('/routes/analyze.js') },
];

const genericRules: Rule[] = [
  { category: 'GC', matches: (name) => name === '(garbage collector)' },
  { category: 'idle', matches: (name) => name === '(idle)' },
  {
    category: 'Fastify core (routing, hooks, reply)',
    matches: has('/fastify/', 'find-my-way', 'avvio', 'light-my-request'),
  },
  { category: 'Node HTTP, net, streams, timers', matches: (_, url) => url.startsWith('node:') },
  { category: 'V8/native (program)', matches: (name) => name === '(program)' },
];

export interface BreakdownRow {
  category: string;
  ms: number;
  /** Share of the main thread's non-idle time. */
  share: number;
  microsPerText: number;
}

export interface ProfileBreakdown {
  windowSeconds: number;
  texts: number;
  busyShare: number;
  rows: BreakdownRow[];
}

/**
 * Main-thread time by category within [fromMicros, toMicros) (monotonic µs), per text processed in that window.
 * ONNX Runtime's run is synchronous on the main thread (its pool threads help), so its wall time shows here too.
 */
export function breakdown(profile: CpuProfile, fromMicros: number, toMicros: number, texts: number): ProfileBreakdown {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const categoryOf = new Map<number, string>();
  const classify = (leaf: number): string => {
    const cached = categoryOf.get(leaf);
    if (cached !== undefined) return cached;
    let found: string | undefined;
    for (const rules of [specificRules, genericRules]) {
      for (let id: number | undefined = leaf; id !== undefined && found === undefined; id = parent.get(id)) {
        const frame = nodes.get(id)?.callFrame;
        if (frame !== undefined) found = rules.find((rule) => rule.matches(frame.functionName, frame.url))?.category;
      }
      if (found !== undefined) break;
    }
    const category = found ?? 'other JS';
    categoryOf.set(leaf, category);
    return category;
  };

  const totals = new Map<string, number>();
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0;
    // A sample's time is the gap to the next one.
    const duration = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (time < fromMicros || time >= toMicros) continue;
    const category = classify(profile.samples[i] as number);
    totals.set(category, (totals.get(category) ?? 0) + duration);
  }
  const idle = totals.get('idle') ?? 0;
  const all = [...totals.values()].reduce((sum, ms) => sum + ms, 0);
  const busy = all - idle;
  const rows = [...totals.entries()]
    .filter(([category]) => category !== 'idle')
    .map(([category, ms]) => ({
      category,
      ms,
      share: busy === 0 ? 0 : ms / busy,
      microsPerText: texts === 0 ? 0 : (ms * 1000) / texts,
    }))
    .sort((a, b) => b.ms - a.ms);
  return { windowSeconds: (toMicros - fromMicros) / 1e6, texts, busyShare: all === 0 ? 0 : busy / all, rows };
}

export type { CpuProfile };
