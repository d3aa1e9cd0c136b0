import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadModel, type Model } from '../../src/model/model.js';
import { TextTooLongError } from '../../src/errors/rejections.js';
import { testConfig } from '../support/config.js';

let model: Model;
before(async () => {
  const config = testConfig();
  model = await loadModel(config.modelDir, config.dtype, config.engine);
});

const longText = Array.from({ length: 400 }, (_, i) => `word${i % 7} is fine`).join(' ');

describe('TextTokenizer (embedded model)', () => {
  it('wraps a text in [CLS] … [SEP], lower-cased WordPiece, with segment ids', () => {
    const empty = model.tokenizer.encode('', 0, true);
    assert.equal(empty.ids.length, 2, 'an empty text is [CLS] [SEP]');
    const [cls, sep] = empty.ids;
    const encoded = model.tokenizer.encode('I love using this product!', 0, true);
    assert.equal(encoded.ids[0], cls);
    assert.equal(encoded.ids.at(-1), sep);
    assert.ok(encoded.ids.length > 4);
    assert.deepEqual(model.tokenizer.encode('I LOVE using THIS product!', 0, true).ids, encoded.ids);
    assert.deepEqual(
      encoded.typeIds,
      encoded.ids.map(() => 0),
    );
  });

  it('cuts an over-long text to the maximum length and keeps its closing [SEP], as Hugging Face does', () => {
    const [cls, sep] = model.tokenizer.encode('', 0, true).ids;
    const truncated = model.tokenizer.encode(longText, 0, true);
    assert.equal(truncated.ids.length, model.maxLength);
    assert.equal(truncated.typeIds?.length, model.maxLength);
    assert.equal(truncated.ids[0], cls);
    assert.equal(truncated.ids.at(-1), sep);
    // The kept tokens are the text's first ones.
    const head = model.tokenizer.encode(longText.slice(0, 200), 0, true).ids;
    assert.deepEqual(truncated.ids.slice(1, 20), head.slice(1, 20));
  });

  it('refuses an over-long text when truncation is off, saying which text and how long', () => {
    assert.throws(
      () => model.tokenizer.encode('fine '.repeat(2000), 3, false),
      (error: unknown) => {
        assert.ok(error instanceof TextTooLongError);
        assert.equal(error.reason, 'too_long');
        assert.match(
          error.message,
          new RegExp(`^text 3 has (over )?\\d+ tokens, more than the model's maximum of ${model.maxLength}`),
        );
        return true;
      },
    );
  });

  it('accepts a text of exactly the maximum length with truncation off', () => {
    const words: string[] = [];
    while (model.tokenizer.encode(words.join(' '), 0, true).ids.length < model.maxLength) words.push('fine');
    const exact = model.tokenizer.encode(words.join(' '), 0, false);
    assert.equal(exact.ids.length, model.maxLength);
  });

  it('truncates a very long text from its head alone, exactly as if the whole text were tokenized', () => {
    const sentence = 'The acting is superb, but the script lets it down badly. ';
    const huge = sentence.repeat(20_000);
    // Shorter than the head-only threshold, yet over the model's maximum: tokenized whole.
    const moderate = sentence.repeat(40);
    assert.ok(model.tokenizer.encode(moderate, 0, true).ids.length === model.maxLength);
    assert.deepEqual(model.tokenizer.encode(huge, 0, true), model.tokenizer.encode(moderate, 0, true));
    assert.throws(
      () => model.tokenizer.encode(huge, 0, false),
      /^.*text 0 has over \d+ tokens, more than the model's maximum/,
    );
  });
});
