import { StringDecoder } from 'node:string_decoder';

/** One record of a delimited (CSV/TSV) stream, numbered by the physical line it starts on. */
export type CsvRow =
  | { kind: 'row'; line: number; fields: string[] }
  | { kind: 'malformed'; line: number; message: string };

export interface CsvReaderOptions {
  /** One character: ',' for CSV, '\t' for TSV. */
  delimiter: string;
  /** Longest record kept, in characters; a longer one is reported and skipped, so memory stays bounded. */
  maxRecordChars: number;
}

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: the field's end, or the first half of an escaped "". */
  AfterQuote,
  /** Discarding the rest of an over-long record's line. */
  SkipLine,
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Streaming RFC 4180 reader. Quoted fields may hold delimiters, quotes ("") and newlines; LF and CRLF end records;
 * blank lines are not records. Lenient where readers commonly are: a quote inside an unquoted field is a literal
 * character (as in Python's csv module). Malformed where the data is ambiguous: characters after a closing quote,
 * a quote never closed, a record over the length limit; such a record is reported with the line it starts on,
 * and reading resumes at the next record (after an over-long one, at the next line).
 */
export async function* readCsv(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  options: CsvReaderOptions,
): AsyncGenerator<CsvRow> {
  const delimiter = options.delimiter.charCodeAt(0);
  if (options.delimiter.length !== 1 || delimiter === QUOTE || delimiter === LF || delimiter === CR) {
    throw new Error(`invalid delimiter ${JSON.stringify(options.delimiter)}`);
  }
  const decoder = new StringDecoder('utf8');
  let state = State.FieldStart;
  let fields: string[] = [];
  let field = '';
  /** Characters of the current record seen so far, excluding its line ending. */
  let recordChars = 0;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 1;
  let problem: string | undefined;
  let pendingCR = false;
  let atStart = true;

  const startRecord = (): void => {
    fields = [];
    field = '';
    recordChars = 0;
    problem = undefined;
    state = State.FieldStart;
    recordLine = line;
  };

  /** Ends the record at a line ending (line already advanced); undefined for a blank line. */
  const endRecord = (): CsvRow | undefined => {
    const startLine = recordLine;
    const blank = recordChars === 0;
    fields.push(field);
    const row: CsvRow | undefined = blank
      ? undefined
      : problem !== undefined
        ? { kind: 'malformed', line: startLine, message: problem }
        : { kind: 'row', line: startLine, fields };
    startRecord();
    return row;
  };

  function* consume(text: string): Generator<CsvRow> {
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (state === State.SkipLine) {
        const newline = text.indexOf('\n', i);
        if (newline === -1) return;
        i = newline + 1;
        line += 1;
        startRecord();
        continue;
      }
      const c = text.charCodeAt(i);
      if (pendingCR) {
        pendingCR = false;
        // A CR not followed by LF is data (the CR of a CRLF is not).
        if (c !== LF) {
          if (state === State.AfterQuote) {
            problem ??= `unexpected carriage return after the closing quote of field ${fields.length + 1}`;
            state = State.Unquoted;
          }
          field += '\r';
          recordChars += 1;
        }
      }
      switch (state) {
        case State.FieldStart:
          if (c === QUOTE) {
            state = State.Quoted;
            quoteLine = line;
            recordChars += 1;
            i += 1;
          } else {
            state = State.Unquoted;
          }
          break;
        case State.Unquoted: {
          let j = i;
          while (j < n) {
            const d = text.charCodeAt(j);
            if (d === delimiter || d === LF || d === CR) break;
            j += 1;
          }
          if (j > i) {
            field += text.slice(i, j);
            recordChars += j - i;
          }
          i = j;
          if (i === n) break;
          const d = text.charCodeAt(i);
          i += 1;
          if (d === delimiter) {
            fields.push(field);
            field = '';
            recordChars += 1;
            state = State.FieldStart;
          } else if (d === CR) {
            pendingCR = true;
          } else {
            line += 1;
            const row = endRecord();
            if (row !== undefined) yield row;
          }
          break;
        }
        case State.Quoted: {
          let j = i;
          while (j < n) {
            const d = text.charCodeAt(j);
            if (d === QUOTE) break;
            if (d === LF) line += 1;
            j += 1;
          }
          if (j > i) {
            field += text.slice(i, j);
            recordChars += j - i;
          }
          i = j;
          if (i === n) break;
          i += 1;
          recordChars += 1;
          state = State.AfterQuote;
          break;
        }
        case State.AfterQuote:
          if (c === QUOTE) {
            field += '"';
            recordChars += 1;
            state = State.Quoted;
            i += 1;
          } else if (c === delimiter) {
            fields.push(field);
            field = '';
            recordChars += 1;
            state = State.FieldStart;
            i += 1;
          } else if (c === LF) {
            line += 1;
            i += 1;
            const row = endRecord();
            if (row !== undefined) yield row;
          } else if (c === CR) {
            pendingCR = true;
            i += 1;
          } else {
            // Keep reading the rest of the field as plain text so the record still ends where it should.
            problem ??= `unexpected character ${JSON.stringify(text[i])} after the closing quote of field ${fields.length + 1}`;
            state = State.Unquoted;
          }
          break;
      }
      if (recordChars > options.maxRecordChars) {
        const runaway = state === State.Quoted ? ` (a quote opened on line ${quoteLine} and not closed?)` : '';
        yield {
          kind: 'malformed',
          line: recordLine,
          message: `record is longer than ${options.maxRecordChars} characters${runaway}; skipped to the next line`,
        };
        fields = [];
        field = '';
        recordChars = 0;
        pendingCR = false;
        state = State.SkipLine;
      }
    }
  }

  for await (const chunk of chunks) {
    let text = decoder.write(chunk);
    if (atStart && text.length > 0) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    yield* consume(text);
  }
  yield* consume(decoder.end());
  pendingCR = false;
  // (TypeScript cannot see that consume() changed it.)
  const finalState = state as State;
  if (finalState === State.SkipLine) return;
  if (finalState === State.Quoted) {
    yield { kind: 'malformed', line: recordLine, message: `a quote opened on line ${quoteLine} is never closed` };
    return;
  }
  const row = endRecord();
  if (row !== undefined) yield row;
}
