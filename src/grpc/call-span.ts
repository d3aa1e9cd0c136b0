import type * as grpc from '@grpc/grpc-js';
import { propagation, ROOT_CONTEXT, SpanKind, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';

/** The service's name in the proto, as OpenTelemetry's RPC conventions name spans: `service/method`. */
const grpcServiceName = 'inference.GRPCInferenceService';

/** Reads a W3C traceparent (and tracestate) from a call's metadata, as HTTP reads them from headers. */
const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key).filter((value): value is string => typeof value === 'string');
    return values.length <= 1 ? values[0] : values;
  },
};

/** A server span for one gRPC call, continuing the caller's trace when its metadata carries a traceparent. */
export function startCallSpan(tracer: Tracer, method: string, metadata: grpc.Metadata): Span {
  const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  return tracer.startSpan(
    `${grpcServiceName}/${method}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'rpc.system': 'grpc', 'rpc.service': grpcServiceName, 'rpc.method': method },
    },
    parent,
  );
}
