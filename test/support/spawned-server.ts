import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/config/package-root.js';

const serverScript = join(packageRoot, 'dist', 'src', 'server.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  /** host:port of its gRPC server, as it logs it before listening for HTTP; undefined without GRPC_PORT. */
  grpcAddress: string | undefined;
  exited: Promise<Exit>;
}

/** The compiled server as its own process, exactly as `npm start` runs it (node dist/src/server.js). */
function launch(
  env: Record<string, string>,
  args: string[] = [],
): { child: ChildProcess; exited: Promise<Exit>; stdout: () => string } {
  const child = spawn(process.execPath, [serverScript, ...args], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => {
      // Let the pipes flush what the process wrote last.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    }),
  );
  return { child, exited, stdout: () => stdout };
}

/** Runs the server until it exits by itself (start-up failures). */
export function runUntilExit(env: Record<string, string>, args: string[] = []): Promise<Exit> {
  return launch(env, args).exited;
}

/** Starts the server and resolves once it logs where it listens; rejects if it exits first. */
export async function startServer(env: Record<string, string> = {}): Promise<SpawnedServer> {
  const { child, exited, stdout } = launch(env);
  const url = await new Promise<string>((resolve, reject) => {
    const look = (): void => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout());
      if (match?.[1] !== undefined) {
        child.stdout?.off('data', look);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', look);
    void exited.then((exit) => reject(new Error(`server exited (${exit.code}) before listening: ${exit.stderr}`)));
  });
  const grpcAddress = /"grpcAddress":"([^"]+)"/.exec(stdout())?.[1];
  return { child, url, grpcAddress, exited };
}
