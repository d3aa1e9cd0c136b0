import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LongTextShare, resolveLongTextTokens } from '../../src/queue/long-text-share.js';

describe('LongTextShare', () => {
  const limits = { longTextTokens: 128, longTextShare: 0.25 };

  it('counts a text as long above longTextTokens', () => {
    const share = new LongTextShare(limits);
    assert.equal(share.isLong(128), false);
    assert.equal(share.isLong(129), true);
  });

  it('lets long batches run until they have had their share of the recent engine time', () => {
    const share = new LongTextShare(limits);
    assert.equal(share.longMayRun(0), true, 'nothing has run yet');
    share.record(true, 1, 0);
    assert.equal(share.longMayRun(0), false, 'long batches had all of it');
    share.record(false, 2, 0);
    assert.equal(share.longMayRun(0), false, '1 s of 3 is a third');
    share.record(false, 1, 0);
    assert.equal(share.longMayRun(0), true, '1 s of 4 is a quarter');
  });

  it('forgets old engine time, so the share follows the recent mix', () => {
    const share = new LongTextShare(limits);
    share.record(false, 3, 0);
    share.record(true, 1, 0);
    assert.equal(share.longMayRun(0), true);
    // Ten seconds later the short time has decayed like the long: the ratio is the same, and a new long second
    // now weighs far more than what remains of the old mix.
    share.record(true, 1, 10_000);
    assert.equal(share.longMayRun(10_000), false);
  });

  it('lets long batches hold their share of the engine instances, and at least one', () => {
    const share = new LongTextShare(limits);
    assert.equal(share.concurrentLongBatches(1), 1);
    assert.equal(share.concurrentLongBatches(2), 1);
    assert.equal(share.concurrentLongBatches(8), 2);
    assert.equal(new LongTextShare({ ...limits, longTextShare: 1 }).concurrentLongBatches(8), 8);
  });

  it('never refuses with a share of 1', () => {
    const share = new LongTextShare({ ...limits, longTextShare: 1 });
    share.record(true, 100, 0);
    assert.equal(share.longMayRun(0), true);
  });
});

describe('resolveLongTextTokens', () => {
  it('takes half the model maximum length for auto, and a number as given', () => {
    assert.equal(resolveLongTextTokens('auto', 512), 256);
    assert.equal(resolveLongTextTokens('auto', 128), 64);
    assert.equal(resolveLongTextTokens(100, 512), 100);
  });
});
