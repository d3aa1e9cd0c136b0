import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/config/package-root.js';

/** SST-2's validation split, shared by every checkout and CI at ../shared (label\tcontent, 872 rows). */
export const devSetPath = join(packageRoot, '..', 'shared', 'data', 'sst2', 'dev.tsv');

export interface LabelledText {
  label: number;
  text: string;
}

export function readDevSet(path = devSetPath): LabelledText[] {
  const [header, ...lines] = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
  if (header !== 'label\tcontent')
    throw new Error(`${path}: expected a "label\\tcontent" header, got ${JSON.stringify(header)}`);
  return lines.map((line, i) => {
    const tab = line.indexOf('\t');
    const label = Number(line.slice(0, tab));
    if (tab < 0 || (label !== 0 && label !== 1)) throw new Error(`${path}:${i + 2}: expected "0|1\\ttext"`);
    return { label, text: line.slice(tab + 1) };
  });
}
