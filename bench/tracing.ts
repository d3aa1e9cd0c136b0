import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/config/package-root.js';
import { failures, type LoadResult } from './load-result.js';
import { runAutocannon } from './load-test.js';
import { loadSentences, requestBodies } from './sentences.js';
import { startServer, type ServerProcess } from './server-process.js';

/**
 * npm run bench:tracing [-- --seconds 8 --rounds 2 --connections 16]
 * The service with tracing off and with tracing on (every request sampled, OTLP http/protobuf to a local sink that
 * accepts everything), both running, measured in turns (off, on, off, on…) so drift on a shared machine falls on
 * both alike. Under a minute at the defaults. Prints a Markdown table.
 */
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '16' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);

/** An OTLP/HTTP endpoint that takes every export and answers success, counting the bytes it got. */
async function startSink(): Promise<{ endpoint: string; bytes: () => number; close: () => void }> {
  let bytes = 0;
  const sink = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    bytes: () => bytes,
    close: () => sink.close(),
  };
}

const script = join(packageRoot, 'dist', 'src', 'server.js');
const sink = await startSink();
const servers: Record<'off' | 'on', ServerProcess> = {
  off: await startServer({ name: 'tracing off', script, env: { LOG_LEVEL: 'warn' } }),
  on: await startServer({
    name: 'tracing on',
    script,
    env: { LOG_LEVEL: 'warn', OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, OTEL_TRACES_SAMPLER: 'always_on' },
  }),
};
const bodies = requestBodies(loadSentences(), 1);
const results: Record<'off' | 'on', LoadResult[]> = { off: [], on: [] };
try {
  for (const kind of ['off', 'on'] as const) {
    await runAutocannon({
      url: servers[kind].url,
      bodies,
      textsPerRequest: 1,
      connections,
      durationSeconds: 2,
      timeoutSeconds: 10,
    });
  }
  for (let round = 0; round < rounds; round += 1) {
    for (const kind of ['off', 'on'] as const) {
      results[kind].push(
        await runAutocannon({
          url: servers[kind].url,
          bodies,
          textsPerRequest: 1,
          connections,
          durationSeconds: seconds,
          timeoutSeconds: 10,
        }),
      );
    }
  }
} finally {
  await Promise.all([servers.off.stop(), servers.on.stop()]);
  sink.close();
}

const fmt = (value: number, digits = 1): string =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(`| tracing | texts/s per run | p50 / p99 ms per run | failed |`);
console.log(`|---|---|---|---|`);
for (const kind of ['off', 'on'] as const) {
  const runs = results[kind];
  console.log(
    `| ${kind === 'off' ? 'off (no endpoint)' : 'on, all sampled, OTLP to a local sink'} | ${runs.map((r) => fmt(r.textsPerSec, 0)).join(', ')} | ` +
      `${runs.map((r) => `${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p99)}`).join(', ')} | ${runs.reduce((sum, r) => sum + failures(r), 0)} |`,
  );
}
console.log(
  `\n${connections} connections, one text per request, ${seconds} s per run, ${rounds} rounds; the sink received ${fmt(sink.bytes() / 1024, 0)} KiB of spans.`,
);
