import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatcherObserver, BatchReport } from '../queue/batcher.js';
import { authFailureReasons, type AuthFailureReason } from '../auth/auth-failure.js';
import { rejectionReasons, type RejectionReason } from '../errors/rejections.js';
import { clientClasses, type ClientClass } from '../inference/admission.js';

export interface ModelInfoLabels {
  model: string;
  engine: string;
  device: string;
  backend: string;
}

/** Every metric the service exports (names are a contract with dashboards and alerts), on its own registry. */
export class ServiceMetrics implements BatcherObserver {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'sentiment_http_request_duration_seconds',
    help: 'HTTP request duration, from request received to response sent',
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly grpcDuration = new Histogram({
    name: 'sentiment_grpc_request_duration_seconds',
    help: 'gRPC call duration, from call received to answer sent',
    labelNames: ['method', 'code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly textsProcessed = new Counter({
    name: 'sentiment_texts_processed_total',
    help: 'Texts run through the model',
    registers: [this.registry],
  });
  private readonly queueDepth = new Gauge({
    name: 'sentiment_queue_depth',
    help: 'Texts waiting for a batch',
    registers: [this.registry],
  });
  private readonly queueCapacity = new Gauge({
    name: 'sentiment_queue_capacity',
    help: 'Most texts that may wait (MAX_QUEUE); beyond it requests are refused',
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: 'sentiment_queue_wait_seconds',
    help: 'Time a text waited in the queue before its batch started',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({
    name: 'sentiment_batch_size',
    help: 'Texts per batch',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  private readonly batchPaddedTokens = new Histogram({
    name: 'sentiment_batch_padded_tokens',
    help: 'Tokens computed per batch: longest text x texts',
    buckets: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768],
    registers: [this.registry],
  });
  private readonly batchPaddingRatio = new Histogram({
    name: 'sentiment_batch_padding_ratio',
    help: 'Share of a batch’s padded tokens that are padding, not text',
    buckets: [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
    registers: [this.registry],
  });
  private readonly inferenceDuration = new Histogram({
    name: 'sentiment_inference_duration_seconds',
    help: 'Engine time per batch',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly engineSeconds = new Counter({
    name: 'sentiment_engine_seconds_total',
    help: 'Engine time, by whether the batch held a long text (LONG_TEXT_TOKENS)',
    labelNames: ['texts'] as const,
    registers: [this.registry],
  });
  private readonly batchesAheadOfLong = new Counter({
    name: 'sentiment_batches_ahead_of_long_total',
    help: 'Batches of short texts run ahead of an older long text held back by LONG_TEXT_SHARE',
    registers: [this.registry],
  });
  private readonly rejections = new Counter({
    name: 'sentiment_rejections_total',
    help: 'Requests refused or abandoned, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** Read when scraped: what watchClients was given, until then none. */
  private clientsByClass: () => Record<ClientClass, number> = () => ({ light: 0, heavy: 0 });
  private readonly clientsWaiting = new Gauge({
    name: 'sentiment_clients_waiting',
    help: 'Clients with texts admitted and not yet answered, by class: heavy while holding half their share of the queue (MAX_QUEUE_PER_CLIENT)',
    labelNames: ['client_class'] as const,
    registers: [this.registry],
    collect: () => {
      const counts = this.clientsByClass();
      for (const clientClass of clientClasses)
        this.clientsWaiting.set({ client_class: clientClass }, counts[clientClass]);
    },
  });
  private readonly authFailures = new Counter({
    name: 'sentiment_auth_failures_total',
    help: 'Requests refused for a missing or wrong API key, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly modelInfo = new Gauge({
    name: 'sentiment_model_info',
    help: 'The model being served (always 1)',
    labelNames: ['model', 'engine', 'device', 'backend'] as const,
    registers: [this.registry],
  });

  constructor(options: { queueCapacity: number; model: ModelInfoLabels }) {
    collectDefaultMetrics({ register: this.registry });
    this.queueCapacity.set(options.queueCapacity);
    this.modelInfo.set(options.model, 1);
    // Every reason exists from the start, so rate() and alerts see a 0 rather than no series.
    for (const reason of rejectionReasons) this.rejections.inc({ reason }, 0);
    for (const reason of authFailureReasons) this.authFailures.inc({ reason }, 0);
    for (const texts of ['short', 'long']) this.engineSeconds.inc({ texts }, 0);
  }

  queueDepthChanged(depth: number): void {
    this.queueDepth.set(depth);
  }

  batchCompleted(report: BatchReport): void {
    this.textsProcessed.inc(report.size);
    this.batchSize.observe(report.size);
    this.batchPaddedTokens.observe(report.paddedTokens);
    this.batchPaddingRatio.observe(report.paddingRatio);
    this.inferenceDuration.observe(report.inferenceSeconds);
    this.engineSeconds.inc({ texts: report.long ? 'long' : 'short' }, report.inferenceSeconds);
    if (report.aheadOfLong) this.batchesAheadOfLong.inc();
    for (const seconds of report.queueWaitSeconds) this.queueWait.observe(seconds);
  }

  /** Where sentiment_clients_waiting is read from (the classifier's admission). */
  watchClients(clientsByClass: () => Record<ClientClass, number>): void {
    this.clientsByClass = clientsByClass;
  }

  rejected(reason: RejectionReason): void {
    this.rejections.inc({ reason });
  }

  authFailed(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }

  httpRequestCompleted(route: string, method: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ route, method, status_code: String(statusCode) }, seconds);
  }

  /** code: the gRPC status's name (OK, RESOURCE_EXHAUSTED, ...). */
  grpcCallCompleted(method: string, code: string, seconds: number): void {
    this.grpcDuration.observe({ method, code }, seconds);
  }
}
