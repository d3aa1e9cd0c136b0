import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferenceClient, InferenceClientProviderApiError } from '@huggingface/inference';
import request from 'supertest';
import { metricValue, startApp, type RunningApp } from '../support/running-app.js';
import type { Prediction } from '../../src/inference/postprocess.js';

// The Hugging Face Inference API shape at POST /, checked with the real @huggingface/inference client, unchanged.

let running: RunningApp;
let url: string;
let labels: string[];
before(async () => {
  running = await startApp();
  url = running.url;
  labels = ((await (await fetch(`${url}/info`)).json()) as { model: { labels: string[] } }).model.labels;
});
after(() => running.service.close());

const positive = 'I love using this product!';
const negative = 'This is the worst purchase I have ever made.';
const client = new InferenceClient();

function post(body: unknown) {
  return request(url).post('/').set('content-type', 'application/json').send(JSON.stringify(body));
}

function close(a: number | undefined, b: number | undefined): boolean {
  return a !== undefined && b !== undefined && Math.abs(a - b) < 1e-6;
}

describe('POST / with @huggingface/inference (textClassification with endpointUrl)', () => {
  it('gets every label, best first, the right one on top for clearly polar texts', async () => {
    const good = await client.textClassification({ endpointUrl: url, inputs: positive });
    assert.equal(good[0]?.label, 'POSITIVE');
    assert.deepEqual(good.map((p) => p.label).sort(), [...labels].sort());
    assert.ok(
      good.every((p, i) => i === 0 || p.score <= (good[i - 1]?.score ?? 0)),
      'best first',
    );
    const bad = await client.textClassification({ endpointUrl: url, inputs: negative });
    assert.equal(bad[0]?.label, 'NEGATIVE');
  });

  it('gives the same scores as /analyze', async () => {
    const viaClient = await client.textClassification({ endpointUrl: url, inputs: positive });
    const viaAnalyze = (await request(url).post('/analyze').send({ text: positive, top_k: labels.length }).expect(200))
      .body as Prediction[];
    assert.deepEqual(
      viaClient.map((p) => p.label),
      viaAnalyze.map((p) => p.label),
    );
    assert.ok(viaClient.every((p, i) => close(p.score, viaAnalyze[i]?.score)));
  });

  it('honours parameters.top_k and function_to_apply', async () => {
    const best = await client.textClassification({ endpointUrl: url, inputs: negative, parameters: { top_k: 1 } });
    assert.deepEqual(
      best.map((p) => p.label),
      ['NEGATIVE'],
    );

    const softmax = await client.textClassification({ endpointUrl: url, inputs: positive });
    const raw = await client.textClassification({
      endpointUrl: url,
      inputs: positive,
      parameters: { function_to_apply: 'none' },
    });
    const sigmoid = await client.textClassification({
      endpointUrl: url,
      inputs: positive,
      parameters: { function_to_apply: 'sigmoid' },
    });
    const logitOf = (label: string): number => raw.find((p) => p.label === label)?.score ?? NaN;
    const sum = labels.reduce((total, label) => total + Math.exp(logitOf(label)), 0);
    for (const p of softmax)
      assert.ok(close(p.score, Math.exp(logitOf(p.label)) / sum), `softmax of raw logits for ${p.label}`);
    for (const p of sigmoid)
      assert.ok(close(p.score, 1 / (1 + Math.exp(-logitOf(p.label)))), `sigmoid of raw logits for ${p.label}`);
  });

  it('surfaces a refused request as the client’s API error with the server’s message', async () => {
    await assert.rejects(
      client.textClassification({ endpointUrl: url, inputs: positive, parameters: { top_k: 0 } }),
      (error: unknown) => {
        assert.ok(error instanceof InferenceClientProviderApiError);
        assert.equal(error.httpResponse.status, 400);
        assert.match(error.message, /top_k must be >= 1/);
        return true;
      },
    );
  });
});

describe('POST / wire shape', () => {
  it('answers a list of texts with one list of labels per text, in order', async () => {
    const body = (await post({ inputs: [negative, positive], parameters: { top_k: 1 } }).expect(200))
      .body as Prediction[][];
    assert.deepEqual(
      body.map((best) => best.map((p) => p.label)),
      [['NEGATIVE'], ['POSITIVE']],
    );
  });

  it('accepts what huggingface_hub sends: "parameters": {}', async () => {
    const body = (await post({ inputs: positive, parameters: {} }).expect(200)).body as Prediction[][];
    assert.equal(body.length, 1);
    assert.equal(body[0]?.[0]?.label, 'POSITIVE');
  });

  const badBodies: [string, unknown][] = [
    ['no inputs', { parameters: {} }],
    ['a number as inputs', { inputs: 3 }],
    ['an empty list', { inputs: [] }],
    ['an unknown parameter', { inputs: 'a', parameters: { temperature: 1 } }],
    ['an unknown function_to_apply', { inputs: 'a', parameters: { function_to_apply: 'relu' } }],
    ['top_k of 0', { inputs: 'a', parameters: { top_k: 0 } }],
  ];
  for (const [what, body] of badBodies) {
    it(`answers 400 {"error"} to ${what}`, async () => {
      const response = await post(body).expect(400);
      assert.deepEqual(Object.keys(response.body as object), ['error']);
      assert.equal(typeof (response.body as { error: unknown }).error, 'string');
    });
  }

  it('answers 413 {"error"} to more texts than MAX_TEXTS_PER_REQUEST and counts it as the service’s rejection', async () => {
    const before = await metricValue(url, 'sentiment_rejections_total{reason="too_many_texts"}');
    const response = await post({ inputs: Array.from({ length: 65 }, () => 'fine') }).expect(413);
    assert.match((response.body as { error: string }).error, /65 texts; at most 64/);
    assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="too_many_texts"}'), before + 1);
  });

  it('is measured under its own route label', async () => {
    await post({ inputs: positive }).expect(200);
    const count = await metricValue(
      url,
      'sentiment_http_request_duration_seconds_count{route="/",method="POST",status_code="200"}',
    );
    assert.ok(count >= 1);
  });
});
