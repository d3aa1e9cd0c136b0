import type { CsvRow } from './csv-reader.js';
import type { Line } from './line-reader.js';
import { ServiceError } from '../errors/error-codes.js';

/** A record to score, or a line that cannot be one; line numbers are 1-based physical lines of the input. */
export type InputItem =
  | { kind: 'record'; line: number; text: string; fields: Record<string, unknown> }
  | { kind: 'malformed'; line: number; message: string };

/** The names the job reads the text from and writes its results to. */
export interface FieldNames {
  text: string;
  label: string;
  score: string;
}

/** A problem with the input as a whole (its header), not with one record: the job cannot start. */
export class InputFormatError extends ServiceError {
  constructor(message: string) {
    super('SENTIMENT_INPUT_FORMAT', message);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function resultFieldClash(fields: Record<string, unknown>, names: FieldNames): string | undefined {
  for (const [flag, name] of [
    ['--label-field', names.label],
    ['--score-field', names.score],
  ] as const) {
    if (Object.hasOwn(fields, name)) {
      return `already has a field "${name}", which the result would overwrite; name the result field with ${flag}`;
    }
  }
  return undefined;
}

/** JSON Lines: one object per non-blank line, its text in a string field. */
export async function* jsonlRecords(lines: AsyncIterable<Line>, names: FieldNames): AsyncGenerator<InputItem> {
  for await (const entry of lines) {
    const { line } = entry;
    if (entry.kind === 'too-long') {
      yield {
        kind: 'malformed',
        line,
        message: `line is ${entry.bytes} bytes, more than the limit (--max-record-bytes)`,
      };
      continue;
    }
    if (entry.text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(entry.text);
    } catch (error) {
      yield { kind: 'malformed', line, message: `not valid JSON (${(error as Error).message})` };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { kind: 'malformed', line, message: `a JSON object is expected, got ${typeName(value)}` };
      continue;
    }
    const fields = value as Record<string, unknown>;
    const text = fields[names.text];
    if (!Object.hasOwn(fields, names.text)) {
      yield { kind: 'malformed', line, message: `has no field "${names.text}" (set the text field with --text-field)` };
    } else if (typeof text !== 'string') {
      yield { kind: 'malformed', line, message: `field "${names.text}" is ${typeName(text)}, not a string` };
    } else {
      const clash = resultFieldClash(fields, names);
      yield clash === undefined ? { kind: 'record', line, text, fields } : { kind: 'malformed', line, message: clash };
    }
  }
}

/** CSV/TSV: the first record is the header; every other record has one field per column. */
export async function* delimitedRecords(rows: AsyncIterable<CsvRow>, names: FieldNames): AsyncGenerator<InputItem> {
  let columns: string[] | undefined;
  let textColumn = -1;
  for await (const row of rows) {
    if (row.kind === 'malformed') {
      if (columns === undefined) throw new InputFormatError(`header (line ${row.line}): ${row.message}`);
      yield row;
      continue;
    }
    if (columns === undefined) {
      columns = checkedHeader(row.fields, row.line, names);
      textColumn = columns.indexOf(names.text);
      continue;
    }
    if (row.fields.length !== columns.length) {
      yield {
        kind: 'malformed',
        line: row.line,
        message: `has ${row.fields.length} field${row.fields.length === 1 ? '' : 's'}, the header has ${columns.length}`,
      };
      continue;
    }
    const fields: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) fields[columns[i] as string] = row.fields[i];
    yield { kind: 'record', line: row.line, text: row.fields[textColumn] as string, fields };
  }
}

function checkedHeader(header: string[], line: number, names: FieldNames): string[] {
  const where = `header (line ${line})`;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new InputFormatError(`${where}: column "${name}" appears twice`);
    seen.add(name);
  }
  if (!seen.has(names.text)) {
    throw new InputFormatError(
      `${where}: no column "${names.text}" (columns: ${header.map((name) => JSON.stringify(name)).join(', ')}); ` +
        'set the text column with --text-field',
    );
  }
  for (const [flag, name] of [
    ['--label-field', names.label],
    ['--score-field', names.score],
  ] as const) {
    if (seen.has(name)) {
      throw new InputFormatError(
        `${where}: already has a column "${name}", which the result would overwrite; name the result column with ${flag}`,
      );
    }
  }
  return header;
}
