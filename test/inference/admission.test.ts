import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission } from '../../src/inference/admission.js';
import { QueueFullError } from '../../src/errors/rejections.js';

describe('Admission', () => {
  it('counts texts being tokenized and texts queued against one capacity, and refuses beyond it', () => {
    let queued = 0;
    const admission = new Admission(10, () => queued);
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
    const admission = new Admission(10, () => queued, 4);
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
    const admission = new Admission(2, () => queued);
    assert.equal(admission.waitForRoom(1000, 10), undefined);
    queued = 2;
    await assert.rejects(admission.waitForRoom(0, 10) as Promise<void>, /no|any more requested/);
    const started = performance.now();
    await assert.rejects(admission.waitForRoom(100, 10) as Promise<void>, QueueFullError);
    assert.ok(performance.now() - started >= 90);
  });
});
