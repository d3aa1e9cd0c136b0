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

  it("lets long batches run until they have had their share of the machine's recent CPU time", () => {
    // 2 CPUs: over a window of 1/ln 2 s (half-life 1 s) the machine has about 2.9 CPU-seconds; a quarter is 0.72.
    const share = new LongTextShare({ ...limits, cpus: 2, threadsPerBatch: 2 });
    assert.equal(share.longMayRun(0), true, 'nothing has run yet');
    share.record(true, 0.3, 0);
    assert.equal(share.longMayRun(0), true, '0.6 CPU-seconds (0.3 s on 2 threads) is within a quarter');
    share.record(true, 0.1, 0);
    assert.equal(share.longMayRun(0), false, '0.8 CPU-seconds is past it');
    share.record(false, 0.01, 0);
    const wait = share.msUntilLongMayRun(0);
    assert.ok(wait > 0 && wait < 1000, `${wait} ms`);
    assert.equal(share.longMayRun(wait - 5), false);
    assert.equal(share.longMayRun(wait + 5), true, 'decayed back within the share when the wait ends');
  });

  it('counts tokenization of long texts, and short batches only as a sign of short traffic', () => {
    const share = new LongTextShare({ ...limits, cpus: 1, threadsPerBatch: 1 });
    assert.equal(share.shortTrafficActive(0), false);
    share.record(false, 5, 0);
    assert.equal(share.shortTrafficActive(0), true);
    assert.equal(share.longMayRun(0), true, 'short engine time is not long CPU time');
    assert.equal(share.shortTrafficActive(1000), false, 'short traffic ends a half-life after its last batch');
    share.recordLongWork(0.5, 1000);
    assert.equal(share.longMayRun(1000), false, 'half a second of 1.44 CPU-seconds is over a quarter');
  });

  it('forgets old CPU time, so the share follows the recent mix', () => {
    const share = new LongTextShare({ ...limits, cpus: 1, threadsPerBatch: 1 });
    share.record(true, 1, 0);
    assert.equal(share.longMayRun(0), false);
    assert.equal(share.longMayRun(10_000), true);
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
  it('takes three quarters of the model maximum length for auto, and a number as given', () => {
    assert.equal(resolveLongTextTokens('auto', 512), 384);
    assert.equal(resolveLongTextTokens('auto', 128), 96);
    assert.equal(resolveLongTextTokens(100, 512), 100);
  });
});
