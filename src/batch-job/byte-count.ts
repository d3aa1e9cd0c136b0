/** Bytes consumed from an input so far, shared between the reader that counts and the progress that reports. */
export class ByteCount {
  bytes = 0;
}

/** Passes the chunks of a byte stream through, counting them. */
export async function* countBytes(chunks: AsyncIterable<Buffer>, count: ByteCount): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    count.bytes += chunk.length;
    yield chunk;
  }
}
