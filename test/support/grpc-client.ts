import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from '../../src/grpc/grpc-server.js';

/** A proto-loader message: built at run time from the proto, so tests read its fields untyped. */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type ProtoMessage = any;

type Unary = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: ProtoMessage) => void,
) => void;
export type InferenceClient = grpc.Client & Record<string, Unary>;

/** A grpc-js client of inference.GRPCInferenceService, built from the committed proto. */
export function clientFor(address: string): InferenceClient {
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
  return new proto.inference.GRPCInferenceService(
    address,
    grpc.credentials.createInsecure(),
  ) as unknown as InferenceClient;
}

/** One unary call, with the caller's metadata when given; its deadline, by default, well past any test's wait. */
export function callOn(
  target: InferenceClient,
  method: string,
  request: object,
  { metadata = new grpc.Metadata(), timeoutMs = 30_000 }: { metadata?: grpc.Metadata; timeoutMs?: number } = {},
): Promise<ProtoMessage> {
  return new Promise((resolve, reject) => {
    target[method]?.call(target, request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** A ModelInfer request for `texts` as one BYTES tensor in bytes_contents. */
export function inferRequest(model: string, texts: string[], extra: object = {}) {
  return {
    model_name: model,
    inputs: [
      {
        name: 'text',
        datatype: 'BYTES',
        shape: [texts.length],
        contents: { bytes_contents: texts.map((t) => Buffer.from(t)) },
      },
    ],
    ...extra,
  };
}

/** The gRPC address a service bound (GRPC_PORT=0 lets the system choose the port); fails when it has none. */
export function grpcAddressOf(service: { grpcAddress: string | undefined }): string {
  if (service.grpcAddress === undefined) throw new Error('the service is not listening for gRPC (GRPC_PORT unset?)');
  return service.grpcAddress;
}
