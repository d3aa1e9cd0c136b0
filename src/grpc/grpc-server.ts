import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Span, Tracer } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import { authFailureOf, UnauthorizedError } from '../auth/auth-failure.js';
import type { ApiKeyStore } from '../auth/api-key-store.js';
import type { Inference } from '../inference/inference.js';
import { clientKeyOf } from '../inference/client-key.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { RequestTiming } from '../timing/request-timing.js';
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
import { outcomeOf, recordError } from '../errors/error-policy.js';
import { decodeBytesTensor, encodeBytesTensor, encodeFp32Tensor } from '../open-inference/tensor-bytes.js';
import { endRequestSpan } from '../tracing/request-spans.js';
import { startCallSpan } from './call-span.js';

export const protoPath = join(packageRoot, 'proto', 'grpc_predict_v2.proto');

export interface GrpcServerOptions {
  inference: Inference;
  metrics: ServiceMetrics;
  host: string;
  port: number;
  /** The largest request message accepted, as BODY_LIMIT_BYTES bounds an HTTP body. */
  maxMessageBytes: number;
  platform: string;
  /** When set, ModelInfer needs `authorization: Bearer <key>` metadata, as the HTTP inference routes do. */
  apiKeys: ApiKeyStore | undefined;
  /** CLIENT_ID_HEADER, read from the call's metadata as HTTP reads it from headers. */
  clientIdHeader?: string;
  log: FastifyBaseLogger;
  /** OpenTelemetry's tracer, when tracing is on: a server span per call, as HTTP has per request. */
  tracer?: Tracer;
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

/** A call's first metadata value under `name`, when it is text. */
function metadataValue(call: grpc.ServerUnaryCall<unknown, unknown>, name: string): string | undefined {
  const value = call.metadata.get(name)[0];
  return typeof value === 'string' ? value : undefined;
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

/** A unary call's work; `timing` is given to inference calls only (ModelInfer), as HTTP gives it to its routes. */
type Handler<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, timing: RequestTiming | undefined) => Promise<Res>;

/** The logger for a failed call: its method, and its trace's ids when it is traced. */
function callLog(log: FastifyBaseLogger, method: string, span: Span | undefined): FastifyBaseLogger {
  if (span === undefined) return log.child({ method });
  const { traceId, spanId } = span.spanContext();
  return log.child({ method, trace_id: traceId, span_id: spanId });
}

/**
 * A unary handler with the service's bookkeeping: one observation per call in
 * sentiment_grpc_request_duration_seconds by method and gRPC status, the error policy's for failures, and when
 * tracing is on a server span (with tokenize / queue wait / inference children on inference calls).
 */
function observed<Req, Res>(
  options: GrpcServerOptions,
  method: string,
  handler: Handler<Req, Res>,
  kind: 'inference' | 'other' = 'other',
) {
  const { metrics, log, tracer } = options;
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
    const started = performance.now();
    const timing = kind === 'inference' ? new RequestTiming() : undefined;
    const span = tracer === undefined ? undefined : startCallSpan(tracer, method, call.metadata);
    if (timing !== undefined && span !== undefined) timing.spanContext = span.spanContext();
    const answered = (code: grpc.status, failed: boolean): void => {
      if (span === undefined || tracer === undefined) return;
      span.setAttribute('rpc.grpc.status_code', code);
      endRequestSpan(tracer, span, { failed, timing });
    };
    handler(call, timing).then(
      (response) => {
        metrics.grpcCallCompleted(method, grpc.status[grpc.status.OK], (performance.now() - started) / 1000);
        callback(null, response);
        answered(grpc.status.OK, false);
      },
      (error: Error) => {
        const outcome = outcomeOf(error);
        recordError(error, outcome, metrics, callLog(log, method, span));
        const code = grpcStatusOf(outcome.statusCode);
        metrics.grpcCallCompleted(method, grpc.status[code], (performance.now() - started) / 1000);
        callback({ code, details: outcome.message || STATUS_CODES[outcome.statusCode] || 'error' });
        answered(code, outcome.statusCode >= 500);
      },
    );
  };
}

/** Refuses a ModelInfer call without a valid key, as the HTTP inference routes do (API_KEYS). */
function checkApiKey(options: GrpcServerOptions, call: grpc.ServerUnaryCall<unknown, unknown>): void {
  if (options.apiKeys === undefined) return;
  const reason = authFailureOf(metadataValue(call, 'authorization'), options.apiKeys);
  if (reason === undefined) return;
  options.metrics.authFailed(reason);
  throw new UnauthorizedError(reason);
}

/** ModelInfer: the wire shape to texts, the one inference call, and its predictions back as output tensors. */
function modelInferHandler(options: GrpcServerOptions): Handler<ModelInferRequest, unknown> {
  const { inference } = options;
  const { model } = inference.classifier;
  return async (call, timing = new RequestTiming()) => {
    const receivedAt = performance.now();
    checkApiKey(options, call);
    const client = clientKeyOf({
      authorization: options.apiKeys === undefined ? undefined : metadataValue(call, 'authorization'),
      named: options.clientIdHeader === undefined ? undefined : metadataValue(call, options.clientIdHeader),
      // ipv4:127.0.0.1:5000 or ipv6:[::1]:5000: the address without its port, as HTTP's request.ip.
      address: call
        .getPeer()
        .replace(/^ipv[46]:/, '')
        .replace(/:\d+$/, ''),
    });
    // Admission as HTTP's: refused while draining, held up to ADMISSION_WAIT_MS while the queue is full.
    await inference.admit(client);
    const request = call.request;
    checkModel(model, request.model_name, request.model_version);
    const texts = textsOf(inputTensorsOf(request));
    const outputs = requestedOutputs(request.outputs.map((output) => output.name));
    const clientGone = new AbortController();
    call.once('cancelled', () => clientGone.abort());
    const callDeadline = call.getDeadline();
    const predictions = await inference.classify(texts, {
      truncate: true,
      topK: model.labels.length,
      admitted: true,
      receivedAt,
      deadline: callDeadline === Infinity ? undefined : receivedAt + (new Date(callDeadline).getTime() - Date.now()),
      signal: clientGone.signal,
      timing,
      client,
    });
    // TEI's timing headers, as HTTP answers them, in the response's metadata.
    const timingHeaders = timing.headers(performance.now() - receivedAt);
    if (timingHeaders !== undefined) {
      const metadata = new grpc.Metadata();
      for (const [key, value] of Object.entries(timingHeaders)) metadata.set(key, value);
      call.sendMetadata(metadata);
    }
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
}

/** The service's handlers: health and metadata from the inference call's readiness, and ModelInfer. */
function serviceHandlers(options: GrpcServerOptions): grpc.UntypedServiceImplementation {
  const { inference } = options;
  const { model } = inference.classifier;
  const metadata = modelMetadata(model, options.platform);
  const ready = (): boolean => inference.readiness === 'ready';
  type ModelCall = grpc.ServerUnaryCall<{ name: string; version: string }, unknown>;
  return {
    ServerLive: observed(options, 'ServerLive', async () => ({ live: inference.engineFailure === undefined })),
    ServerReady: observed(options, 'ServerReady', async () => ({ ready: ready() })),
    ModelReady: observed(options, 'ModelReady', async (call: ModelCall) => {
      checkModel(model, call.request.name, call.request.version);
      return { ready: ready() };
    }),
    ServerMetadata: observed(options, 'ServerMetadata', async () => serverMetadata()),
    ModelMetadata: observed(options, 'ModelMetadata', async (call: ModelCall) => {
      checkModel(model, call.request.name, call.request.version);
      return metadata;
    }),
    ModelInfer: observed(options, 'ModelInfer', modelInferHandler(options), 'inference'),
  };
}

function loadService(): grpc.ServiceDefinition {
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
  return proto.inference.GRPCInferenceService.service;
}

/**
 * The Open Inference Protocol over gRPC (inference.GRPCInferenceService, the KServe v2 proto in proto/): health,
 * metadata and ModelInfer on the same inference call (queue, limits, admission) and metrics as HTTP. Outputs are
 * answered in raw_output_contents, which tritonclient reads.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxMessageBytes });
  server.addService(loadService(), serviceHandlers(options));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error
        ? reject(new Error(`cannot listen for gRPC on ${options.host}:${options.port}: ${error.message}`))
        : resolve(bound),
    );
  });
  return {
    address: `${options.host}:${port}`,
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
