import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath, tritonModelConfigProtoPath } from '../../open-inference/proto-files.js';

/** The model server's tensor metadata, as ModelMetadata answers it. */
export interface RemoteTensor {
  name: string;
  datatype: string;
  shape: number[];
}

export interface RemoteModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: RemoteTensor[];
  outputs: RemoteTensor[];
}

/** What Triton's ModelConfig extension tells beyond the metadata; undefined from servers without it. */
export interface RemoteModelConfig {
  maxBatchSize: number;
  /** Model instances the server computes with side by side (instance_group counts). */
  instances: number;
  backend: string;
}

export interface InferInput {
  name: string;
  datatype: string;
  shape: number[];
}

export interface InferResult {
  outputs: RemoteTensor[];
  raw: Buffer[];
}

export interface RemoteClientOptions {
  /** grpc://host:port or grpcs://host:port. */
  url: string;
  caFile: string | undefined;
  token: string | undefined;
}

type Unary = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

const loaderOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** Channel settings: reconnect soon after the server comes back, notice a silent one between batches. */
const channelOptions: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5000,
  'grpc.keepalive_permit_without_calls': 1,
  // Logits of a large batch, or a server's long error, may pass gRPC's 4 MiB default.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/**
 * The Open Inference Protocol v2 over gRPC as a client: one HTTP/2 channel to the model server for every call
 * (grpc-js multiplexes the batches in flight over it), the bearer token and traceparent as metadata.
 */
export class RemoteClient {
  private readonly inference: grpc.Client & Record<string, Unary>;
  private readonly tritonConfig: grpc.Client & Record<string, Unary>;

  constructor(private readonly options: RemoteClientOptions) {
    const url = new URL(options.url);
    const credentials =
      url.protocol === 'grpcs:'
        ? grpc.credentials.createSsl(options.caFile === undefined ? null : readFileSync(options.caFile))
        : grpc.credentials.createInsecure();
    const service = (path: string) =>
      (
        grpc.loadPackageDefinition(protoLoader.loadSync(path, loaderOptions)) as unknown as {
          inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
        }
      ).inference.GRPCInferenceService;
    const Inference = service(protoPath);
    this.inference = new Inference(url.host, credentials, channelOptions) as grpc.Client & Record<string, Unary>;
    const TritonConfig = service(tritonModelConfigProtoPath);
    this.tritonConfig = new TritonConfig(url.host, credentials, {
      ...channelOptions,
      channelOverride: this.inference.getChannel(),
    }) as grpc.Client & Record<string, Unary>;
  }

  get url(): string {
    return this.options.url;
  }

  async serverReady(timeoutMs: number): Promise<boolean> {
    const response = (await this.call(this.inference, 'ServerReady', {}, timeoutMs)) as { ready: boolean };
    return response.ready;
  }

  async serverMetadata(timeoutMs: number): Promise<{ name: string; version: string }> {
    return (await this.call(this.inference, 'ServerMetadata', {}, timeoutMs)) as { name: string; version: string };
  }

  async modelReady(name: string, version: string, timeoutMs: number): Promise<boolean> {
    const response = (await this.call(this.inference, 'ModelReady', { name, version }, timeoutMs)) as {
      ready: boolean;
    };
    return response.ready;
  }

  async modelMetadata(name: string, version: string, timeoutMs: number): Promise<RemoteModelMetadata> {
    return (await this.call(this.inference, 'ModelMetadata', { name, version }, timeoutMs)) as RemoteModelMetadata;
  }

  /** Triton's ModelConfig; undefined from a server that does not implement the extension. */
  async modelConfig(name: string, version: string, timeoutMs: number): Promise<RemoteModelConfig | undefined> {
    try {
      const response = (await this.call(this.tritonConfig, 'ModelConfig', { name, version }, timeoutMs)) as {
        config: { max_batch_size: number; instance_group: { count: number }[]; backend: string; platform: string };
      };
      const { config } = response;
      const instances = config.instance_group.reduce((sum, group) => sum + Math.max(1, group.count), 0);
      return {
        maxBatchSize: config.max_batch_size,
        instances: Math.max(1, instances),
        backend: config.backend || config.platform,
      };
    } catch (error) {
      if ((error as grpc.ServiceError).code === grpc.status.UNIMPLEMENTED) return undefined;
      throw error;
    }
  }

  async infer(
    model: { name: string; version: string },
    inputs: readonly InferInput[],
    raw: readonly Buffer[],
    outputName: string,
    timeoutMs: number,
    traceparent: string | undefined,
  ): Promise<InferResult> {
    const response = (await this.call(
      this.inference,
      'ModelInfer',
      {
        model_name: model.name,
        model_version: model.version,
        inputs,
        outputs: [{ name: outputName }],
        raw_input_contents: raw,
      },
      timeoutMs,
      traceparent,
    )) as { outputs: RemoteTensor[]; raw_output_contents: Buffer[] };
    return { outputs: response.outputs, raw: response.raw_output_contents };
  }

  close(): void {
    this.tritonConfig.close();
    this.inference.close();
  }

  private call(
    client: grpc.Client & Record<string, Unary>,
    method: string,
    request: unknown,
    timeoutMs: number,
    traceparent?: string,
  ): Promise<unknown> {
    const metadata = new grpc.Metadata();
    if (this.options.token !== undefined) metadata.set('authorization', `Bearer ${this.options.token}`);
    if (traceparent !== undefined) metadata.set('traceparent', traceparent);
    const unary = client[method] as Unary;
    return new Promise((resolve, reject) => {
      unary.call(client, request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });
  }
}

/** gRPC statuses that mean the server (or the way to it) is gone for now, rather than a refusal of this batch. */
export function isUnreachable(error: unknown): boolean {
  const code = (error as Partial<grpc.ServiceError>).code;
  return code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.CANCELLED;
}
