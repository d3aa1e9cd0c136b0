import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission } from '../../src/inference/admission.js';
import { QueueFullError } from '../../src/rejections.js';

describe('Admission', () => {
  it('counts texts being tokenized and texts queued against one capacity, and refuses beyond it', () => {
    let queued = 0;
    const admission = new Admission(10, () => queued);
    const first = admission.admit(6);
    assert.equal(admission.inTokenization, 6);
    assert.throws(() => admission.admit(5), (error: unknown) => error instanceof QueueFullError && /6 texts waiting, 5 more/.test(error.message));
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
});
