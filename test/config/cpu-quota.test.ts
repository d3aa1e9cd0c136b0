import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableCpus } from '../../src/config/cpu-quota.js';

const files = (contents: Record<string, string>) => (path: string) => contents[path];

describe('availableCpus', () => {
  it('is the host CPU count where no cgroup limit is readable', () => {
    assert.equal(availableCpus(files({}), 8), 8);
  });

  it('reads a cgroup v2 limit, rounding a fractional one up', () => {
    assert.equal(availableCpus(files({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' }), 64), 2);
    assert.equal(availableCpus(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }), 64), 2);
    assert.equal(availableCpus(files({ '/sys/fs/cgroup/cpu.max': '50000 100000\n' }), 64), 1);
  });

  it('treats "max" as no limit, and never exceeds the host', () => {
    assert.equal(availableCpus(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }), 6), 6);
    assert.equal(availableCpus(files({ '/sys/fs/cgroup/cpu.max': '800000 100000\n' }), 4), 4);
  });

  it('reads a cgroup v1 limit, where -1 means none', () => {
    const v1 = (quota: string) =>
      files({
        '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': `${quota}\n`,
        '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
      });
    assert.equal(availableCpus(v1('300000'), 16), 3);
    assert.equal(availableCpus(v1('-1'), 16), 16);
  });

  it('is at least 1 on this machine', () => {
    assert.ok(availableCpus() >= 1);
  });
});
