import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../../src/config/package-root.js';
import { protoPath } from '../../src/grpc/grpc-server.js';
import type { InferenceClient, ProtoMessage } from './grpc-client.js';
import { waitUntil } from './wait-until.js';

// A real Triton Inference Server started exactly as `npm run triton` starts it (scripts/triton.sh), on free ports
// of 127.0.0.1, and a grpc-js client of the committed Open Inference proto for it.

const launcher = join(packageRoot, 'scripts', 'triton.sh');

/** Its first start installs the pinned Python environment (minutes); later starts load the model (seconds). */
export const tritonStartMs = 600_000;

export interface TritonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

export interface TritonProcess {
  child: ChildProcess;
  /** host:port of its gRPC listener. */
  grpcAddress: string;
  client: InferenceClient;
  exited: Promise<TritonExit>;
  output: () => string;
  /** SIGTERM, then the exit. */
  stop: () => Promise<TritonExit>;
}

export type { InferenceClient };

export function inferenceClient(address: string): InferenceClient {
  const definition = protoLoader.loadSync(protoPath, { keepCase: true, longs: Number, enums: String, defaults: true });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  return new proto.inference.GRPCInferenceService(
    address,
    grpc.credentials.createInsecure(),
  ) as unknown as InferenceClient;
}

export function call(
  client: InferenceClient,
  method: string,
  request: object,
  timeoutMs = 30_000,
): Promise<ProtoMessage> {
  return new Promise((resolve, reject) => {
    client[method]?.call(
      client,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (error, response) => (error ? reject(error) : resolve(response)),
    );
  });
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Runs the launcher until it exits by itself (start-up failures). */
export function launchTriton(env: Record<string, string>): {
  child: ChildProcess;
  exited: Promise<TritonExit>;
  output: () => string;
} {
  const child = spawn('bash', [launcher], {
    env: { ...process.env, TRITON_HOST: '127.0.0.1', TRITON_HTTP_PORT: 'off', TRITON_METRICS_PORT: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<TritonExit>((resolve) =>
    child.on('exit', (code, signal) => setImmediate(() => resolve({ code, signal, output }))),
  );
  return { child, exited, output: () => output };
}

/** Starts Triton and resolves once it is ready over gRPC (strict readiness: its model loaded); rejects if it exits first. */
export async function startTriton(env: Record<string, string> = {}): Promise<TritonProcess> {
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const { child, exited, output } = launchTriton({ TRITON_GRPC_PORT: grpcAddress.split(':')[1] as string, ...env });
  const client = inferenceClient(grpcAddress);
  let exit: TritonExit | undefined;
  void exited.then((value) => (exit = value));
  const modelReady = async (): Promise<boolean> => {
    if (exit !== undefined)
      throw new Error(`triton exited (${exit.code ?? exit.signal}) before ready:\n${exit.output}`);
    try {
      return (await call(client, 'ServerReady', {}, 1000)).ready === true;
    } catch {
      return false;
    }
  };
  await waitUntil(modelReady, 200, tritonStartMs);
  const stop = async (): Promise<TritonExit> => {
    client.close();
    child.kill('SIGTERM');
    return exited;
  };
  return { child, grpcAddress, client, exited, output, stop };
}
