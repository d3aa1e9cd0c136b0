import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inArrivalOrder, type Finished } from '../../src/batch-job/in-arrival-order.js';
import { collect } from '../support/collect.js';
import { waitUntil } from '../support/wait-until.js';

/** Work whose completion the test controls, one promise per item. */
class ManualWork {
  readonly started: number[] = [];
  private readonly resolvers = new Map<number, { resolve: (value: string) => void; reject: (error: Error) => void }>();

  start = (item: number): Promise<string> | undefined => {
    if (item < 0) return undefined;
    this.started.push(item);
    return new Promise((resolve, reject) => this.resolvers.set(item, { resolve, reject }));
  };

  finish(item: number): void {
    this.resolvers.get(item)?.resolve(`r${item}`);
  }

  fail(item: number, message: string): void {
    this.resolvers.get(item)?.reject(new Error(message));
  }
}

/** A source the test feeds item by item, recording how far it has been pulled. */
class ManualSource implements AsyncIterable<number> {
  pulled = 0;
  private waiting: ((result: IteratorResult<number>) => void) | undefined;
  private queued: IteratorResult<number>[] = [];

  push(item: number): void {
    this.deliver({ value: item, done: false });
  }

  end(): void {
    this.deliver({ value: undefined, done: true });
  }

  private deliver(result: IteratorResult<number>): void {
    if (this.waiting !== undefined) {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting(result);
    } else this.queued.push(result);
  }

  [Symbol.asyncIterator](): AsyncIterator<number> {
    return {
      next: () => {
        this.pulled += 1;
        const queued = this.queued.shift();
        if (queued !== undefined) return Promise.resolve(queued);
        return new Promise((resolve) => (this.waiting = resolve));
      },
    };
  }
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const values = (finished: Finished<number, string>[]) =>
  finished.map(({ item, outcome }) =>
    outcome === undefined ? `${item}:none` : outcome.ok ? outcome.value : `${item}:${outcome.error.message}`,
  );

describe('inArrivalOrder', () => {
  it('yields in arrival order even when work finishes in reverse order', async () => {
    const work = new ManualWork();
    const results = collect(inArrivalOrder(from([1, 2, 3, 4]), work.start, 10));
    await waitUntil(() => work.started.length === 4);
    for (const item of [4, 3, 2, 1]) work.finish(item);
    assert.deepEqual(values(await results), ['r1', 'r2', 'r3', 'r4']);
  });

  it('passes items without work through in their place, and yields failed work as a failure', async () => {
    const work = new ManualWork();
    const results = collect(inArrivalOrder(from([1, -2, 3]), work.start, 10));
    await waitUntil(() => work.started.length === 2);
    work.fail(3, 'engine broke');
    work.finish(1);
    assert.deepEqual(values(await results), ['r1', '-2:none', '3:engine broke']);
  });

  it('pulls no more than `window` items ahead of the oldest unfinished one', async () => {
    const work = new ManualWork();
    const source = new ManualSource();
    for (let i = 1; i <= 10; i++) source.push(i);
    source.end();
    const yielded: number[] = [];
    const done = (async () => {
      for await (const { item } of inArrivalOrder(source, work.start, 3)) yielded.push(item);
    })();
    await waitUntil(() => work.started.length === 3);
    // Later items finishing does not open the window: the oldest holds it.
    work.finish(2);
    work.finish(3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(source.pulled, 3);
    assert.deepEqual(yielded, []);
    work.finish(1);
    await waitUntil(() => work.started.length === 6);
    assert.deepEqual(yielded, [1, 2, 3]);
    assert.equal(source.pulled, 6);
    for (const [last, next] of [
      [6, 9],
      [9, 10],
      [10, 10],
    ] as const) {
      for (let i = last - 2; i <= last; i++) work.finish(i);
      await waitUntil(() => work.started.length === next);
    }
    await done;
    assert.deepEqual(yielded, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('yields finished items while the next item is still awaited (a slow pipe)', async () => {
    const work = new ManualWork();
    const source = new ManualSource();
    const yielded: number[] = [];
    const done = (async () => {
      for await (const { item } of inArrivalOrder(source, work.start, 100)) yielded.push(item);
    })();
    source.push(1);
    source.push(2);
    await waitUntil(() => work.started.length === 2);
    work.finish(1);
    work.finish(2);
    await waitUntil(() => yielded.length === 2);
    source.end();
    await done;
  });

  it('throws a failure of the source after yielding everything started before it', async () => {
    const work = new ManualWork();
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      yield 2;
      throw new Error('disk gone');
    }
    const yielded: number[] = [];
    const run = (async () => {
      for await (const { item } of inArrivalOrder(failing(), work.start, 10)) yielded.push(item);
    })();
    await waitUntil(() => work.started.length === 2);
    work.finish(1);
    work.finish(2);
    await assert.rejects(run, /disk gone/);
    assert.deepEqual(yielded, [1, 2]);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    async function* source(): AsyncGenerator<number> {
      try {
        for (let i = 1; ; i++) yield -i;
      } finally {
        closed = true;
      }
    }
    for await (const { item } of inArrivalOrder(source(), () => undefined, 4)) if (item === -3) break;
    await waitUntil(() => closed);
  });
});
