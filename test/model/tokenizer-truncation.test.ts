import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { TextTokenizer } from '../../src/model/tokenizer.js';
import { testConfig } from '../support/config.js';

// Which end of an over-long text is cut (TEI's truncation_direction): the special tokens stay either way.

const maxLength = 16;
let tokenizer: TextTokenizer;
let untruncated: TextTokenizer;
before(async () => {
  const { modelDir } = testConfig();
  tokenizer = await TextTokenizer.load(modelDir, maxLength);
  untruncated = await TextTokenizer.load(modelDir, 100_000);
});

const text = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');

describe('TextTokenizer.encode truncation side', () => {
  it("right (the default) keeps the text's first tokens, left its last ones, both between [CLS] and [SEP]", () => {
    const full = untruncated.encode(text, 0, true).ids;
    assert.ok(full.length > maxLength * 2);
    const [cls, sep] = [full[0], full[full.length - 1]];
    const inner = full.slice(1, -1);

    const right = tokenizer.encode(text, 0, true).ids;
    assert.deepEqual(tokenizer.encode(text, 0, true, 'right').ids, right);
    assert.deepEqual(right, [cls, ...inner.slice(0, maxLength - 2), sep]);

    const left = tokenizer.encode(text, 0, true, 'left');
    assert.deepEqual(left.ids, [cls, ...inner.slice(inner.length - (maxLength - 2)), sep]);
    assert.equal(left.typeIds?.length ?? maxLength, maxLength);
  });

  it('a text that fits is the same either way', () => {
    assert.deepEqual(tokenizer.encode('short text', 0, true, 'left'), tokenizer.encode('short text', 0, true, 'right'));
  });

  it('refuses an over-long text without truncation whichever side is named', () => {
    assert.throws(() => tokenizer.encode(text, 3, false, 'left'), /text 3 has (over )?\d+ tokens/);
  });
});

describe('TextTokenizer.encode on a very long text', () => {
  it('cut from the left gives what tokenizing the whole text and keeping its end gives', async () => {
    const { modelDir } = testConfig();
    const model = await TextTokenizer.load(modelDir, 64);
    const long = Array.from({ length: 2000 }, (_, i) => `token${i % 97} and, more`).join(' ');
    const full = untruncated.encode(long, 0, true).ids;
    const left = model.encode(long, 0, true, 'left').ids;
    assert.deepEqual(left, [full[0], ...full.slice(full.length - 1 - 62, -1), full[full.length - 1]]);
    const right = model.encode(long, 0, true, 'right').ids;
    assert.deepEqual(right, [...full.slice(0, 63), full[full.length - 1]]);
  });
});
