import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission } from '../../src/inference/admission.js';
import { ClientQueueFullError, QueueFullError } from '../../src/errors/rejections.js';

/** An Admission in front of a queue whose texts (all of one client unless `of` says) the test sets. */
function admissionOf(
  capacity: number,
  queued: () => number,
  wakeRoom = 1,
  perClient = capacity,
  of: (client: string | undefined) => number = () => queued(),
): Admission {
  return new Admission({ capacity, perClient, wakeRoom }, { queued, queuedOf: of, queuedClients: () => [] });
}

describe('Admission', () => {
  it('counts texts being tokenized and texts queued against one capacity, and refuses beyond it', () => {
    let queued = 0;
    const admission = admissionOf(10, () => queued);
    const first = admission.admit(6);
    assert.equal(admission.inTokenization, 6);
    assert.throws(
      () => admission.admit(5),
      (error: unknown) => error instanceof QueueFullError && /6 texts waiting, 5 more/.test(error.message),
    );
    // The first request's texts move into the queue: still counted, now by the queue.
    first();
    queued = 6;
    assert.equal(admission.inTokenization, 0);
    assert.throws(() => admission.admit(5), QueueFullError);
    const second = admission.admit(4);
    second();
    second();
    assert.equal(admission.inTokenization, 0, 'releasing twice releases once');
  });

  it('holds requests while full and lets the oldest in once a whole request fits; refuses after the wait or past the waiters bound', async () => {
    let queued = 10;
    const admission = admissionOf(10, () => queued, 4);
    const order: string[] = [];
    const a = (admission.waitForRoom(1000, 2) as Promise<void>).then(() => order.push('a'));
    const b = (admission.waitForRoom(1000, 2) as Promise<void>).then(() => order.push('b'));
    await assert.rejects(admission.waitForRoom(1000, 2) as Promise<void>, QueueFullError, 'two wait already');
    queued = 8;
    admission.roomChanged();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [], 'room for 2 texts is not room for a request of up to 4');
    queued = 6;
    admission.roomChanged();
    await a;
    assert.equal(admission.waiting, 1, 'one at a time');
    admission.roomChanged();
    await b;
    assert.deepEqual(order, ['a', 'b'], 'the oldest first');
  });

  it('lets a request through at once when there is room and nobody waits, and refuses at once with no wait allowed', async () => {
    let queued = 0;
    const admission = admissionOf(2, () => queued);
    assert.equal(admission.waitForRoom(1000, 10), undefined);
    queued = 2;
    await assert.rejects(admission.waitForRoom(0, 10) as Promise<void>, /no|any more requested/);
    const started = performance.now();
    await assert.rejects(admission.waitForRoom(100, 10) as Promise<void>, QueueFullError);
    assert.ok(performance.now() - started >= 90);
  });

  it("refuses a client past its share (client_queue_full) while another client's request is still let in", () => {
    const queuedBy = new Map<string | undefined, number>([['a', 6]]);
    const total = (): number => [...queuedBy.values()].reduce((sum, n) => sum + n, 0);
    const admission = admissionOf(10, total, 2, 7, (client) => queuedBy.get(client) ?? 0);
    assert.throws(
      () => admission.admit(2, 'a'),
      (error: unknown) =>
        error instanceof ClientQueueFullError && /6 texts waiting, 2 more requested.*7/.test(error.message),
    );
    const b = admission.admit(2, 'b');
    assert.equal(admission.holdingOf('b'), 2);
    b();
    queuedBy.set('b', 2);
    assert.equal(admission.holdingOf('b'), 2, 'counted by the queue once queued');
    // The whole queue full refuses everyone, with the reason that says so.
    assert.throws(() => admission.admit(3, 'c'), QueueFullError);
  });

  it('holds a client past its share without holding up other clients, and wakes it once its own texts leave', async () => {
    const queuedBy = new Map<string | undefined, number>([['a', 4]]);
    const total = (): number => [...queuedBy.values()].reduce((sum, n) => sum + n, 0);
    const admission = admissionOf(10, total, 1, 4, (client) => queuedBy.get(client) ?? 0);
    let aIn = false;
    const a = (admission.waitForRoom(5000, 10, 'a') as Promise<void>).then(() => (aIn = true));
    assert.equal(admission.waitForRoom(5000, 10, 'b'), undefined, 'b is not held behind a');
    queuedBy.set('b', 5);
    admission.roomChanged();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(aIn, false, "b's texts leaving or coming does not make room for a");
    queuedBy.set('a', 3);
    admission.roomChanged();
    await a;
    queuedBy.set('a', 4);
    await assert.rejects(admission.waitForRoom(0, 10, 'a') as Promise<void>, ClientQueueFullError);
  });

  it('gives the anonymous client (a batch job) the whole queue', () => {
    const admission = admissionOf(10, () => 0, 1, 4);
    const release = admission.admit(10);
    assert.throws(() => admission.admit(1), QueueFullError);
    release();
    assert.throws(() => admission.admit(5, 'a'), ClientQueueFullError);
  });
});
