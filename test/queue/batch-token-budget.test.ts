import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveMaxBatchTokens } from '../../src/queue/batch-token-budget.js';

describe('resolveMaxBatchTokens', () => {
  it('keeps a number given in MAX_BATCH_TOKENS', () => {
    assert.equal(resolveMaxBatchTokens(777, 'cpu', 768), 777);
    assert.equal(resolveMaxBatchTokens(777, 'cuda', 768), 777);
  });

  it('on CPU gives wide models smaller batches: 512 tokens at 768 wide, 3072 at 128', () => {
    assert.equal(resolveMaxBatchTokens('auto', 'cpu', 768), 512);
    assert.equal(resolveMaxBatchTokens('auto', 'cpu', 128), 3072);
    assert.equal(resolveMaxBatchTokens('auto', 'cpu', 1024), 384);
  });

  it('stays between 256 and 8192 tokens, and is 8192 when the width is unknown', () => {
    assert.equal(resolveMaxBatchTokens('auto', 'cpu', 32), 8192);
    assert.equal(resolveMaxBatchTokens('auto', 'cpu', 4096), 256);
    assert.equal(resolveMaxBatchTokens('auto', 'cpu', undefined), 8192);
  });

  it('gives a GPU large batches whatever the width', () => {
    assert.equal(resolveMaxBatchTokens('auto', 'cuda', 768), 16384);
  });
});
