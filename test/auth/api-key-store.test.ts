import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ApiKeyStore } from '../../src/auth/api-key-store.js';

describe('ApiKeyStore', () => {
  it('accepts exactly the keys given and those in the file, skipping blanks and # comments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-store-'));
    const file = join(dir, 'keys');
    writeFileSync(file, '# team A\nalpha\r\n\n  beta  \n');
    const store = new ApiKeyStore({ keys: ['gamma'], file });
    try {
      assert.equal(store.size, 3);
      for (const key of ['alpha', 'beta', 'gamma']) assert.ok(store.accepts(key), key);
      for (const key of ['', 'alph', 'alpha ', '# team A', 'Alpha', 'gammagamma'])
        assert.ok(!store.accepts(key), JSON.stringify(key));
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the keys in force when the file cannot be re-read, and takes the new ones when it can', () => {
    const dir = mkdtempSync(join(tmpdir(), 'key-store-'));
    const file = join(dir, 'keys');
    writeFileSync(file, 'old\n');
    const errors: Error[] = [];
    const store = new ApiKeyStore({ file, onReloadError: (error) => errors.push(error) });
    try {
      rmSync(file);
      store.reload();
      assert.equal(errors.length, 1);
      assert.ok(store.accepts('old'));
      writeFileSync(file, 'new\n');
      store.reload();
      assert.ok(store.accepts('new'));
      assert.ok(!store.accepts('old'));
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at once when the file is missing at start', () => {
    assert.throws(() => new ApiKeyStore({ file: join(tmpdir(), 'no-such-dir-for-keys', 'keys') }), /ENOENT/);
  });
});
