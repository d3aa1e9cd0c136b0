import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { FastifyBaseLogger } from 'fastify';
import { authFailureMessages, authFailureOf } from '../auth/auth-failure.js';
import type { ApiKeyStore } from '../auth/api-key-store.js';
import type { Classifier } from '../inference/classifier.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import {
  checkModel,
  modelMetadata,
  modelVersion,
  OpenInferenceError,
  outputTensors,
  requestedOutputs,
  serverMetadata,
  textsOf,
  type InputTensor,
} from '../open-inference/protocol.js';
import { packageRoot } from '../config/package-root.js';
import { serviceErrorOf } from '../http/plugins/protocol-errors.js';
import { DrainingError, RejectionError, TooManyTextsError } from '../errors/rejections.js';
import { decodeBytesTensor, encodeBytesTensor, encodeFp32Tensor } from '../open-inference/tensor-bytes.js';

export const protoPath = join(packageRoot, 'proto', 'grpc_predict_v2.proto');
const service = 'inference.GRPCInferenceService';

export interface GrpcServerOptions {
  classifier: Classifier;
  metrics: ServiceMetrics;
  host: string;
  port: number;
  maxTextsPerRequest: number;
  requestTimeoutMs: number;
  /** The largest request message accepted, as BODY_LIMIT_BYTES bounds an HTTP body. */
  maxMessageBytes: number;
  platform: string;
  /** When set, ModelInfer needs `authorization: Bearer <key>` metadata, as the HTTP inference routes do. */
  apiKeys: ApiKeyStore | undefined;
  isDraining(): boolean;
  engineFailure(): Error | undefined;
  log: FastifyBaseLogger;
}

export interface RunningGrpcServer {
  /** host:port actually bound (the port is chosen by the system when GRPC_PORT=0). */
  address: string;
  /** Stops taking calls and waits for those in progress until `deadline` (performance.now()), then cuts the rest. */
  drain(deadline: number): Promise<void>;
}

interface InferTensorContents {
  bytes_contents: Buffer[];
}
interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: { name: string; datatype: string; shape: number[]; contents: InferTensorContents | null }[];
  outputs: { name: string }[];
  raw_input_contents: Buffer[];
}

/** gRPC's status for each HTTP status the service answers with. */
function grpcStatusOf(httpStatus: number): grpc.status {
  switch (httpStatus) {
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 404:
      return grpc.status.NOT_FOUND;
    case 429:
      return grpc.status.RESOURCE_EXHAUSTED;
    case 499:
      return grpc.status.CANCELLED;
    case 503:
      return grpc.status.UNAVAILABLE;
    case 504:
      return grpc.status.DEADLINE_EXCEEDED;
    case 500:
      return grpc.status.INTERNAL;
    default:
      return grpc.status.INVALID_ARGUMENT;
  }
}

/** Each call's input tensors with their texts, from typed bytes_contents or from raw_input_contents. */
function inputTensorsOf(request: ModelInferRequest): InputTensor[] {
  const raw = request.raw_input_contents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw new OpenInferenceError(
      400,
      `raw_input_contents has ${raw.length} entries for ${request.inputs.length} inputs`,
    );
  }
  return request.inputs.map((input, index) => {
    let texts: string[] = [];
    if (input.datatype === 'BYTES') {
      const rawContent = raw[index];
      if (rawContent !== undefined) {
        const decoded = decodeBytesTensor(rawContent);
        if (!Array.isArray(decoded)) throw new OpenInferenceError(400, `input '${input.name}': ${decoded.error}`);
        texts = decoded;
      } else {
        texts = (input.contents?.bytes_contents ?? []).map((bytes) => bytes.toString('utf8'));
      }
    }
    return { name: input.name, datatype: input.datatype, shape: input.shape, texts };
  });
}

/**
 * The Open Inference Protocol over gRPC (inference.GRPCInferenceService, the KServe v2 proto in proto/): health,
 * metadata and ModelInfer on the same classifier, queue, limits and metrics as HTTP. Outputs are answered in
 * raw_output_contents, which tritonclient reads.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const { classifier, metrics } = options;
  const { model } = classifier;
  const definition = protoLoader.loadSync(protoPath, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  const metadata = modelMetadata(model, options.platform);
  const ready = (): boolean => !options.isDraining() && options.engineFailure() === undefined;

  /** One observation per call in sentiment_http_request_duration_seconds: gRPC is HTTP/2 POST to /package.Service/Method. */
  const observed = <Req, Res>(method: string, handler: (call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>) => {
    const route = `/${service}/${method}`;
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      const started = performance.now();
      handler(call).then(
        (response) => {
          metrics.httpRequestCompleted(route, 'POST', 200, (performance.now() - started) / 1000);
          callback(null, response);
        },
        (error: Error) => {
          const serviceError = serviceErrorOf(error);
          if (error instanceof RejectionError) metrics.rejected(error.reason);
          else if (serviceError.kind === 'internal') options.log.error({ err: error, route }, 'gRPC call failed');
          metrics.httpRequestCompleted(route, 'POST', serviceError.statusCode, (performance.now() - started) / 1000);
          callback({
            code: grpcStatusOf(serviceError.statusCode),
            details: serviceError.message || STATUS_CODES[serviceError.statusCode] || 'error',
          });
        },
      );
    };
  };

  const modelInfer = async (call: grpc.ServerUnaryCall<ModelInferRequest, unknown>): Promise<unknown> => {
    if (options.apiKeys !== undefined) {
      const authorization = call.metadata.get('authorization')[0];
      const reason = authFailureOf(typeof authorization === 'string' ? authorization : undefined, options.apiKeys);
      if (reason !== undefined) {
        metrics.authFailed(reason);
        throw new OpenInferenceError(401, authFailureMessages[reason]);
      }
    }
    if (options.isDraining()) throw new DrainingError();
    const request = call.request;
    checkModel(model, request.model_name, request.model_version);
    const texts = textsOf(inputTensorsOf(request));
    const outputs = requestedOutputs(request.outputs.map((output) => output.name));
    if (texts.length > options.maxTextsPerRequest)
      throw new TooManyTextsError(texts.length, options.maxTextsPerRequest);
    const clientGone = new AbortController();
    call.once('cancelled', () => clientGone.abort());
    const callDeadline = call.getDeadline();
    const untilCallDeadline = callDeadline === Infinity ? Infinity : new Date(callDeadline).getTime() - Date.now();
    const predictions = await classifier.classify(texts, {
      truncate: true,
      topK: model.labels.length,
      deadline: performance.now() + Math.min(options.requestTimeoutMs, untilCallDeadline),
      signal: clientGone.signal,
    });
    const tensors = outputTensors(predictions, model.labels, outputs);
    return {
      model_name: model.name,
      model_version: modelVersion,
      id: request.id,
      outputs: tensors.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
      raw_output_contents: tensors.map((tensor) =>
        tensor.datatype === 'BYTES'
          ? encodeBytesTensor(tensor.data as string[])
          : encodeFp32Tensor(tensor.data as number[]),
      ),
    };
  };

  const server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxMessageBytes });
  server.addService(proto.inference.GRPCInferenceService.service, {
    ServerLive: observed('ServerLive', async () => ({ live: options.engineFailure() === undefined })),
    ServerReady: observed('ServerReady', async () => ({ ready: ready() })),
    ModelReady: observed(
      'ModelReady',
      async (call: grpc.ServerUnaryCall<{ name: string; version: string }, unknown>) => {
        checkModel(model, call.request.name, call.request.version);
        return { ready: ready() };
      },
    ),
    ServerMetadata: observed('ServerMetadata', async () => serverMetadata()),
    ModelMetadata: observed(
      'ModelMetadata',
      async (call: grpc.ServerUnaryCall<{ name: string; version: string }, unknown>) => {
        checkModel(model, call.request.name, call.request.version);
        return metadata;
      },
    ),
    ModelInfer: observed('ModelInfer', modelInfer),
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error
        ? reject(new Error(`cannot listen for gRPC on ${options.host}:${options.port}: ${error.message}`))
        : resolve(bound),
    );
  });
  const address = `${options.host}:${port}`;

  return {
    address,
    async drain(deadline) {
      // tryShutdown refuses new calls and lets those in progress finish; forceShutdown ends what is left at the deadline.
      const finished = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const outOfTime = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - performance.now()));
      });
      if ((await Promise.race([finished, outOfTime])) === 'timeout') server.forceShutdown();
      clearTimeout(timer);
    },
  };
}
