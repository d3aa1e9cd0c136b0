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
 * The reader's state between chunks: the record being read, where it started, and the state machine's position.
 * One method per state, each consuming from `text` at `at` and returning the record it ended, if any.
 */
class CsvRecordParser {
  private state = State.FieldStart;
  private fields: string[] = [];
  private field = '';
  /** Characters of the current record seen so far, excluding its line ending. */
  private recordChars = 0;
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  private problem: string | undefined;
  private pendingCR = false;
  /** The chunk being read, and the position in it. */
  private text = '';
  private at = 0;

  constructor(
    private readonly delimiter: number,
    private readonly maxRecordChars: number,
  ) {}

  /** The records that end in `text`; a record still open at its end goes on with the next chunk. */
  *consume(text: string): Generator<CsvRow> {
    this.text = text;
    this.at = 0;
    while (this.at < text.length) {
      if (this.state === State.SkipLine) {
        if (!this.skipLine()) return;
        continue;
      }
      const c = text.charCodeAt(this.at);
      if (this.pendingCR) this.takePendingCR(c);
      const row = this.step(c);
      if (row !== undefined) yield row;
      const overLong = this.cutOverLong();
      if (overLong !== undefined) yield overLong;
    }
  }

  /** What the end of the input leaves: the last record (with no line ending), or a quote never closed. */
  *finish(): Generator<CsvRow> {
    this.pendingCR = false;
    if (this.state === State.SkipLine) return;
    if (this.state === State.Quoted) {
      yield {
        kind: 'malformed',
        line: this.recordLine,
        message: `a quote opened on line ${this.quoteLine} is never closed`,
      };
      return;
    }
    const row = this.endRecord();
    if (row !== undefined) yield row;
  }

  private step(c: number): CsvRow | undefined {
    switch (this.state) {
      case State.FieldStart:
        this.fieldStart(c);
        return undefined;
      case State.Unquoted:
        return this.unquoted();
      case State.Quoted:
        this.quoted();
        return undefined;
      case State.AfterQuote:
        return this.afterQuote(c);
      default:
        return undefined;
    }
  }

  private startRecord(): void {
    this.fields = [];
    this.field = '';
    this.recordChars = 0;
    this.problem = undefined;
    this.state = State.FieldStart;
    this.recordLine = this.line;
  }

  /** Ends the record at a line ending (line already advanced); undefined for a blank line. */
  private endRecord(): CsvRow | undefined {
    const startLine = this.recordLine;
    const blank = this.recordChars === 0;
    const problem = this.problem;
    const fields = this.fields;
    fields.push(this.field);
    this.startRecord();
    if (blank) return undefined;
    return problem !== undefined
      ? { kind: 'malformed', line: startLine, message: problem }
      : { kind: 'row', line: startLine, fields };
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.recordChars += 1;
    this.state = State.FieldStart;
  }

  /** Past the rest of an over-long record's line; false when this chunk ends first. */
  private skipLine(): boolean {
    const newline = this.text.indexOf('\n', this.at);
    if (newline === -1) return false;
    this.at = newline + 1;
    this.line += 1;
    this.startRecord();
    return true;
  }

  /** A CR not followed by LF is data (the CR of a CRLF is not). */
  private takePendingCR(c: number): void {
    this.pendingCR = false;
    if (c === LF) return;
    if (this.state === State.AfterQuote) {
      this.problem ??= `unexpected carriage return after the closing quote of field ${this.fields.length + 1}`;
      this.state = State.Unquoted;
    }
    this.field += '\r';
    this.recordChars += 1;
  }

  private fieldStart(c: number): void {
    if (c !== QUOTE) {
      this.state = State.Unquoted;
      return;
    }
    this.state = State.Quoted;
    this.quoteLine = this.line;
    this.recordChars += 1;
    this.at += 1;
  }

  /** Adds the chunk's characters from `at` up to `end` to the field, and moves `at` there. */
  private takeTo(end: number): void {
    if (end > this.at) {
      this.field += this.text.slice(this.at, end);
      this.recordChars += end - this.at;
    }
    this.at = end;
  }

  private unquoted(): CsvRow | undefined {
    const { text, delimiter } = this;
    let end = this.at;
    while (end < text.length) {
      const code = text.charCodeAt(end);
      if (code === delimiter || code === LF || code === CR) break;
      end += 1;
    }
    this.takeTo(end);
    if (end === text.length) return undefined;
    const d = text.charCodeAt(end);
    this.at += 1;
    if (d === delimiter) {
      this.endField();
    } else if (d === CR) {
      this.pendingCR = true;
    } else {
      this.line += 1;
      return this.endRecord();
    }
    return undefined;
  }

  private quoted(): void {
    const { text } = this;
    let end = this.at;
    while (end < text.length) {
      const code = text.charCodeAt(end);
      if (code === QUOTE) break;
      if (code === LF) this.line += 1;
      end += 1;
    }
    this.takeTo(end);
    if (end === text.length) return;
    this.at += 1;
    this.recordChars += 1;
    this.state = State.AfterQuote;
  }

  private afterQuote(c: number): CsvRow | undefined {
    if (c === QUOTE) {
      this.field += '"';
      this.recordChars += 1;
      this.state = State.Quoted;
    } else if (c === this.delimiter) {
      this.endField();
    } else if (c === LF) {
      this.line += 1;
      this.at += 1;
      return this.endRecord();
    } else if (c === CR) {
      this.pendingCR = true;
    } else {
      // Keep reading the rest of the field as plain text so the record still ends where it should.
      this.problem ??= `unexpected character ${JSON.stringify(this.text[this.at])} after the closing quote of field ${this.fields.length + 1}`;
      this.state = State.Unquoted;
      return undefined;
    }
    this.at += 1;
    return undefined;
  }

  /** A record over the length limit is reported once and the rest of its line skipped. */
  private cutOverLong(): CsvRow | undefined {
    if (this.recordChars <= this.maxRecordChars) return undefined;
    const runaway = this.state === State.Quoted ? ` (a quote opened on line ${this.quoteLine} and not closed?)` : '';
    this.fields = [];
    this.field = '';
    this.recordChars = 0;
    this.pendingCR = false;
    this.state = State.SkipLine;
    return {
      kind: 'malformed',
      line: this.recordLine,
      message: `record is longer than ${this.maxRecordChars} characters${runaway}; skipped to the next line`,
    };
  }
}

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
  const parser = new CsvRecordParser(delimiter, options.maxRecordChars);
  let atStart = true;
  for await (const chunk of chunks) {
    let text = decoder.write(chunk);
    if (atStart && text.length > 0) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    yield* parser.consume(text);
  }
  yield* parser.consume(decoder.end());
  yield* parser.finish();
}
