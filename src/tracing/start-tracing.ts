import type { Tracer } from '@opentelemetry/api';
import { packageVersion } from '../config/package-root.js';
import { tracingRequested } from './tracing-env.js';

export interface Tracing {
  tracer: Tracer;
  /**
   * Exports the spans still buffered, then stops; gives up after timeoutMs (the spans left are lost), so a collector
   * that does not answer cannot hold the process past its termination grace period.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

export const defaultServiceName = 'sentiment-inference';

/**
 * Starts the OpenTelemetry SDK for traces when the environment asks for them (tracingRequested); otherwise returns
 * undefined without loading the SDK, so a service without a collector pays nothing. Traces only: metrics stay on
 * /metrics (Prometheus) and logs on stdout, so the SDK's own metric and log exporters are left off. Export runs in
 * the background (batch span processor, bounded queue): a collector that is down or slow drops spans, never answers.
 */
export async function startTracing(env: NodeJS.ProcessEnv): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { trace } = await import('@opentelemetry/api');
  const named =
    (env.OTEL_SERVICE_NAME ?? '').trim() !== '' || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const sdk = new NodeSDK({
    serviceName: named ? undefined : defaultServiceName,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return {
    tracer: trace.getTracer(defaultServiceName, packageVersion),
    shutdown: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`trace export did not finish within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([sdk.shutdown(), gaveUp]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
