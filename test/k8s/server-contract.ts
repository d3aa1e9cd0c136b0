// The server's externally visible contract that the deployment depends on (issue: service core).
// Kept in one place so the manifests, the alerts and the dashboard are checked against the same list;
// test/k8s/server-contract.test.ts checks this list against the real server.

import { settings } from '../../src/config/config.js';
import { rejectionReasons } from '../../src/errors/rejections.js';

export const serverContract = {
  defaultPort: 5000,
  /** Routes the manifests may point at (probes, Ingress, ServiceMonitor). */
  routes: {
    GET: ['/healthz', '/readyz', '/info', '/metrics', '/docs', '/docs/json'],
    POST: ['/analyze'],
  },
  livenessPath: '/healthz',
  readinessPath: '/readyz',
  metricsPath: '/metrics',
  /** Env vars the server reads (its settings table); a ConfigMap key outside this list is a typo or a stale setting. */
  envVars: settings.map((setting) => setting.env),
  /** Standard OpenTelemetry variables the manifests may set; read by the OpenTelemetry SDK, not the settings table. */
  otelEnvVars: [
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'OTEL_EXPORTER_OTLP_PROTOCOL',
    'OTEL_SERVICE_NAME',
    'OTEL_TRACES_SAMPLER',
    'OTEL_TRACES_SAMPLER_ARG',
  ],
  defaults: { BODY_LIMIT_BYTES: 1048576, SHUTDOWN_TIMEOUT_MS: 10000, REQUEST_TIMEOUT_MS: 30000 },
  devices: ['cpu', 'cuda'],
  /** Our own metrics, by type. Histograms are exported as _bucket, _sum and _count series. */
  metrics: {
    histogram: [
      'sentiment_http_request_duration_seconds',
      'sentiment_queue_wait_seconds',
      'sentiment_batch_size',
      'sentiment_batch_padded_tokens',
      'sentiment_batch_padding_ratio',
      'sentiment_inference_duration_seconds',
    ],
    counter: [
      'sentiment_texts_processed_total',
      'sentiment_engine_seconds_total',
      'sentiment_batches_ahead_of_long_total',
      'sentiment_rejections_total',
      'sentiment_auth_failures_total',
    ],
    gauge: ['sentiment_queue_depth', 'sentiment_queue_capacity', 'sentiment_model_info'],
  },
  /** prom-client default metrics the dashboard uses (unprefixed, standard names). */
  defaultMetrics: ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds'],
  /** The service's own list (src/errors/rejections.ts); server-contract.test.ts checks the live server exports each. */
  rejectionReasons,
} as const;

/** Every series name the server exports for our own metrics. */
export function exportedSeriesNames(): Set<string> {
  const names = new Set<string>();
  for (const h of serverContract.metrics.histogram) for (const s of ['_bucket', '_sum', '_count']) names.add(h + s);
  for (const c of serverContract.metrics.counter) names.add(c);
  for (const g of serverContract.metrics.gauge) names.add(g);
  for (const d of serverContract.defaultMetrics) names.add(d);
  return names;
}
