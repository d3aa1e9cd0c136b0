import { extname } from 'node:path';

/** Record formats the batch job reads and writes. */
export const recordFormats = ['jsonl', 'csv', 'tsv'] as const;
export type RecordFormat = (typeof recordFormats)[number];

const byExtension: Record<string, RecordFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
};

/** The format a file name implies, if its extension names one. */
export function formatOfPath(path: string): RecordFormat | undefined {
  return byExtension[extname(path).toLowerCase()];
}

export function isRecordFormat(value: string): value is RecordFormat {
  return (recordFormats as readonly string[]).includes(value);
}

/** Field separator of a delimited format. */
export function delimiterOf(format: Exclude<RecordFormat, 'jsonl'>): string {
  return format === 'csv' ? ',' : '\t';
}
