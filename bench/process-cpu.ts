import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
export const ticksPerSecond = 100;

/** CPU ticks (user + system) a process has used so far, or undefined where /proc is not there. */
export function cpuTicks(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces) start at ") "; utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * Waits until a server has finished the work a load run left behind (a client that stops waiting does not stop
 * a naive server's computation), judged by its CPU use falling to near zero, so the next run starts on an idle
 * server. Gives up after maxSeconds.
 */
export async function waitForIdle(pid: number, maxSeconds = 60): Promise<void> {
  const deadline = Date.now() + maxSeconds * 1000;
  let before = cpuTicks(pid);
  if (before === undefined) return sleep(2000).then(() => undefined);
  while (Date.now() < deadline) {
    await sleep(300);
    const now = cpuTicks(pid);
    if (now === undefined) return;
    // 100 ticks per second: at most 2 ticks in 300 ms is under 7% of one core.
    if (now - before <= 2) return;
    before = now;
  }
}

/** CPU seconds the given processes use while `work` runs (processes that exit meanwhile are not counted). */
export async function cpuSecondsDuring<T>(pids: () => number[], work: () => Promise<T>): Promise<[T, number]> {
  const before = new Map(pids().map((pid) => [pid, cpuTicks(pid) ?? 0]));
  const result = await work();
  let ticks = 0;
  for (const pid of pids()) ticks += (cpuTicks(pid) ?? 0) - (before.get(pid) ?? 0);
  return [result, ticks / ticksPerSecond];
}

/** CPU ticks the whole machine has spent busy (every state but idle and iowait), or undefined without /proc. */
function machineBusyTicks(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return [user, nice, system, irq, softirq, steal].reduce((sum: number, ticks) => sum + (ticks ?? 0), 0);
  } catch {
    return undefined;
  }
}

/**
 * Starts counting the CPU time that processes other than `pids` take on this machine; stop() gives it as a share
 * of the machine's CPU time over the interval (0..1), or NaN without /proc. A figure measured while others took a
 * large share is not one of an idle machine.
 */
export function othersCpuShare(pids: readonly number[], cpus: number): { stop(): number } {
  const ours = (): number => pids.reduce((sum, pid) => sum + (cpuTicks(pid) ?? 0), 0);
  const startedAt = performance.now();
  const machineBefore = machineBusyTicks();
  const oursBefore = ours();
  return {
    stop() {
      const machineAfter = machineBusyTicks();
      if (machineBefore === undefined || machineAfter === undefined) return NaN;
      const available = ((performance.now() - startedAt) / 1000) * ticksPerSecond * cpus;
      return Math.max(0, machineAfter - machineBefore - (ours() - oursBefore)) / available;
    },
  };
}
