import { Service } from '../../src/service.js';
import { testConfig } from './config.js';
import { GatedEngine } from './gated-engine.js';
import { loadRealModel } from './real-model.js';

export interface RunningApp {
  /** The whole server (HTTP, and gRPC with GRPC_PORT); close() shuts it down as SIGTERM does. */
  service: Service;
  /** Base URL of the listening server, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The real engine (ENGINE of the test run, see testEngine) of the embedded model, behind a gate the test can close. */
  engine: GatedEngine;
}

/** The real service on the real model, listening on a free local port, configured by env-style settings. */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  const { model, engine: real } = await loadRealModel(env);
  const engine = new GatedEngine(real);
  const service = await Service.start({ config: testConfig(env), model, engine });
  const url = await service.listen({ port: 0, host: '127.0.0.1' });
  return { service, url, engine };
}

/** The value of one sample of a metric in Prometheus text format (labels written as in the exposition). */
export async function metricValue(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  if (line === undefined) throw new Error(`no sample ${sample} in /metrics`);
  return Number(line.slice(sample.length + 1));
}
