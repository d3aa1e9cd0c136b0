import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCsv } from '../../src/batch-job/csv-reader.js';
import {
  delimitedRecords,
  InputFormatError,
  jsonlRecords,
  type FieldNames,
} from '../../src/batch-job/input-records.js';
import { readLines } from '../../src/batch-job/line-reader.js';
import { chunked, collect } from '../support/collect.js';

const names: FieldNames = { text: 'text', label: 'label', score: 'score' };
const jsonl = (text: string, fields = names) => collect(jsonlRecords(readLines(chunked(text, 5), 1000), fields));
const delimited = (text: string, fields = names) =>
  collect(delimitedRecords(readCsv(chunked(text, 5), { delimiter: ',', maxRecordChars: 1000 }), fields));

describe('jsonlRecords', () => {
  it('reads one object per line, its text from the named field; blank lines are not records', async () => {
    assert.deepEqual(await jsonl('{"id":1,"text":"good"}\n\n  \n{"review":"bad","text":"meh","n":[1]}\n'), [
      { kind: 'record', line: 1, text: 'good', fields: { id: 1, text: 'good' } },
      { kind: 'record', line: 4, text: 'meh', fields: { review: 'bad', text: 'meh', n: [1] } },
    ]);
    const byReview = await jsonl('{"review":"fine"}\n', { ...names, text: 'review' });
    assert.equal(byReview[0]?.kind === 'record' && byReview[0].text, 'fine');
  });

  it('reports each kind of malformed line with its number', async () => {
    const lines = [
      '{"text":"ok"}',
      '{"text": "unterminated',
      '["text"]',
      '"text"',
      '{"body":"no text field"}',
      '{"text":42}',
      '{"text":null}',
      '{"text":"has a label","label":"POSITIVE"}',
      '{"text":"has a score","score":1}',
    ];
    const items = await jsonl(lines.join('\n'));
    assert.deepEqual(
      items.map((item) => [item.line, item.kind === 'malformed' ? item.message.replace(/\(.*\)/, '(…)') : 'record']),
      [
        [1, 'record'],
        [2, 'not valid JSON (…)'],
        [3, 'a JSON object is expected, got an array'],
        [4, 'a JSON object is expected, got a string'],
        [5, 'has no field "text" (…)'],
        [6, 'field "text" is a number, not a string'],
        [7, 'field "text" is null, not a string'],
        [8, 'already has a field "label", which the result would overwrite; name the result field with --label-field'],
        [9, 'already has a field "score", which the result would overwrite; name the result field with --score-field'],
      ],
    );
  });

  it('reports an over-long line as malformed', async () => {
    const items = await collect(
      jsonlRecords(readLines(chunked(`{"text":"${'x'.repeat(100)}"}\n{"text":"ok"}\n`, 7), 50), names),
    );
    assert.equal(items[0]?.kind, 'malformed');
    assert.match(items[0]?.kind === 'malformed' ? items[0].message : '', /more than the limit/);
    assert.equal(items[1]?.kind, 'record');
  });
});

describe('delimitedRecords', () => {
  it('takes the header as column names and the text from the named column', async () => {
    assert.deepEqual(await delimited('id,text,stars\n1,"good, really",5\n2,bad,1\n'), [
      { kind: 'record', line: 2, text: 'good, really', fields: { id: '1', text: 'good, really', stars: '5' } },
      { kind: 'record', line: 3, text: 'bad', fields: { id: '2', text: 'bad', stars: '1' } },
    ]);
  });

  it('reports a record with the wrong number of fields, and a malformed record, with their lines', async () => {
    const items = await delimited('id,text\n1,ok\n2,too,many\n3\n4,"x"y\n5,fine\n');
    assert.deepEqual(
      items.map((item) => [item.line, item.kind === 'malformed' ? item.message : 'record']),
      [
        [2, 'record'],
        [3, 'has 3 fields, the header has 2'],
        [4, 'has 1 field, the header has 2'],
        [5, 'unexpected character "y" after the closing quote of field 2'],
        [6, 'record'],
      ],
    );
  });

  it('refuses a header without the text column, with a duplicate column, or with a result column', async () => {
    await assert.rejects(delimited('id,body\n1,x\n'), (error: Error) => {
      assert.ok(error instanceof InputFormatError);
      assert.match(
        error.message,
        /header \(line 1\): no column "text" \(columns: "id", "body"\); set the text column with --text-field/,
      );
      return true;
    });
    await assert.rejects(delimited('text,text\nx,y\n'), /column "text" appears twice/);
    await assert.rejects(delimited('text,label\nx,0\n'), /already has a column "label".*--label-field/);
    assert.equal((await delimited('text,label\nx,0\n', { ...names, label: 'predicted' })).length, 1);
  });

  it('yields nothing for an empty input or a header alone', async () => {
    assert.deepEqual(await delimited(''), []);
    assert.deepEqual(await delimited('id,text\n'), []);
  });
});
