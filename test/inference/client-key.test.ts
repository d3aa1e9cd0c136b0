import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientKeyOf } from '../../src/inference/client-key.js';

describe('clientKeyOf', () => {
  it('names a client by its API key, hashed, before any header or address', () => {
    const key = clientKeyOf({ authorization: 'Bearer secret-key', named: 'proxy-name', address: '10.0.0.1' });
    assert.match(key, /^key:[\w-]{43}$/);
    assert.doesNotMatch(key, /secret/);
    assert.equal(
      key,
      clientKeyOf({ authorization: 'Bearer secret-key', address: '10.0.0.2' }),
      'the same key, one client',
    );
    assert.notEqual(key, clientKeyOf({ authorization: 'Bearer other-key', address: '10.0.0.1' }));
  });

  it('falls back to the named header, then the address, each kind prefixed so none poses as another', () => {
    assert.equal(clientKeyOf({ named: 'tenant-7', address: '10.0.0.1' }), 'header:tenant-7');
    assert.equal(clientKeyOf({ named: '', address: '10.0.0.1' }), 'address:10.0.0.1');
    assert.equal(clientKeyOf({ authorization: 'Basic abc', address: '10.0.0.1' }), 'address:10.0.0.1');
    assert.notEqual(clientKeyOf({ named: '10.0.0.1', address: '::1' }), clientKeyOf({ address: '10.0.0.1' }));
    assert.equal(clientKeyOf({ named: 'x'.repeat(1000), address: '::1' }).length, 'header:'.length + 256);
  });
});
