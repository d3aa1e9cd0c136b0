import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/config/package-root.js';

export const sentencesPath = join(packageRoot, 'bench', 'data', 'sentences.txt');

/** The benchmark's texts in their fixed (shuffled) order; see bench/data/build_sentences.py. */
export function loadSentences(path = sentencesPath): string[] {
  const texts = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  if (texts.length === 0) throw new Error(`${path}: no texts`);
  return texts;
}

/** Request bodies of `perRequest` consecutive texts each, one per starting text, wrapping around. */
export function requestBodies(texts: readonly string[], perRequest: number): string[] {
  return texts.map((_, start) => {
    if (perRequest === 1) return JSON.stringify({ text: texts[start] });
    const chosen = Array.from({ length: perRequest }, (_, k) => texts[(start + k) % texts.length] as string);
    return JSON.stringify({ text: chosen });
  });
}
