import { Counter, Gauge, Histogram, type Metric } from 'prom-client';

/** What ENGINE=remote adds to /metrics; the app registers these on the service's registry. */
export class RemoteMetrics {
  readonly duration = new Histogram({
    name: 'sentiment_remote_request_duration_seconds',
    help: 'ModelInfer calls to the remote model server, from sent to answered (successful calls)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  });
  readonly errors = new Counter({
    name: 'sentiment_remote_errors_total',
    help: 'ModelInfer calls to the remote model server that failed, by gRPC status name',
    labelNames: ['code'] as const,
    registers: [],
  });
  readonly available = new Gauge({
    name: 'sentiment_remote_available',
    help: '1 while the remote model server answers and its model is ready, else 0',
    registers: [],
  });

  get all(): Metric[] {
    return [this.duration, this.errors, this.available];
  }
}
