import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  /** SIGTERM, then SIGKILL if it has not exited within the grace period. Resolves with its exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface ServerSpec {
  name: string;
  /** Node script (compiled .js) and the node flags to run it with. */
  script: string;
  nodeArgs?: string[];
  /** Another program instead of node (the Python baselines): executable and arguments; script is then unused. */
  command?: readonly string[];
  env: Record<string, string>;
  /** Seconds to wait for /readyz (model loading and warm-up happen before it answers). */
  startTimeoutSeconds?: number;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * Starts a server under test as its own process (so its memory and CPU are its own) on 127.0.0.1, and resolves once
 * GET /readyz answers 200. Its stdout (one log line per request) goes to /dev/null; stderr is kept for errors.
 */
export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const [executable, ...args] = spec.command ?? [process.execPath, ...(spec.nodeArgs ?? []), spec.script];
  const child: ChildProcess = spawn(executable as string, args, {
    env: { ...process.env, ...spec.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });

  const deadline = Date.now() + (spec.startTimeoutSeconds ?? 120) * 1000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${spec.name} exited with ${exitCode} before it was ready:\n${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${spec.name} not ready within ${spec.startTimeoutSeconds ?? 120} s:\n${stderr}`);
    }
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }

  return {
    name: spec.name,
    url,
    pid: child.pid as number,
    async stop(graceMs = 15_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
