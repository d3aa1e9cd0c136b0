import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Tracer } from '@opentelemetry/api';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp, type HttpTransport } from './app.js';
import { ApiKeyStore } from './auth/api-key-store.js';
import type { Config } from './config/config.js';
import { startGrpcServer, type RunningGrpcServer } from './grpc/grpc-server.js';
import type { InferenceStack } from './inference/inference-stack.js';
import { Inference } from './inference/inference.js';
import type { ServiceMetrics } from './metrics/metrics.js';
import { platformOf } from './open-inference/protocol.js';
import { startServiceStack, type ServiceStackOptions } from './service-stack.js';

export type ServiceOptions = ServiceStackOptions;

/** Where the service listens: HTTP here, gRPC on config.grpcPort when set. */
export interface ListenAddress {
  port: number;
  host: string;
}

/** API_KEYS / API_KEY_FILE read before the model loads, so an unreadable key file fails the start at once. */
function apiKeyStoreOf(config: Config, log: () => FastifyBaseLogger | undefined): ApiKeyStore | undefined {
  if ((config.apiKeys ?? []).length === 0 && config.apiKeyFile === undefined) return undefined;
  return new ApiKeyStore({
    keys: config.apiKeys,
    file: config.apiKeyFile,
    // The keys in force stay until the file reads again; a problem is logged once the logger exists.
    onReloadError: (error) =>
      log()?.warn(
        { file: config.apiKeyFile, reason: error.message },
        'API key file unreadable; keeping the keys in force',
      ),
  });
}

/** What started, so the log shows which weights file and why (DTYPE=auto picks per directory and device). */
function logEngineReady(log: FastifyBaseLogger, stack: InferenceStack): void {
  const { model, engine, layout } = stack;
  log.info(
    {
      model: model.name,
      file: relative(model.dir, model.weightsPath),
      dtype: model.dtype,
      dtypeReason: model.dtypeReason,
      engine: engine.kind,
      device: engine.device,
      backend: engine.backend,
      thread: layout.thread,
      instances: engine.instances,
      intraOpThreads: layout.intraOpThreads,
    },
    'engine ready',
  );
  for (const reason of engine.skippedBackends) {
    // An absent optional package is expected; one that is installed but cannot run is worth a warning.
    if (/ is not installed$/.test(reason)) log.info({ skipped: reason }, 'engine backend not installed');
    else log.warn({ skipped: reason }, 'engine backend installed but unusable, fell back');
  }
}

/**
 * The server: one Inference with HTTP and gRPC on it, and the one owner of their lifecycle. Shutdown goes in order:
 * stop taking work (HTTP answers 503 with its listener still open; gRPC stops accepting calls), drain what each had
 * accepted, close the listeners, and only then close the inference call and its engine.
 */
export class Service {
  private grpc: RunningGrpcServer | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly config: Config,
    readonly inference: Inference,
    private readonly metrics: ServiceMetrics,
    private readonly transport: HttpTransport,
    private readonly apiKeys: ApiKeyStore | undefined,
    private readonly tracer: Tracer | undefined,
  ) {}

  /** Loads the model and warms up the engine, then builds the transports on it; nothing listens yet. */
  static async start(options: ServiceOptions): Promise<Service> {
    const { config } = options;
    let log: FastifyBaseLogger | undefined;
    const apiKeys = apiKeyStoreOf(config, () => log);
    const stack = await startServiceStack(options);
    const { classifier, metrics, layout } = stack;
    const inference = new Inference(classifier, config);
    metrics.watchClients(() => classifier.admission.clientsByClass());
    const transport = await buildApp({ config, inference, metrics, layout, apiKeys, tracer: options.tracer });
    log = transport.app.log;
    logEngineReady(log, stack);
    if (apiKeys !== undefined)
      log.info({ keys: apiKeys.size, file: config.apiKeyFile ?? null }, 'API keys required on inference routes');
    return new Service(config, inference, metrics, transport, apiKeys, options.tracer);
  }

  /** The HTTP transport (Fastify): its routes, its logger, inject() for tests. */
  get http(): FastifyInstance {
    return this.transport.app;
  }

  /** host:port the gRPC server bound (the system's choice with GRPC_PORT=0), once listening; undefined without it. */
  get grpcAddress(): string | undefined {
    return this.grpc?.address;
  }

  /** Starts gRPC (when GRPC_PORT is set) and HTTP on the same inference call; resolves with HTTP's URL. */
  async listen(address: ListenAddress): Promise<string> {
    const { config, inference, http } = this;
    if (config.grpcPort !== undefined) {
      this.grpc = await startGrpcServer({
        inference,
        metrics: this.metrics,
        host: address.host,
        port: config.grpcPort,
        maxMessageBytes: config.bodyLimitBytes,
        apiKeys: this.apiKeys,
        clientIdHeader: config.clientIdHeader,
        platform: platformOf(inference.classifier.engine.kind),
        log: http.log,
        tracer: this.tracer,
      });
      http.log.info({ grpcAddress: this.grpc.address }, 'gRPC listening');
    }
    return http.listen(address);
  }

  /** Shuts down in order (see the class); once, however often it is called. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    // The accepted work comes first, with no deadline but SHUTDOWN_TIMEOUT_MS's; the settling after it (see HttpDrain)
    // gets until half of that, leaving the rest to close.
    const settleUntil = performance.now() + this.config.shutdownTimeoutMs / 2;
    // Refuse new work and stop waiting for fuller batches. Submissions of admitted requests are still taken: one
    // accepted before the signal may finish receiving its body during the drain.
    void this.inference.drain();
    // The HTTP listener stays open meanwhile: closing it first resets every connection still in the kernel's accept
    // queue, where requests would otherwise be read and refused with a 503 that a client can retry elsewhere.
    await Promise.all([this.transport.drain(settleUntil), this.grpc?.drain(settleUntil)]);
    await this.http.close();
    // Every accepted request has been answered by now, so this only refuses stragglers and releases the engine.
    await this.inference.classifier.close();
  }
}
