import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cellOf, csvField } from '../../src/batch-job/csv-format.js';
import { readCsv } from '../../src/batch-job/csv-reader.js';
import { createRecordWriter, OutputMismatchError } from '../../src/batch-job/record-writer.js';
import { collect } from '../support/collect.js';

const names = { text: 'text', label: 'label', score: 'score' };
const positive = { label: 'POSITIVE', score: 0.75 };

describe('record writers', () => {
  it('JSONL: the input fields in their order, then label and score', () => {
    const writer = createRecordWriter('jsonl', names, undefined);
    assert.deepEqual(writer.admit({ b: 1, text: 'x' }), {});
    assert.equal(
      writer.format({ b: 1, text: 'x', nested: { a: [1] } }, positive),
      '{"b":1,"text":"x","nested":{"a":[1]},"label":"POSITIVE","score":0.75}\n',
    );
  });

  it('CSV: a header from the first record plus the result columns, quoting only what needs it', async () => {
    const writer = createRecordWriter('csv', { ...names, label: 'predicted' }, undefined);
    const first = { id: '1', text: 'plain' };
    assert.deepEqual(writer.admit(first), { header: 'id,text,predicted,score\n' });
    const tricky = { id: '2', text: 'a, "b"\nc' };
    assert.deepEqual(writer.admit(tricky), {});
    const line = writer.format(tricky, positive);
    assert.equal(line, '2,"a, ""b""\nc",POSITIVE,0.75\n');
    // What is written reads back as written.
    const [row] = await collect(readCsv([Buffer.from(line)], { delimiter: ',', maxRecordChars: 100 }));
    assert.deepEqual(row, { kind: 'row', line: 1, fields: ['2', 'a, "b"\nc', 'POSITIVE', '0.75'] });
  });

  it('CSV from JSON records: missing fields are empty, non-strings are written as JSON, unknown fields are refused', () => {
    const writer = createRecordWriter('csv', names, undefined);
    writer.admit({ id: 1, text: 'x', tags: ['a'] });
    assert.equal(writer.format({ id: 1, text: 'x', tags: ['a'] }, positive), '1,x,"[""a""]",POSITIVE,0.75\n');
    assert.deepEqual(writer.admit({ text: 'y' }), {});
    assert.equal(writer.format({ text: 'y' }, positive), ',y,,POSITIVE,0.75\n');
    assert.match(
      writer.admit({ text: 'z', extra: true }).refusal ?? '',
      /has field "extra", which is not among the output columns \(taken from the first record: id, text, tags\)/,
    );
  });

  it('TSV: tab-separated, quoting fields that hold tabs or newlines', () => {
    const writer = createRecordWriter('tsv', names, undefined);
    assert.deepEqual(writer.admit({ text: 'a,b' }), { header: 'text\tlabel\tscore\n' });
    assert.equal(writer.format({ text: 'a,b\tc' }, positive), '"a,b\tc"\tPOSITIVE\t0.75\n');
  });

  it('on resume, refuses an input whose columns differ from the existing header', () => {
    const writer = createRecordWriter('csv', names, ['id', 'text', 'label', 'score']);
    assert.throws(() => writer.admit({ other: 'x', text: 'y' }), OutputMismatchError);
    const same = createRecordWriter('csv', names, ['id', 'text', 'label', 'score']);
    assert.equal(same.admit({ id: '1', text: 'y' }).header, 'id,text,label,score\n');
  });

  it('cells and fields', () => {
    assert.equal(cellOf(null), '');
    assert.equal(cellOf(undefined), '');
    assert.equal(cellOf(false), 'false');
    assert.equal(cellOf({ a: 1 }), '{"a":1}');
    assert.equal(csvField('a\rb', ','), '"a\rb"');
    assert.equal(csvField('a,b', '\t'), 'a,b');
  });
});
