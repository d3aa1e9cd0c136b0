import { setTimeout as sleep } from 'node:timers/promises';

/** Longer than any condition here takes on a loaded 2-core machine, far shorter than the test runner's timeout. */
export const defaultWaitMs = 30_000;

/**
 * Waits for a condition the test caused to become true (a request queued, a batch started). It polls rather than
 * sleeping a guessed time, and gives up after `timeoutMs` with an error that names the condition, so a condition
 * that never comes fails its test instead of hanging it until the runner's own timeout.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  pollMs = 5,
  timeoutMs = defaultWaitMs,
): Promise<void> {
  const giveUpAt = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > giveUpAt) throw new Error(`waited ${timeoutMs} ms in vain for: ${condition.toString()}`);
    await sleep(pollMs);
  }
}
