import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCsv } from '../../src/batch-job/csv-reader.js';
import type { RecordFormat } from '../../src/batch-job/formats.js';
import { readLines } from '../../src/batch-job/line-reader.js';
import { pieceBytes } from '../../src/batch-job/object-source.js';
import { RecordEnds } from '../../src/batch-job/record-ends.js';
import { parseShard, partName, planShard, type StoredObject } from '../../src/batch-job/shard-plan.js';

/** An object in memory, served in chunks of `chunk` bytes (so boundaries fall everywhere), from any offset. */
function reader(bytes: Buffer, chunk: number) {
  return async function* (from: number): AsyncGenerator<Buffer> {
    for (let at = from; at < bytes.length; at += chunk) yield bytes.subarray(at, Math.min(bytes.length, at + chunk));
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The records a reader finds in some bytes: JSONL lines, or CSV rows without the header. */
async function records(format: RecordFormat, chunks: AsyncIterable<Buffer> | Buffer[]): Promise<string[]> {
  if (format === 'jsonl') {
    return (await collect(readLines(chunks, 1 << 20)))
      .map((l) => (l.kind === 'line' ? l.text : '?'))
      .filter((t) => t !== '');
  }
  const rows = await collect(readCsv(chunks, { delimiter: ',', maxRecordChars: 1 << 20 }));
  return rows.slice(1).map((r) => (r.kind === 'row' ? JSON.stringify(r.fields) : `malformed: ${r.message}`));
}

/** Splits one object into COUNT shards and reads each shard's bytes the way a pod does. */
async function shardRecords(format: RecordFormat, bytes: Buffer, count: number, chunk: number): Promise<string[][]> {
  const object: StoredObject = { key: `x.${format}`, size: bytes.length, etag: '"e"' };
  const shards: string[][] = [];
  for (let index = 0; index < count; index++) {
    const own: string[] = [];
    for (const piece of planShard([object], { index, count })) {
      const atEnd = { midRecord: false };
      own.push(...(await records(format, pieceBytes(reader(bytes, chunk), piece, format, atEnd))));
    }
    shards.push(own);
  }
  return shards;
}

const texts = ['good', 'bad, "really" bad', 'multi\nline\r\nreview', '', 'ünïcødé ✓ 😀', 'a,b,c', '"quoted"'];
function jsonlInput(n: number): Buffer {
  return Buffer.from(
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ id: i, text: `${texts[i % texts.length]} ${'x'.repeat(i % 37)}` }),
    )
      .join('\n')
      .concat('\n'),
  );
}
function csvInput(n: number): Buffer {
  const quote = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const rows = Array.from(
    { length: n },
    (_, i) => `${i},${quote(`${texts[i % texts.length]}${'\n'.repeat(i % 3)}`)},ok`,
  );
  // A quote inside an unquoted field is a character (readCsv's lenient rule): it must not confuse the split.
  rows.push(`${n},plain "inner" quote,ok`);
  return Buffer.from(`id,text,note\r\n${rows.join('\r\n')}\r\n`);
}

describe('splitting one object into shards (pieceBytes over planShard)', () => {
  for (const [format, input] of [
    ['jsonl', jsonlInput(300)],
    ['csv', csvInput(300)],
  ] as const) {
    for (const count of [1, 2, 7, 16, 301]) {
      it(`${format}: ${count} shard(s) read every record exactly once, in order`, async () => {
        const whole = await records(format, [input]);
        for (const chunk of [1, 7, 4096]) {
          if (chunk === 1 && count > 16) continue;
          const shards = await shardRecords(format, input, count, chunk);
          assert.deepEqual(shards.flat(), whole, `chunks of ${chunk} bytes`);
        }
      });
    }
  }

  it('a record longer than a shard belongs to the shard it starts in; the next shards own nothing of it', async () => {
    const input = Buffer.from(`${JSON.stringify({ text: 'y'.repeat(1000) })}\n{"text":"z"}\n`);
    const shards = await shardRecords('jsonl', input, 8, 64);
    assert.equal(shards[0]?.length, 1);
    assert.deepEqual(shards.slice(1, 7).flat(), []);
    assert.deepEqual(shards.flat(), await records('jsonl', [input]));
  });

  it('reports an object that ends in the middle of the last record it owns', async () => {
    const input = Buffer.from('{"text":"a"}\n{"text":"b"}\n{"text":"c');
    const object: StoredObject = { key: 'x.jsonl', size: input.length, etag: '"e"' };
    const ends: boolean[] = [];
    for (let index = 0; index < 3; index++) {
      for (const piece of planShard([object], { index, count: 3 })) {
        const atEnd = { midRecord: false };
        await collect(pieceBytes(reader(input, 5), piece, 'jsonl', atEnd));
        ends.push(atEnd.midRecord);
      }
    }
    assert.deepEqual(ends, [false, false, true]);
  });
});

describe('RecordEnds (CSV)', () => {
  it('finds the same record ends as readCsv, quotes and CRLF included', async () => {
    const input = csvInput(50);
    const ends = new RecordEnds('csv');
    let count = 0;
    for (let i = 0; ; count++) {
      const end = ends.next(input, i);
      if (end === -1) break;
      i = end;
    }
    const rows = await collect(readCsv([input], { delimiter: ',', maxRecordChars: 1 << 20 }));
    assert.equal(count, rows.length);
  });
});

describe('planShard', () => {
  const objects: StoredObject[] = [5, 100, 0, 40, 40, 7].map((size, i) => ({
    key: `k${i}.jsonl`,
    size,
    etag: `"${i}"`,
  }));

  it('with fewer shards than objects, gives each object whole to one shard, balancing bytes', () => {
    const plans = [0, 1, 2].map((index) => planShard(objects, { index, count: 3 }));
    assert.deepEqual(
      plans
        .flat()
        .map((p) => p.object.key)
        .sort(),
      objects.map((o) => o.key),
    );
    assert.ok(plans.flat().every((p) => p.start === 0 && p.end === p.object.size));
    assert.deepEqual(
      plans.map((plan) => plan.reduce((sum, p) => sum + p.end, 0)),
      [100, 47, 45],
    );
  });

  it('with more shards than objects, cuts the objects laid end to end into equal ranges that tile them', () => {
    const count = 10;
    const pieces = Array.from({ length: count }, (_, index) => planShard(objects, { index, count })).flat();
    for (const object of objects.filter((o) => o.size > 0)) {
      const ranges = pieces.filter((p) => p.object === object).sort((a, b) => a.start - b.start);
      let at = 0;
      for (const range of ranges) {
        assert.equal(range.start, at);
        at = range.end;
      }
      assert.equal(at, object.size, object.key);
    }
  });

  it('parses INDEX/COUNT and names parts with fixed width', () => {
    assert.deepEqual(parseShard('3/16'), { index: 3, count: 16 });
    for (const bad of ['16/16', '1/0', '-1/4', '1/2/3', 'a/b', '']) assert.equal(parseShard(bad), undefined, bad);
    assert.equal(partName({ index: 3, count: 16 }), 'part-00003-of-00016');
  });
});
