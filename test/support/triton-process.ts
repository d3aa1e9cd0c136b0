import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/server-process.js';
import { packageRoot } from '../../src/config/package-root.js';
import { callOn, clientFor, type InferenceClient } from './grpc-client.js';
import { waitUntil } from './wait-until.js';

// A real Triton Inference Server started exactly as `npm run triton` starts it (scripts/triton.sh), on free ports
// of 127.0.0.1, with a grpc-js client of the committed Open Inference proto for it. Each launch is its own process
// group (tritonserver and its Python backend stubs), and every way of stopping it ends the whole group: a stub
// outlives a killed tritonserver otherwise, holding its model and shared memory until it notices.

const launcher = join(packageRoot, 'scripts', 'triton.sh');

/** Its first start installs the pinned Python environment (minutes); later starts load the model (seconds). */
export const tritonStartMs = 600_000;
/** How long a SIGTERM may take before the group is killed: Triton's own exit timeout (30 s) and some. */
const stopBudgetMs = 40_000;

export interface TritonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

export interface LaunchedTriton {
  child: ChildProcess;
  exited: Promise<TritonExit>;
  output: () => string;
  /** SIGTERM to tritonserver (it unloads the model and stops its stubs), SIGKILL to the group past the budget. */
  stop: () => Promise<TritonExit>;
  /** SIGKILL to the whole group at once: a crash, as far as the service can tell. */
  kill: () => Promise<TritonExit>;
}

export interface TritonProcess extends LaunchedTriton {
  /** host:port of its gRPC listener. */
  grpcAddress: string;
  client: InferenceClient;
}

/** Process groups launched here and not yet ended: this process takes them down with it. */
const liveGroups = new Set<number>();

function killGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function killLiveGroups(): void {
  for (const group of liveGroups) killGroup(group, 'SIGKILL');
}
// A detached group does not get the terminal's Ctrl-C, and nothing else ends it when this process dies.
process.once('exit', killLiveGroups);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killLiveGroups();
    process.kill(process.pid, signal);
  });
}

/** The processes still running (zombies aside) in a process group, from /proc. */
export function processesInGroup(group: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses, so read after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === group && state !== 'Z') members.push(Number(entry));
  }
  return members;
}

/** Runs the launcher in its own process group; `stop`/`kill` end the group (start-up failures exit by themselves). */
export function launchTriton(env: Record<string, string>): LaunchedTriton {
  const child = spawn('bash', [launcher], {
    env: { ...process.env, TRITON_HOST: '127.0.0.1', TRITON_HTTP_PORT: 'off', TRITON_METRICS_PORT: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const group = child.pid as number;
  liveGroups.add(group);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<TritonExit>((resolve) =>
    child.on('exit', (code, signal) => {
      // Whatever tritonserver left behind goes with it.
      killGroup(group, 'SIGKILL');
      liveGroups.delete(group);
      setImmediate(() => resolve({ code, signal, output }));
    }),
  );
  const stop = async (): Promise<TritonExit> => {
    child.kill('SIGTERM');
    const budget = setTimeout(() => killGroup(group, 'SIGKILL'), stopBudgetMs);
    const exit = await exited;
    clearTimeout(budget);
    return exit;
  };
  const kill = (): Promise<TritonExit> => {
    killGroup(group, 'SIGKILL');
    return exited;
  };
  return { child, exited, output: () => output, stop, kill };
}

/** Starts Triton and resolves once it is ready over gRPC (strict readiness: its model loaded); rejects if it exits first. */
export async function startTriton(env: Record<string, string> = {}): Promise<TritonProcess> {
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const launched = launchTriton({ TRITON_GRPC_PORT: grpcAddress.split(':')[1] as string, ...env });
  const client = clientFor(grpcAddress);
  let exit: TritonExit | undefined;
  void launched.exited.then((value) => (exit = value));
  const serverReady = async (): Promise<boolean> => {
    if (exit !== undefined)
      throw new Error(`triton exited (${exit.code ?? exit.signal}) before ready:\n${exit.output}`);
    try {
      return (await callOn(client, 'ServerReady', {}, { timeoutMs: 1000 })).ready === true;
    } catch {
      return false;
    }
  };
  await waitUntil(serverReady, 200, tritonStartMs);
  const closing =
    <T>(end: () => Promise<T>) =>
    (): Promise<T> => {
      client.close();
      return end();
    };
  return { ...launched, grpcAddress, client, stop: closing(launched.stop), kill: closing(launched.kill) };
}
