import { readFileSync, writeFileSync } from 'node:fs';

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Peak resident memory of a process over one interval. The kernel's high-water mark (VmHWM) is reset at the start
 * (writing 5 to clear_refs) so each scenario gets its own peak; sampling VmRSS backs it up where the reset is not
 * allowed. Linux only; elsewhere it reports undefined.
 */
export class PeakRss {
  private sampled = 0;
  private timer: NodeJS.Timeout | undefined;
  private hwmReset = false;

  constructor(private readonly pid: number) {}

  start(): this {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    this.sampled = statusField(this.pid, 'VmRSS') ?? 0;
    this.timer = setInterval(() => {
      this.sampled = Math.max(this.sampled, statusField(this.pid, 'VmRSS') ?? 0);
    }, 100);
    this.timer.unref();
    return this;
  }

  /** Bytes, or undefined where /proc is not readable. */
  stop(): number | undefined {
    clearInterval(this.timer);
    const hwm = this.hwmReset ? statusField(this.pid, 'VmHWM') : undefined;
    const peak = Math.max(this.sampled, hwm ?? 0);
    return peak === 0 ? undefined : peak;
  }
}
