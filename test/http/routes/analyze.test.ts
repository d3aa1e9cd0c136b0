import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { metricValue, startApp, type RunningApp } from '../../support/running-app.js';
import type { Prediction } from '../../../src/inference/postprocess.js';

let running: RunningApp;
let url: string;
before(async () => {
  running = await startApp({ BODY_LIMIT_BYTES: '65536' });
  url = running.url;
});
after(() => running.service.close());

const positive = 'I love using this product!';
const negative = 'This is the worst purchase I have ever made.';
const overLong = Array.from({ length: 1000 }, () => 'wonderful').join(' ');

function analyze(body: unknown) {
  return request(url)
    .post('/analyze')
    .send(body as object);
}

function assertErrorShape(body: unknown, statusCode: number): void {
  const error = body as { statusCode: number; error: string; message: string };
  assert.equal(error.statusCode, statusCode);
  assert.equal(typeof error.error, 'string');
  assert.equal(typeof error.message, 'string');
}

describe('POST /analyze', () => {
  it('answers the article’s request in the pipeline shape: [{label, score}]', async () => {
    const response = await analyze({ text: positive })
      .expect(200)
      .expect('content-type', /application\/json/);
    const body = response.body as Prediction[];
    assert.equal(body.length, 1);
    assert.deepEqual(Object.keys(body[0] as object).sort(), ['label', 'score']);
    assert.equal(body[0]?.label, 'POSITIVE');
    assert.ok((body[0]?.score ?? 0) > 0.5 && (body[0]?.score ?? 2) <= 1);
  });

  it('recognises a negative text', async () => {
    const response = await analyze({ text: negative }).expect(200);
    assert.equal((response.body as Prediction[])[0]?.label, 'NEGATIVE');
  });

  it('answers a list of texts with one prediction per text, in order, equal to asking one by one', async () => {
    const texts = [negative, positive, 'meh', negative];
    const together = (await analyze({ text: texts }).expect(200)).body as Prediction[];
    assert.equal(together.length, texts.length);
    for (const [i, text] of texts.entries()) {
      const [alone] = (await analyze({ text }).expect(200)).body as Prediction[];
      assert.equal(together[i]?.label, alone?.label);
      assert.ok(Math.abs((together[i]?.score ?? 0) - (alone?.score ?? 1)) <= 1e-5);
    }
  });

  it("accepts 'inputs' as an alias of 'text'", async () => {
    const viaText = (await analyze({ text: [positive, negative] }).expect(200)).body as Prediction[];
    const viaInputs = (await analyze({ inputs: [positive, negative] }).expect(200)).body as Prediction[];
    assert.deepEqual(viaInputs, viaText);
  });

  it('with top_k gives the k best labels, best first: a list for one text, a list of lists for several', async () => {
    const one = (await analyze({ text: positive, top_k: 2 }).expect(200)).body as Prediction[];
    assert.deepEqual(
      one.map((p) => p.label),
      ['POSITIVE', 'NEGATIVE'],
    );
    assert.ok(Math.abs((one[0]?.score ?? 0) + (one[1]?.score ?? 0) - 1) < 1e-6);

    const several = (await analyze({ text: [positive, negative], top_k: 1 }).expect(200)).body as Prediction[][];
    assert.equal(several.length, 2);
    assert.deepEqual(
      several.map((best) => best.map((p) => p.label)),
      [['POSITIVE'], ['NEGATIVE']],
    );

    const all = (await analyze({ text: negative, top_k: 10 }).expect(200)).body as Prediction[];
    assert.equal(all.length, 2, 'top_k above the number of labels gives all of them');
  });

  it('truncates an over-long text by default, and answers 422 when truncate is false', async () => {
    await analyze({ text: overLong }).expect(200);
    await analyze({ text: overLong, truncate: true }).expect(200);
    const refused = await analyze({ text: ['fine', overLong], truncate: false }).expect(422);
    assertErrorShape(refused.body, 422);
    assert.match(
      (refused.body as { message: string }).message,
      /^text 1 has (over )?\d+ tokens, more than the model's maximum/,
    );
  });

  it('accepts an empty string as a text', async () => {
    const response = await analyze({ text: '' }).expect(200);
    assert.equal((response.body as Prediction[]).length, 1);
  });

  const badBodies: [string, unknown][] = [
    ['a number as text', { text: 5 }],
    ['numbers in the list', { text: ['fine', 1] }],
    ['an empty list', { text: [] }],
    ['no text at all', {}],
    ['both text and inputs', { text: 'a', inputs: 'b' }],
    ['an unknown field', { text: 'a', mode: 'fast' }],
    ['top_k of 0', { text: 'a', top_k: 0 }],
    ['top_k as a string', { text: 'a', top_k: '2' }],
    ['top_k as a fraction', { text: 'a', top_k: 1.5 }],
    ['truncate as a string', { text: 'a', truncate: 'yes' }],
    ['null text', { text: null }],
    ['a JSON array body', ['a', 'b']],
    ['a JSON string body', 'I love it'],
  ];
  for (const [what, body] of badBodies) {
    it(`answers 400 to ${what}`, async () => {
      const response = await request(url)
        .post('/analyze')
        .set('content-type', 'application/json')
        .send(JSON.stringify(body))
        .expect(400);
      assertErrorShape(response.body, 400);
    });
  }

  it('answers 400 to malformed JSON and to an empty JSON body', async () => {
    const malformed = await request(url)
      .post('/analyze')
      .set('content-type', 'application/json')
      .send('{"text": "a"')
      .expect(400);
    assertErrorShape(malformed.body, 400);
    await request(url).post('/analyze').set('content-type', 'application/json').send('').expect(400);
  });

  it('answers 413 to a body over BODY_LIMIT_BYTES', async () => {
    const response = await analyze({ text: 'x'.repeat(70_000) }).expect(413);
    assertErrorShape(response.body, 413);
  });

  it('answers 413 to more texts than MAX_TEXTS_PER_REQUEST, and counts the rejection', async () => {
    const before = await metricValue(url, 'sentiment_rejections_total{reason="too_many_texts"}');
    const response = await analyze({ text: Array.from({ length: 65 }, () => 'fine') }).expect(413);
    assertErrorShape(response.body, 413);
    assert.match((response.body as { message: string }).message, /65 texts; at most 64/);
    await analyze({ text: Array.from({ length: 64 }, () => 'fine') }).expect(200);
    assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="too_many_texts"}'), before + 1);
  });

  it('answers 415 to bodies that are not JSON', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const response = await request(url)
        .post('/analyze')
        .set('content-type', contentType)
        .send('text=hello')
        .expect(415);
      assertErrorShape(response.body, 415);
    }
  });

  it('echoes a caller’s x-request-id and makes one up otherwise', async () => {
    const given = await analyze({ text: 'a' }).set('x-request-id', 'trace-42.abc').expect(200);
    assert.equal(given.headers['x-request-id'], 'trace-42.abc');
    const made = await analyze({ text: 'a' }).expect(200);
    assert.match(String(made.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const unsafe = await analyze({ text: 'a' }).set('x-request-id', 'a b\tc').expect(200);
    assert.match(String(unsafe.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});
