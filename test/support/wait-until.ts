import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits for a condition the test caused to become true (a request queued, a batch started). It polls rather than
 * sleeping a guessed time; the test's own timeout is the only clock.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, pollMs = 5): Promise<void> {
  while (!(await condition())) await sleep(pollMs);
}
