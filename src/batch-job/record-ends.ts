import { delimiterOf, type RecordFormat } from './formats.js';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  AfterQuote,
  /** A CR after a closing quote: the CRLF that ends the record, or a malformed field. */
  AfterQuoteCR,
}

/**
 * Finds where records end in a byte stream, without decoding or parsing them, so that a shard can cut an input
 * at record boundaries. JSONL: every LF. CSV/TSV: an LF outside quotes, by the same rules as readCsv (a quote
 * opens a field only at its start; inside an unquoted field it is a character; "" inside quotes is one quote).
 * Over-long records, which readCsv skips to the next line, are not modelled: they are malformed either way.
 */
export class RecordEnds {
  private state = State.FieldStart;
  private readonly delimiter: number | undefined;

  constructor(format: RecordFormat) {
    this.delimiter = format === 'jsonl' ? undefined : delimiterOf(format).charCodeAt(0);
  }

  /** The offset just past the first record end in chunk at or after `from`, or -1; state carries across chunks. */
  next(chunk: Buffer, from: number): number {
    if (this.delimiter === undefined) {
      const at = chunk.indexOf(LF, from);
      return at === -1 ? -1 : at + 1;
    }
    const delimiter = this.delimiter;
    for (let i = from; i < chunk.length; i++) {
      const c = chunk[i] as number;
      switch (this.state) {
        case State.Quoted:
          if (c === QUOTE) this.state = State.AfterQuote;
          continue;
        case State.AfterQuote:
          if (c === QUOTE) this.state = State.Quoted;
          else if (c === CR) this.state = State.AfterQuoteCR;
          else if (c === delimiter) this.state = State.FieldStart;
          else if (c === LF) return this.ended(i);
          else this.state = State.Unquoted;
          continue;
        case State.AfterQuoteCR:
          if (c === LF) return this.ended(i);
          this.state = State.Unquoted;
          break;
        case State.FieldStart:
          if (c === QUOTE) {
            this.state = State.Quoted;
            continue;
          }
          this.state = State.Unquoted;
          break;
        case State.Unquoted:
          break;
      }
      // Unquoted (or just become so): a quote here is a plain character.
      if (c === delimiter) this.state = State.FieldStart;
      else if (c === LF) return this.ended(i);
    }
    return -1;
  }

  private ended(at: number): number {
    this.state = State.FieldStart;
    return at + 1;
  }
}
