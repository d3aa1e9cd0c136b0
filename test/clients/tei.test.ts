import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { metricValue, startApp, type RunningApp } from '../support/running-app.js';

// TEI's POST /predict and GET /health, in the shapes of its router (router/src/http/types.rs, server.rs).

interface TeiPrediction {
  score: number;
  label: string;
}

let running: RunningApp;
let url: string;
let labels: string[];
let maxLength: number;
before(async () => {
  running = await startApp();
  url = running.url;
  const info = (await (await fetch(`${url}/info`)).json()) as { model: { labels: string[]; max_length: number } };
  labels = info.model.labels;
  maxLength = info.model.max_length;
});
after(() => running.service.close());

const positive = 'I love using this product!';
const negative = 'This is the worst purchase I have ever made.';

function predict(body: unknown) {
  return request(url).post('/predict').set('content-type', 'application/json').send(JSON.stringify(body));
}

function assertTeiError(body: unknown, errorType: string): string {
  const error = body as { error: string; error_type: string };
  assert.deepEqual(Object.keys(error).sort(), ['error', 'error_type']);
  assert.equal(error.error_type, errorType);
  return error.error;
}

function assertAllLabelsBestFirst(predictions: TeiPrediction[]): void {
  assert.deepEqual(predictions.map((p) => p.label).sort(), [...labels].sort());
  assert.ok(
    predictions.every((p, i) => i === 0 || p.score <= (predictions[i - 1]?.score ?? 0)),
    'best first',
  );
}

describe('TEI POST /predict', () => {
  it('answers one text (a string or ["text"]) with every label, best first', async () => {
    for (const inputs of [positive, [positive]]) {
      const body = (await predict({ inputs }).expect(200)).body as TeiPrediction[];
      assertAllLabelsBestFirst(body);
      assert.equal(body[0]?.label, 'POSITIVE');
    }
  });

  it('answers a batch [[text], [text]] with one list per text, in order', async () => {
    const body = (await predict({ inputs: [[negative], [positive]] }).expect(200)).body as TeiPrediction[][];
    assert.equal(body.length, 2);
    for (const predictions of body) assertAllLabelsBestFirst(predictions);
    assert.deepEqual(
      body.map((p) => p[0]?.label),
      ['NEGATIVE', 'POSITIVE'],
    );
  });

  it('gives raw logits with raw_scores: their softmax is the default score', async () => {
    const scores = (await predict({ inputs: negative }).expect(200)).body as TeiPrediction[];
    const raw = (await predict({ inputs: negative, raw_scores: true }).expect(200)).body as TeiPrediction[];
    assert.equal(raw[0]?.label, 'NEGATIVE');
    const sum = raw.reduce((total, p) => total + Math.exp(p.score), 0);
    for (const p of scores) {
      const logit = raw.find((r) => r.label === p.label)?.score ?? NaN;
      assert.ok(Math.abs(p.score - Math.exp(logit) / sum) < 1e-6, p.label);
    }
  });

  it('cuts an over-long text at the end it is told (truncation_direction), and refuses it with truncate: false', async () => {
    // Each half alone is longer than the model takes, so what is kept is all one sentiment.
    const half = (sentence: string): string => Array.from({ length: maxLength }, () => sentence).join(' ');
    const text = `${half(positive)} ${half(negative)}`;
    const right = (await predict({ inputs: text }).expect(200)).body as TeiPrediction[];
    assert.equal(right[0]?.label, 'POSITIVE');
    const alsoRight = (await predict({ inputs: text, truncate: true, truncation_direction: 'Right' }).expect(200))
      .body as TeiPrediction[];
    assert.deepEqual(alsoRight, right);
    for (const direction of ['Left', 'left']) {
      const left = (await predict({ inputs: text, truncation_direction: direction }).expect(200))
        .body as TeiPrediction[];
      assert.equal(left[0]?.label, 'NEGATIVE', direction);
    }
    const refused = await predict({ inputs: [[positive], [text]], truncate: false }).expect(422);
    assert.match(assertTeiError(refused.body, 'Validation'), /^text 1 has/);
  });

  it('refuses a text pair with 422, saying why', async () => {
    for (const inputs of [
      [positive, negative],
      [[positive], [positive, negative]],
    ]) {
      const refused = await predict({ inputs }).expect(422);
      assert.match(assertTeiError(refused.body, 'Validation'), /text pairs are not supported/);
    }
  });

  const badBodies: [string, unknown][] = [
    ['no inputs', {}],
    ['an empty list', { inputs: [] }],
    ['three strings', { inputs: ['a', 'b', 'c'] }],
    ['a batch mixing strings and lists', { inputs: [['a'], 'b'] }],
    ['an empty sequence in a batch', { inputs: [['a'], []] }],
    ['a number', { inputs: 7 }],
    ['an unknown truncation_direction', { inputs: 'a', truncation_direction: 'Middle' }],
    ['an unknown field', { inputs: 'a', normalize: true }],
  ];
  for (const [what, body] of badBodies) {
    it(`answers 422 Validation to ${what}`, async () => {
      const response = await predict(body).expect(422);
      assertTeiError(response.body, 'Validation');
    });
  }

  it('answers 422 Validation to a batch over MAX_TEXTS_PER_REQUEST, counted as the service’s rejection', async () => {
    const before = await metricValue(url, 'sentiment_rejections_total{reason="too_many_texts"}');
    const refused = await predict({ inputs: Array.from({ length: 65 }, () => ['fine']) }).expect(422);
    assert.match(assertTeiError(refused.body, 'Validation'), /65 texts; at most 64/);
    assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="too_many_texts"}'), before + 1);
  });

  it('answers malformed JSON with 400 in its error shape', async () => {
    const response = await request(url)
      .post('/predict')
      .set('content-type', 'application/json')
      .send('{"inputs": ')
      .expect(400);
    assertTeiError(response.body, 'Validation');
  });
});

describe('TEI GET /health', () => {
  it('answers 200 with an empty body', async () => {
    const response = await request(url).get('/health').expect(200);
    assert.equal(response.text, '');
  });
});
