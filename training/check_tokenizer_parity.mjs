// Checks that @huggingface/transformers' AutoTokenizer (what the server runs) and training's Python tokenizer
// produce identical ids. Usage: node check_tokenizer_parity.mjs <tokenizer dir> <ids.jsonl>
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';

const [dir, idsFile] = process.argv.slice(2);
env.allowRemoteModels = false;
env.localModelPath = path.dirname(path.resolve(dir));
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(dir));
let checked = 0, mismatched = 0;
for (const line of readFileSync(idsFile, 'utf8').split('\n')) {
  if (!line) continue;
  const { text, ids } = JSON.parse(line);
  const got = tokenizer.encode(text);
  checked++;
  if (got.length !== ids.length || got.some((v, i) => v !== ids[i])) {
    if (mismatched++ < 5) console.log('MISMATCH', JSON.stringify(text), ids.join(' '), '|', got.join(' '));
  }
}
console.log(`tokenizer parity: ${checked} texts, ${mismatched} mismatches`);
process.exit(mismatched ? 1 : 0);
