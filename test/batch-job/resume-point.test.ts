import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OutputMismatchError } from '../../src/batch-job/record-writer.js';
import { findResumePoint } from '../../src/batch-job/resume-point.js';

const dir = mkdtempSync(join(tmpdir(), 'resume-point-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string): string {
  const path = join(dir, `out-${n++}`);
  writeFileSync(path, content);
  return path;
}

describe('findResumePoint', () => {
  it('JSONL: counts complete lines and cuts a partial last one', async () => {
    const complete = '{"text":"a","label":"POSITIVE","score":0.9}\n{"text":"b","label":"NEGATIVE","score":0.8}\n';
    const partial = '{"text":"c","lab';
    const point = await findResumePoint(file(complete + partial), 'jsonl', 'text');
    assert.deepEqual(point, {
      records: 2,
      keepBytes: Buffer.byteLength(complete),
      partialBytes: partial.length,
      header: undefined,
      lastText: 'b',
    });
  });

  it('JSONL: an empty output, or one partial line, starts from the beginning', async () => {
    assert.deepEqual(await findResumePoint(file(''), 'jsonl', 'text'), {
      records: 0,
      keepBytes: 0,
      partialBytes: 0,
      header: undefined,
      lastText: undefined,
    });
    assert.equal((await findResumePoint(file('{"te'), 'jsonl', 'text')).partialBytes, 4);
  });

  it('JSONL: refuses an output whose last complete line is not a record of this job', async () => {
    await assert.rejects(findResumePoint(file('{"text":"a"}\nnot json\n'), 'jsonl', 'text'), OutputMismatchError);
    await assert.rejects(findResumePoint(file('{"body":"a"}\n'), 'jsonl', 'text'), /no string field "text"/);
  });

  it('CSV: counts records, not lines, and cuts a record cut off inside a quoted multi-line field', async () => {
    const complete = 'id,text,label,score\n1,"two\nlines, ""quoted""",POSITIVE,0.9\n2,plain,NEGATIVE,0.8\n';
    const partial = '3,"cut\noff in';
    const point = await findResumePoint(file(complete + partial), 'csv', 'text');
    assert.deepEqual(point, {
      records: 2,
      keepBytes: Buffer.byteLength(complete),
      partialBytes: partial.length,
      header: ['id', 'text', 'label', 'score'],
      lastText: 'plain',
    });
    const multi = await findResumePoint(file('id,text,label,score\n1,"two\nlines",POSITIVE,0.9\n2,"x'), 'csv', 'text');
    assert.equal(multi.records, 1);
    assert.equal(multi.lastText, 'two\nlines');
  });

  it('CSV: a header alone resumes with no records; a partial header starts over', async () => {
    const headerOnly = await findResumePoint(file('text\tlabel\tscore\n'), 'tsv', 'text');
    assert.deepEqual(headerOnly, {
      records: 0,
      keepBytes: 17,
      partialBytes: 0,
      header: ['text', 'label', 'score'],
      lastText: undefined,
    });
    assert.deepEqual(await findResumePoint(file('text,la'), 'csv', 'text'), {
      records: 0,
      keepBytes: 0,
      partialBytes: 7,
      header: undefined,
      lastText: undefined,
    });
  });

  it('CSV: refuses an output without the text column', async () => {
    await assert.rejects(findResumePoint(file('body,label,score\nx,POSITIVE,1\n'), 'csv', 'text'), OutputMismatchError);
  });
});
