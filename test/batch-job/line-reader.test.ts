import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readLines } from '../../src/batch-job/line-reader.js';
import { chunked, collect } from '../support/collect.js';

describe('readLines', () => {
  it('splits LF and CRLF lines, numbers them from 1, and keeps a last line without a newline', async () => {
    const lines = await collect(readLines(chunked('a\r\nb\n\nc', 64), 100));
    assert.deepEqual(lines, [
      { kind: 'line', line: 1, text: 'a' },
      { kind: 'line', line: 2, text: 'b' },
      { kind: 'line', line: 3, text: '' },
      { kind: 'line', line: 4, text: 'c' },
    ]);
  });

  it('gives the same lines whatever the chunk boundaries, multi-byte characters cut in two included', async () => {
    const text = '{"text":"héllo wörld ✓"}\r\n{"text":"日本語のテキスト"}\n\uFEFFnot a BOM here\n';
    const whole = await collect(readLines([Buffer.from(text)], 1000));
    for (const size of [1, 2, 3, 5, 7])
      assert.deepEqual(await collect(readLines(chunked(text, size), 1000)), whole, `chunks of ${size}`);
    assert.equal(whole.length, 3);
    assert.equal((whole[1] as { text: string }).text, '{"text":"日本語のテキスト"}');
  });

  it('drops a UTF-8 byte-order mark at the start of the input', async () => {
    const lines = await collect(readLines(chunked('\uFEFFfirst\nsecond\n', 2), 100));
    assert.deepEqual(
      lines.map((l) => (l.kind === 'line' ? l.text : '')),
      ['first', 'second'],
    );
  });

  it('reports a line over the limit without keeping it, and goes on with the next line', async () => {
    const long = 'x'.repeat(50);
    const lines = await collect(readLines(chunked(`short\n${long}\nafter\n${long}`, 8), 20));
    assert.deepEqual(lines, [
      { kind: 'line', line: 1, text: 'short' },
      { kind: 'too-long', line: 2, bytes: 50 },
      { kind: 'line', line: 3, text: 'after' },
      { kind: 'too-long', line: 4, bytes: 50 },
    ]);
  });

  it('yields nothing for an empty input', async () => {
    assert.deepEqual(await collect(readLines([], 10)), []);
  });
});
