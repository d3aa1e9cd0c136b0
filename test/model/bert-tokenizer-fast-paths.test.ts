import { AutoTokenizer, env } from '@huggingface/transformers';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { installBertFastPaths } from '../../src/model/bert-tokenizer-fast-paths.js';
import { TextTokenizer } from '../../src/model/tokenizer.js';
import { packageRoot } from '../../src/config/package-root.js';
import { testConfig } from '../support/config.js';

let fast: TextTokenizer;
let original: TextTokenizer;
before(async () => {
  const { modelDir } = testConfig();
  fast = await TextTokenizer.load(modelDir, 128);
  original = await TextTokenizer.load(modelDir, 128, { fastPaths: false });
});

const edgeCases = [
  '',
  'tab\there\nnew\rline\u000bvertical\u000cfeed\u0000nul\u007fdel\u001funit',
  'Ünïcödé naïve café RÉSUMÉ',
  '日本語のテキスト and 中文 mixed',
  '😀 emoji 👍🏽 family 👨‍👩‍👧',
  'a'.repeat(100),
  'a'.repeat(101),
  `${'x'.repeat(99)}é`,
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  'ǅemo Ⅻ ﬁne ß İstanbul ΣΊΣΥΦΟΣ',
  '\u200bzero\u200dwidth\u00adsoft\ufeffbom',
  'unbelievably-unfunny, well...',
  "don't can't won't it's",
  '   leading and trailing   ',
  '\ufffdreplacement',
];

/** Printable ASCII with some control characters and some of the first 12,288 code points mixed in, repeatably. */
function fuzzTexts(count: number): string[] {
  let state = 7;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return Array.from({ length: count }, () => {
    const length = 1 + Math.floor(next() * 40);
    let text = '';
    for (let i = 0; i < length; i++) {
      const roll = next();
      text += String.fromCharCode(
        roll < 0.85 ? 32 + Math.floor(next() * 95) : roll < 0.9 ? Math.floor(next() * 32) : Math.floor(next() * 0x3000),
      );
    }
    return text;
  });
}

function mismatchesOn(texts: readonly string[]): string[] {
  return texts.filter((text) => {
    const a = fast.encode(text, 0, true);
    const b = original.encode(text, 0, true);
    return a.ids.join() !== b.ids.join() || String(a.typeIds) !== String(b.typeIds);
  });
}

describe('BERT tokenizer fast paths', () => {
  it('are installed on the embedded model, a WordPiece tokenizer with the BERT normalizer', () => {
    const probe = {
      model: {
        config: { type: 'WordPiece' },
        tokens_to_ids: new Map(),
        unk_token: '[UNK]',
        max_input_chars_per_word: 100,
        encode: () => [],
      },
      normalizer: { config: { type: 'BertNormalizer' }, normalize: (text: string) => text },
    };
    assert.deepEqual(installBertFastPaths(probe), ['WordPiece', 'BertNormalizer']);
  });

  it('leave other tokenizers as they are', () => {
    const bpe = {
      model: { config: { type: 'BPE' }, encode: () => [] },
      normalizer: { config: { type: 'NFC' }, normalize: (text: string) => text },
    };
    const before = { encode: bpe.model.encode, normalize: bpe.normalizer.normalize };
    assert.deepEqual(installBertFastPaths(bpe), []);
    assert.equal(bpe.model.encode, before.encode);
    assert.equal(bpe.normalizer.normalize, before.normalize);
  });

  it('give the same ids as the original on the benchmark sentences (SST-2 dev and longer reviews)', () => {
    const sentences = readFileSync(join(packageRoot, 'bench', 'data', 'sentences.txt'), 'utf8')
      .split('\n')
      .filter(Boolean);
    assert.ok(sentences.length > 900);
    assert.deepEqual(mismatchesOn(sentences), []);
  });

  it('give the same ids as the original on control characters, accents, CJK, emoji and over-long words', () => {
    assert.deepEqual(mismatchesOn(edgeCases), []);
  });

  it('give the same ids as the original on 5,000 random strings', () => {
    assert.deepEqual(mismatchesOn(fuzzTexts(5000)), []);
  });
});

describe('the transformers.js internals the fast paths patch', () => {
  it('@huggingface/transformers is pinned to the exact version installed', () => {
    const pinned = (
      JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    ).dependencies['@huggingface/transformers'];
    const installed = (
      JSON.parse(readFileSync(join(packageRoot, 'node_modules/@huggingface/transformers/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    assert.match(pinned ?? '', /^\d+\.\d+\.\d+$/, 'an exact version: src/model/tokenizer.ts patches its internals');
    assert.equal(installed, pinned);
  });

  it('finds the WordPiece model and BERT normalizer where the model directory declares them', async () => {
    const { modelDir } = testConfig();
    const declared = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8')) as {
      model?: { type?: string };
      normalizer?: { type?: string } | null;
    };
    const expected = [
      ...(declared.model?.type === 'WordPiece' ? ['WordPiece'] : []),
      ...(declared.normalizer?.type === 'BertNormalizer' ? ['BertNormalizer'] : []),
    ];
    env.allowRemoteModels = false;
    const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
    const installed = installBertFastPaths(
      tokenizer._tokenizer as unknown as Parameters<typeof installBertFastPaths>[0],
    );
    assert.deepEqual(
      installed,
      expected,
      'the fast paths no longer find the objects they replace: after an upgrade of @huggingface/transformers, ' +
        're-check src/model/bert-tokenizer-fast-paths.ts against its WordPiece and BertNormalizer',
    );
  });
});
