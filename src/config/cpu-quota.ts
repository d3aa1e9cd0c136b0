import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text, or undefined where it does not exist (no cgroup, another cgroup version). */
export type ReadText = (path: string) => string | undefined;

const readIfPresent: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * CPUs this process may keep busy: the host's, bounded by the container's CPU limit. Node's availableParallelism()
 * and ONNX Runtime's default thread count both see the node's cores, so a pod limited to 2 CPUs on a 64-core node
 * would otherwise start 64 threads and be throttled. cgroup v2 (cpu.max "quota period") and v1 (cfs_quota_us,
 * cfs_period_us) are read; a limit of "max" or -1 means none. Fractional limits round up (1.5 CPUs: 2 threads).
 */
export function availableCpus(read: ReadText = readIfPresent, hostCpus: number = availableParallelism()): number {
  const limit = cgroupV2Limit(read) ?? cgroupV1Limit(read);
  return Math.max(1, limit === undefined ? hostCpus : Math.min(hostCpus, Math.ceil(limit)));
}

function cgroupV2Limit(read: ReadText): number | undefined {
  const [quota, period] = (read('/sys/fs/cgroup/cpu.max') ?? '').trim().split(/\s+/);
  return ratioOf(quota, period);
}

function cgroupV1Limit(read: ReadText): number | undefined {
  return ratioOf(
    read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')?.trim(),
    read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')?.trim(),
  );
}

function ratioOf(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  if (!quota || !period || !Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return undefined;
  return q / p;
}
