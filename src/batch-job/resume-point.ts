import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { readCsv } from './csv-reader.js';
import { delimiterOf, type RecordFormat } from './formats.js';
import { OutputMismatchError } from './record-writer.js';

/** Where an earlier run's output ends: what it holds and what to cut before appending. */
export interface ResumePoint {
  /** Complete records in the output (a CSV/TSV header not counted). */
  records: number;
  /** Length of the complete part: everything after it is a record cut off mid-write, to be truncated. */
  keepBytes: number;
  /** Bytes after keepBytes. */
  partialBytes: number;
  /** The header of a CSV/TSV output, when it is complete. */
  header: string[] | undefined;
  /** The text field of the last complete record, to check that the input is the one the output came from. */
  lastText: string | undefined;
}

const LF = 0x0a;
const QUOTE = 0x22;

/**
 * Byte offsets just past the end of each of the last two complete records, and how many records end in the
 * file. Output is written by this job, so records end at a newline; in CSV/TSV, a newline inside a quoted field
 * (quotes toggle, "" toggles twice) is not an end. Both bytes are ASCII, so scanning bytes is safe in UTF-8.
 */
async function scanRecordEnds(
  path: string,
  quoted: boolean,
): Promise<{ ends: number; firstEnd: number; lastEnd: number; previousEnd: number; size: number }> {
  let ends = 0;
  let firstEnd = 0;
  let lastEnd = 0;
  let previousEnd = 0;
  let offset = 0;
  let inQuotes = false;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let i = 0;
    while (i < chunk.length) {
      let at: number;
      if (!quoted) {
        at = chunk.indexOf(LF, i);
      } else if (inQuotes) {
        at = chunk.indexOf(QUOTE, i);
      } else {
        const quote = chunk.indexOf(QUOTE, i);
        const newline = chunk.indexOf(LF, i);
        at = quote === -1 ? newline : newline === -1 ? quote : Math.min(quote, newline);
      }
      if (at === -1) break;
      i = at + 1;
      if (chunk[at] === QUOTE) {
        inQuotes = !inQuotes;
        continue;
      }
      ends += 1;
      previousEnd = lastEnd;
      lastEnd = offset + at + 1;
      if (ends === 1) firstEnd = lastEnd;
    }
    offset += chunk.length;
  }
  return { ends, firstEnd, lastEnd, previousEnd, size: offset };
}

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** One CSV/TSV record (an output's header or last record), parsed by the reader the job reads input with. */
export async function parseCsvRecord(bytes: Buffer, delimiter: string): Promise<string[]> {
  for await (const row of readCsv([bytes], { delimiter, maxRecordChars: Infinity })) {
    if (row.kind === 'row') return row.fields;
    throw new OutputMismatchError(`a record of the output is malformed (${row.message}); cannot tell where to resume`);
  }
  throw new OutputMismatchError('a record of the output is empty; cannot tell where to resume');
}

/** Reads an earlier run's output to find where to continue. */
export async function findResumePoint(path: string, format: RecordFormat, textField: string): Promise<ResumePoint> {
  const scan = await scanRecordEnds(path, format !== 'jsonl');
  const partialBytes = scan.size - scan.lastEnd;
  if (format === 'jsonl') {
    if (scan.ends === 0) return { records: 0, keepBytes: 0, partialBytes, header: undefined, lastText: undefined };
    const last = (await readRange(path, scan.previousEnd, scan.lastEnd)).toString('utf8');
    let record: unknown;
    try {
      record = JSON.parse(last);
    } catch {
      throw new OutputMismatchError(`the last complete line of ${path} is not valid JSON; cannot tell where to resume`);
    }
    const text = (record as Record<string, unknown> | null)?.[textField];
    if (typeof text !== 'string') {
      throw new OutputMismatchError(
        `the last record of ${path} has no string field "${textField}"; not the output of this job?`,
      );
    }
    return { records: scan.ends, keepBytes: scan.lastEnd, partialBytes, header: undefined, lastText: text };
  }

  const delimiter = delimiterOf(format);
  // Not even a complete header: start over.
  if (scan.ends === 0) return { records: 0, keepBytes: 0, partialBytes, header: undefined, lastText: undefined };
  const header = await parseCsvRecord(await readRange(path, 0, scan.firstEnd), delimiter);
  if (scan.ends === 1) return { records: 0, keepBytes: scan.lastEnd, partialBytes, header, lastText: undefined };
  const last = await parseCsvRecord(await readRange(path, scan.previousEnd, scan.lastEnd), delimiter);
  const textColumn = header.indexOf(textField);
  if (textColumn === -1 || last.length !== header.length) {
    throw new OutputMismatchError(
      `${path} does not have the columns this job writes (no "${textField}", or a record of another width)`,
    );
  }
  return { records: scan.ends - 1, keepBytes: scan.lastEnd, partialBytes, header, lastText: last[textColumn] };
}
