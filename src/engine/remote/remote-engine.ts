import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { Metric } from 'prom-client';
import type { Config } from '../../config/config.js';
import type { Device } from '../engine-choices.js';
import { EngineUnavailableError } from '../../errors/rejections.js';
import type { Model } from '../../model/model.js';
import { shapeForLengths } from '../../queue/batch-shapes.js';
import type { FixedShape } from '../../config/config.js';
import type { Engine, RunContext } from '../engine.js';
import { padBatch, type PackedBatch } from '../packed-batch.js';
import { warmUp } from '../warm-up.js';
import { isUnreachable, RemoteClient } from './remote-client.js';
import { checkRemoteModel, RemoteEngineError, type RemoteContract } from './remote-contract.js';
import { RemoteMetrics } from './remote-metrics.js';
import { decodeLogits, encodeTokenInputs } from './token-tensors.js';

export type RemoteEngineConfig = Pick<
  Config,
  | 'remoteEngineUrl'
  | 'remoteModel'
  | 'remoteModelVersion'
  | 'remoteCaFile'
  | 'remoteToken'
  | 'remoteWaitMs'
  | 'requestTimeoutMs'
  | 'engineInstances'
  | 'device'
  | 'maxBatchSize'
  | 'batchShapes'
>;

/** How often the model server's readiness is asked, to notice it leave while idle and come back while refused. */
const probeIntervalMs = 1000;
/** Each start-up and probe call's own bound. */
const probeTimeoutMs = 1000;
/**
 * Probes in a row that may run out of time before the server counts as gone: a server busy computing on a crowded
 * machine may answer one late, while a dead one is refused (UNAVAILABLE) at once and counts at the first.
 */
const lateProbesTolerated = 2;

/**
 * ENGINE=remote: each packed batch goes, as token tensors, to a model server speaking the Open Inference Protocol
 * over gRPC (Triton, KServe), which owns the accelerator; logits come back. Up to `instances` batches are in flight
 * at once on one channel. A server that goes away makes the engine unavailable (readiness 503, batches refused with
 * 503) until a readiness probe finds its model ready again; nothing waits on a dead server.
 */
export class RemoteEngine implements Engine {
  readonly kind = 'remote' as const;
  readonly skippedBackends: readonly string[] = [];
  readonly failure: Error | undefined = undefined;
  readonly numLabels: number;
  private unavailableSince: Error | undefined;
  private readonly probe: NodeJS.Timeout;
  private probing = false;
  private lateProbes = 0;

  constructor(
    private readonly client: RemoteClient,
    private readonly remoteModel: { name: string; version: string },
    private readonly contract: RemoteContract,
    private readonly padTokenId: number,
    private readonly shapes: readonly FixedShape[] | undefined,
    private readonly timeoutMs: number,
    private readonly remoteMetrics: RemoteMetrics,
    readonly instances: number,
    readonly device: Device,
    readonly backend: string,
    labels: number,
  ) {
    this.numLabels = labels;
    this.remoteMetrics.available.set(1);
    this.probe = setInterval(() => void this.checkReady(), probeIntervalMs);
    this.probe.unref();
  }

  get unavailable(): Error | undefined {
    return this.unavailableSince;
  }

  get metrics(): Metric[] {
    return this.remoteMetrics.all;
  }

  async run(batch: PackedBatch, context?: RunContext): Promise<Float32Array> {
    const gone = this.unavailableSince;
    if (gone !== undefined) throw new EngineUnavailableError(gone.message);
    // Warm-up batches come without a shape; under BATCH_SHAPES they too must be one the server was compiled for.
    const padded = padBatch(
      batch.shape === undefined ? { ...batch, shape: shapeForLengths(this.shapes, batch.lengths) } : batch,
      this.padTokenId,
    );
    const shape = [padded.rows, padded.columns];
    const inputs = this.contract.inputs.map(({ name, datatype }) => ({ name, datatype, shape }));
    const started = performance.now();
    let result: Awaited<ReturnType<RemoteClient['infer']>>;
    try {
      result = await this.client.infer(
        this.remoteModel,
        inputs,
        encodeTokenInputs(padded, this.contract.inputs),
        this.contract.output.name,
        this.timeoutMs,
        context?.traceparent,
      );
    } catch (error) {
      const code = (error as Partial<grpc.ServiceError>).code;
      this.remoteMetrics.errors.inc({ code: code === undefined ? 'UNKNOWN' : grpc.status[code] });
      if (!isUnreachable(error)) throw error;
      this.markUnavailable(error as Error);
      throw new EngineUnavailableError((error as Error).message);
    }
    this.remoteMetrics.duration.observe((performance.now() - started) / 1000);
    const output = result.outputs.find((tensor) => tensor.name === this.contract.output.name);
    const raw = result.raw[result.outputs.indexOf(output as (typeof result.outputs)[number])];
    const expected = [padded.rows, this.numLabels];
    if (output === undefined || raw === undefined || output.shape.join() !== expected.join()) {
      throw new Error(
        `the model server answered ${output === undefined ? 'without' : `[${output.shape.join(', ')}] for`} output ` +
          `'${this.contract.output.name}'; expected [${expected.join(', ')}] (one logit per label in config.json id2label)`,
      );
    }
    return decodeLogits(raw, this.contract.output.datatype);
  }

  async dispose(): Promise<void> {
    clearInterval(this.probe);
    this.client.close();
  }

  private markUnavailable(error: Error): void {
    if (this.unavailableSince === undefined) this.remoteMetrics.available.set(0);
    this.unavailableSince = error;
  }

  /** One readiness probe at a time; its answer sets availability both ways. */
  private async checkReady(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const ready = await this.client.modelReady(this.remoteModel.name, this.remoteModel.version, probeTimeoutMs);
      this.lateProbes = 0;
      if (!ready)
        this.markUnavailable(new Error(`model '${this.remoteModel.name}' is not ready on ${this.client.url}`));
      else if (this.unavailableSince !== undefined) {
        this.unavailableSince = undefined;
        this.remoteMetrics.available.set(1);
      }
    } catch (error) {
      const late = (error as Partial<grpc.ServiceError>).code === grpc.status.DEADLINE_EXCEEDED;
      this.lateProbes = late ? this.lateProbes + 1 : 0;
      if (!late || this.lateProbes > lateProbesTolerated) this.markUnavailable(error as Error);
    } finally {
      this.probing = false;
    }
  }
}

/**
 * Connects to REMOTE_ENGINE_URL, waits up to REMOTE_WAIT_MS for the server and REMOTE_MODEL to be ready, checks
 * the model against MODEL_DIR (RemoteEngineError naming both sides if it does not fit), then warms it up.
 */
export async function createRemoteEngine(model: Model, config: RemoteEngineConfig): Promise<RemoteEngine> {
  const url = config.remoteEngineUrl;
  if (url === undefined) throw new RemoteEngineError('ENGINE=remote needs REMOTE_ENGINE_URL');
  const client = new RemoteClient({ url, caFile: config.remoteCaFile, token: config.remoteToken });
  const remoteModel = { name: config.remoteModel ?? model.name, version: config.remoteModelVersion ?? '' };
  try {
    const server = await waitForServer(client, config.remoteWaitMs);
    const source = `MODEL_DIR ${model.dir}`;
    let metadata: Awaited<ReturnType<RemoteClient['modelMetadata']>>;
    try {
      metadata = await client.modelMetadata(remoteModel.name, remoteModel.version, probeTimeoutMs);
    } catch (error) {
      if (isUnreachable(error)) throw error;
      throw new RemoteEngineError(
        `REMOTE_MODEL=${remoteModel.name}${remoteModel.version ? ` (version ${remoteModel.version})` : ''}: the model server at ${url} ` +
          `does not serve it (${(error as Error).message}); the service tokenizes for ${source} and expects its model ` +
          `'${model.name}' there (set REMOTE_MODEL to the name the server serves it under)`,
      );
    }
    const remoteConfig = await client.modelConfig(remoteModel.name, remoteModel.version, probeTimeoutMs);
    const contract = checkRemoteModel(
      { url, metadata, config: remoteConfig },
      { source, labels: model.labels, maxBatchSize: config.maxBatchSize, batchShapes: config.batchShapes },
    );
    // One batch computing per model instance, plus one on its way, so an instance never waits on the network.
    const instances = config.engineInstances === 'auto' ? (remoteConfig?.instances ?? 1) + 1 : config.engineInstances;
    const runtime = remoteConfig?.backend || metadata.platform;
    const engine = new RemoteEngine(
      client,
      remoteModel,
      contract,
      model.tokenizer.padTokenId,
      config.batchShapes,
      config.requestTimeoutMs,
      new RemoteMetrics(),
      instances,
      config.device,
      `${server} ${runtime} at ${url}`,
      model.labels.length,
    );
    await warmUp(engine, model.tokenizer, model.maxLengthSource);
    return engine;
  } catch (error) {
    client.close();
    throw error;
  }
}

/** The server's name and version once it says it is ready; RemoteEngineError after waitMs of trying. */
async function waitForServer(client: RemoteClient, waitMs: number): Promise<string> {
  const giveUpAt = performance.now() + waitMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      if (await client.serverReady(probeTimeoutMs)) {
        const metadata = await client.serverMetadata(probeTimeoutMs);
        return `${metadata.name} ${metadata.version}`.trim();
      }
      last = 'it answers but is not ready (models still loading?)';
    } catch (error) {
      if (!isUnreachable(error)) throw error;
      last = (error as Error).message;
    }
    if (performance.now() >= giveUpAt) {
      throw new RemoteEngineError(
        `the model server at ${client.url} was not ready within REMOTE_WAIT_MS=${waitMs} ms (last: ${last})`,
      );
    }
    await sleep(Math.min(500, Math.max(0, giveUpAt - performance.now())));
  }
}
