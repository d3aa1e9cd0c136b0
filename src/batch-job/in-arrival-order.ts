/** How one item's work ended. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: Error };

export interface Finished<T, R> {
  item: T;
  /** undefined for an item that needed no work (start returned undefined). */
  outcome: Outcome<R> | undefined;
}

interface Entry<T, R> {
  item: T;
  outcome: Outcome<R> | undefined;
  /** Settles when the work has; undefined when there is none. */
  settled: Promise<void> | undefined;
}

/**
 * Starts work on each item as it arrives and yields the items, with how their work ended, in arrival order.
 * At most `window` items are started and not yet yielded: when the window is full no further item is pulled, so
 * a slow consumer (a slow output) or slow work holds the input back instead of letting it pile up in memory.
 * Finished items are yielded as soon as everything before them has been, also while the next item is still
 * awaited, so results keep flowing when the input is a slow pipe.
 *
 * Work that fails is yielded as a failed outcome, never thrown here. A failure of the source itself is thrown
 * after every item already started has been yielded.
 */
export async function* inArrivalOrder<T, R>(
  items: AsyncIterable<T>,
  start: (item: T) => Promise<R> | undefined,
  window: number,
): AsyncGenerator<Finished<T, R>> {
  if (!(window >= 1)) throw new RangeError(`window must be at least 1, got ${window}`);
  const source = items[Symbol.asyncIterator]();
  let pending: (Entry<T, R> | undefined)[] = [];
  let head = 0;
  let next: Promise<IteratorResult<T>> | undefined;
  let exhausted = false;
  let sourceFailure: unknown;
  let hasSourceFailure = false;
  try {
    for (;;) {
      for (let entry = pending[head]; entry !== undefined; entry = pending[head]) {
        if (entry.settled !== undefined && entry.outcome === undefined) break;
        pending[head] = undefined;
        head += 1;
        yield { item: entry.item, outcome: entry.outcome };
      }
      if (head > 1024 && head * 2 > pending.length) {
        pending = pending.slice(head);
        head = 0;
      }
      if (!exhausted && pending.length - head < window) next ??= source.next();
      const oldest = pending[head];
      if (next === undefined && oldest === undefined) {
        if (hasSourceFailure) throw sourceFailure;
        return;
      }
      // Whichever comes first: the next item, or the oldest unfinished one finishing.
      if (next === undefined) {
        await oldest?.settled;
        continue;
      }
      const arrived = next.then(
        () => true,
        () => true,
      );
      const nextArrived =
        oldest?.settled === undefined ? await arrived : await Promise.race([arrived, oldest.settled.then(() => false)]);
      if (!nextArrived) continue;
      const current = next;
      next = undefined;
      let result: IteratorResult<T>;
      try {
        result = await current;
      } catch (error) {
        exhausted = true;
        hasSourceFailure = true;
        sourceFailure = error;
        continue;
      }
      if (result.done === true) {
        exhausted = true;
        continue;
      }
      pending.push(begin(result.value, start));
    }
  } finally {
    // Stopped early (the consumer broke off or failed): let the source close its file. A read still in flight
    // finishes first, so this is not awaited.
    if (!exhausted) source.return?.()?.catch(() => undefined);
  }
}

function begin<T, R>(item: T, start: (item: T) => Promise<R> | undefined): Entry<T, R> {
  let work: Promise<R> | undefined;
  try {
    work = start(item);
  } catch (error) {
    work = Promise.reject(error);
  }
  const entry: Entry<T, R> = { item, outcome: undefined, settled: undefined };
  if (work !== undefined) {
    entry.settled = work.then(
      (value) => {
        entry.outcome = { ok: true, value };
      },
      (error: unknown) => {
        entry.outcome = { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
      },
    );
  }
  return entry;
}
