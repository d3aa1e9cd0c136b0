/** One physical line of a text stream, without its line ending. */
export type Line =
  | { kind: 'line'; line: number; text: string }
  /** A line longer than the limit: its text was dropped while reading, so memory stays bounded. */
  | { kind: 'too-long'; line: number; bytes: number };

const LF = 0x0a;
const CR = 0x0d;

function decode(parts: Buffer[], line: number): string {
  const buffer = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  let end = buffer.length;
  if (end > 0 && buffer[end - 1] === CR) end -= 1;
  let start = 0;
  // A UTF-8 byte-order mark on the first line is not part of the data.
  if (line === 1 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) start = 3;
  return buffer.toString('utf8', start, end);
}

/**
 * Splits a byte stream into lines (LF or CRLF), numbered from 1. Splitting happens on bytes, before decoding: a
 * newline byte never occurs inside a multi-byte UTF-8 character, so a character cut between two chunks is whole
 * again once its line is decoded. A final line without a newline is a line too.
 */
export async function* readLines(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  maxLineBytes: number,
): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let tooLong = false;
  let line = 1;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(LF, start);
      const end = newline === -1 ? chunk.length : newline;
      const piece = end - start;
      if (!tooLong && partBytes + piece > maxLineBytes + 1) {
        // Keep counting but stop keeping: the line is reported, not held (+1 leaves room for a CR).
        tooLong = true;
        parts = [];
      }
      partBytes += piece;
      if (!tooLong && piece > 0) {
        // A subarray keeps its whole chunk alive: the unfinished tail of a chunk is copied, so only it is kept.
        const part = chunk.subarray(start, end);
        parts.push(newline === -1 ? Buffer.from(part) : part);
      }
      if (newline === -1) break;
      yield tooLong ? { kind: 'too-long', line, bytes: partBytes } : { kind: 'line', line, text: decode(parts, line) };
      parts = [];
      partBytes = 0;
      tooLong = false;
      line += 1;
      start = newline + 1;
    }
  }
  if (tooLong) yield { kind: 'too-long', line, bytes: partBytes };
  else if (partBytes > 0) yield { kind: 'line', line, text: decode(parts, line) };
}
