import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cutCharacters } from '../../src/model/character-cut.js';

describe('cutCharacters', () => {
  it('leaves a text that fits as it is', () => {
    assert.equal(cutCharacters('short text', 100), 'short text');
    assert.equal(cutCharacters('short text', 100, 'left'), 'short text');
  });

  it('cuts a text with no whitespace at all (a megabyte of punctuation) to the bound', () => {
    const punctuation = '!'.repeat(1_000_000);
    assert.equal(cutCharacters(punctuation, 2048).length, 2048);
    assert.equal(cutCharacters(punctuation, 2048, 'left').length, 2048);
  });

  it('keeps the start (right) or the end (left), at a word boundary when one is near', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' ');
    const head = cutCharacters(text, 100);
    assert.ok(text.startsWith(head) && head.length <= 100 && head.length > 36);
    assert.ok(text.charAt(head.length) === ' ', 'the cut falls on a space, no word is split');
    const tail = cutCharacters(text, 100, 'left');
    assert.ok(text.endsWith(tail) && tail.length <= 100 && tail.length > 36);
    assert.ok(text.charAt(text.length - tail.length - 1) === ' ');
    assert.ok(tail.endsWith('w999'));
  });

  it('never splits a surrogate pair (emoji)', () => {
    const emoji = '😀'.repeat(1000);
    const head = cutCharacters(emoji, 101);
    assert.equal(head.length, 100);
    assert.equal(head, '😀'.repeat(50));
    const tail = cutCharacters(emoji, 101, 'left');
    assert.equal(tail, '😀'.repeat(50));
  });
});
