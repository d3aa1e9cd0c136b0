import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCsv, type CsvRow } from '../../src/batch-job/csv-reader.js';
import { chunked, collect } from '../support/collect.js';

const csv = (text: string, chunkSize = 1024, maxRecordChars = 10_000): Promise<CsvRow[]> =>
  collect(readCsv(chunked(text, chunkSize), { delimiter: ',', maxRecordChars }));

const rows = (...specs: [number, string[]][]): CsvRow[] =>
  specs.map(([line, fields]) => ({ kind: 'row', line, fields }));

describe('readCsv', () => {
  it('reads plain records and numbers them by line', async () => {
    assert.deepEqual(
      await csv('id,text\n1,good\n2,bad\n'),
      rows([1, ['id', 'text']], [2, ['1', 'good']], [3, ['2', 'bad']]),
    );
  });

  it('reads quoted fields holding delimiters, escaped quotes and newlines; a record is numbered by its first line', async () => {
    const text = 'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines, and\r\nthree"\n4,after\n';
    assert.deepEqual(
      await csv(text),
      rows(
        [1, ['id', 'text']],
        [2, ['1', 'a, b']],
        [3, ['2', 'say "hi"']],
        [4, ['3', 'two\nlines, and\r\nthree']],
        [7, ['4', 'after']],
      ),
    );
  });

  it('gives the same records whatever the chunk boundaries (CRLF, quotes and UTF-8 characters cut in two)', async () => {
    const text = '\uFEFFid,text\r\n1,"naïve, ""quoted""\r\nline ✓"\r\n2,日本語\r\n3,"",\r\n';
    const whole = await csv(text);
    assert.deepEqual(
      whole,
      rows([1, ['id', 'text']], [2, ['1', 'naïve, "quoted"\r\nline ✓']], [4, ['2', '日本語']], [5, ['3', '', '']]),
    );
    for (const size of [1, 2, 3, 4, 5]) assert.deepEqual(await csv(text, size), whole, `chunks of ${size}`);
  });

  it('skips blank lines, keeps empty fields, and reads a last record without a newline', async () => {
    assert.deepEqual(
      await csv('a,b\n\n,\r\n\n"",x\nlast,one'),
      rows([1, ['a', 'b']], [3, ['', '']], [5, ['', 'x']], [6, ['last', 'one']]),
    );
  });

  it('treats a quote inside an unquoted field as a character, and a lone CR as data', async () => {
    assert.deepEqual(await csv('a,b\n5" screen,x\ry\n'), rows([1, ['a', 'b']], [2, ['5" screen', 'x\ry']]));
  });

  it('reports characters after a closing quote with the record line, and resumes at the next record', async () => {
    const result = await csv('a,b\n1,"ok"\n2,"bad"x,"multi\nline"\n3,fine\n');
    assert.deepEqual(result, [
      ...rows([1, ['a', 'b']], [2, ['1', 'ok']]),
      { kind: 'malformed', line: 3, message: 'unexpected character "x" after the closing quote of field 2' },
      ...rows([5, ['3', 'fine']]),
    ]);
  });

  it('reports a quote that is never closed at the line where its record starts', async () => {
    const result = await csv('a,b\n1,ok\n2,"never\nclosed\n');
    assert.deepEqual(result.at(-1), {
      kind: 'malformed',
      line: 3,
      message: 'a quote opened on line 3 is never closed',
    });
    assert.equal(result.length, 3);
  });

  it('reports an over-long record without keeping it, and resumes at the next line', async () => {
    const result = await csv(`a,b\n1,${'x'.repeat(100)}\n2,ok\n`, 7, 50);
    assert.deepEqual(result, [
      ...rows([1, ['a', 'b']]),
      { kind: 'malformed', line: 2, message: 'record is longer than 50 characters; skipped to the next line' },
      ...rows([3, ['2', 'ok']]),
    ]);
  });

  it('reads TSV with a tab delimiter', async () => {
    const result = await collect(
      readCsv(chunked('label\tsentence\r\n0\tit , is "fine"\r\n', 3), { delimiter: '\t', maxRecordChars: 100 }),
    );
    assert.deepEqual(result, rows([1, ['label', 'sentence']], [2, ['0', 'it , is "fine"']]));
  });
});
