import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { metricValue, startApp, type RunningApp } from '../support/running-app.js';

// The Open Inference Protocol (KServe v2 / Triton HTTP) over REST, on the served model.

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: Tensor[];
}

let running: RunningApp;
let url: string;
let name: string;
let labels: string[];
before(async () => {
  running = await startApp();
  url = running.url;
  const info = (await (await fetch(`${url}/info`)).json()) as { model: { name: string; labels: string[] } };
  name = info.model.name;
  labels = info.model.labels;
});
after(() => running.app.close());

const positive = 'I love using this product!';
const negative = 'This is the worst purchase I have ever made.';

function textInput(data: unknown[], shape: number[] = [data.length]) {
  return { name: 'text', datatype: 'BYTES', shape, data };
}

function infer(body: unknown, path = `/v2/models/${name}/infer`) {
  return request(url).post(path).set('content-type', 'application/json').send(JSON.stringify(body));
}

function output(response: InferResponse, outputName: string): Tensor {
  const tensor = response.outputs.find((candidate) => candidate.name === outputName);
  assert.ok(tensor, `output ${outputName}`);
  return tensor;
}

function assertV2Error(body: unknown, pattern?: RegExp): void {
  assert.deepEqual(Object.keys(body as object), ['error']);
  if (pattern) assert.match((body as { error: string }).error, pattern);
}

describe('Open Inference Protocol: server and model endpoints', () => {
  it('GET /v2 gives the server metadata', async () => {
    const body = (await request(url).get('/v2').expect(200)).body as {
      name: string;
      version: string;
      extensions: string[];
    };
    assert.equal(typeof body.name, 'string');
    assert.equal(typeof body.version, 'string');
    assert.deepEqual(body.extensions, []);
  });

  it('answers health and model readiness with 200, and 404 for a model or version it does not serve', async () => {
    await request(url).get('/v2/health/live').expect(200);
    await request(url).get('/v2/health/ready').expect(200);
    await request(url).get(`/v2/models/${name}/ready`).expect(200);
    await request(url).get(`/v2/models/${name}/versions/1/ready`).expect(200);
    assertV2Error((await request(url).get('/v2/models/other/ready').expect(404)).body, /unknown model 'other'/);
    assertV2Error((await request(url).get(`/v2/models/${name}/versions/7`).expect(404)).body, /unknown version '7'/);
  });

  it('describes the model: the served name, a BYTES input, label/score/probabilities outputs', async () => {
    for (const path of [`/v2/models/${name}`, `/v2/models/${name}/versions/1`]) {
      const body = (await request(url).get(path).expect(200)).body as {
        name: string;
        versions: string[];
        inputs: Omit<Tensor, 'data'>[];
        outputs: Omit<Tensor, 'data'>[];
      };
      assert.equal(body.name, name);
      assert.deepEqual(body.versions, ['1']);
      assert.deepEqual(body.inputs, [{ name: 'text', datatype: 'BYTES', shape: [-1] }]);
      assert.deepEqual(body.outputs, [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'score', datatype: 'FP32', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, labels.length] },
      ]);
    }
  });
});

describe('Open Inference Protocol: POST /v2/models/{name}/infer', () => {
  it('labels texts, echoes the id, and scores agree with /analyze', async () => {
    const body = (await infer({ id: 'req-42', inputs: [textInput([positive, negative])] }).expect(200))
      .body as InferResponse;
    assert.equal(body.model_name, name);
    assert.equal(body.model_version, '1');
    assert.equal(body.id, 'req-42');
    assert.deepEqual(
      body.outputs.map((t) => t.name),
      ['label', 'score', 'probabilities'],
    );
    assert.deepEqual(output(body, 'label'), {
      name: 'label',
      datatype: 'BYTES',
      shape: [2],
      data: ['POSITIVE', 'NEGATIVE'],
    });
    const score = output(body, 'score');
    assert.deepEqual([score.datatype, score.shape], ['FP32', [2]]);
    const probabilities = output(body, 'probabilities');
    assert.deepEqual([probabilities.datatype, probabilities.shape], ['FP32', [2, labels.length]]);

    const analyzed = (
      await request(url)
        .post('/analyze')
        .send({ text: [positive, negative], top_k: labels.length })
        .expect(200)
    ).body as { label: string; score: number }[][];
    for (const [row, predictions] of analyzed.entries()) {
      assert.ok(Math.abs((score.data[row] as number) - (predictions[0]?.score ?? 0)) < 1e-6);
      for (const [column, label] of labels.entries()) {
        const expected = predictions.find((p) => p.label === label)?.score ?? NaN;
        assert.ok(
          Math.abs((probabilities.data[row * labels.length + column] as number) - expected) < 1e-6,
          `${row} ${label}`,
        );
      }
    }
  });

  it('takes shape [N, 1] with nested data, the versioned path, and a body without Content-Type (as tritonclient sends)', async () => {
    const nested = (
      await infer({ inputs: [textInput([[negative]], [1, 1])] }, `/v2/models/${name}/versions/1/infer`).expect(200)
    ).body as InferResponse;
    assert.deepEqual(output(nested, 'label').data, ['NEGATIVE']);
    assert.equal(nested.id, undefined, 'no id asked, none answered');

    const bare = await fetch(`${url}/v2/models/${name}/infer`, {
      method: 'POST',
      body: new Blob([JSON.stringify({ inputs: [textInput([positive])] })]),
    });
    assert.equal(bare.status, 200);
    assert.deepEqual(output((await bare.json()) as InferResponse, 'label').data, ['POSITIVE']);
  });

  it('returns only the outputs asked for, in that order', async () => {
    const body = (
      await infer({ inputs: [textInput([positive])], outputs: [{ name: 'probabilities' }, { name: 'label' }] }).expect(
        200,
      )
    ).body as InferResponse;
    assert.deepEqual(
      body.outputs.map((t) => t.name),
      ['probabilities', 'label'],
    );
  });

  const refusals: [string, unknown, RegExp][] = [
    ['an unknown input name', { inputs: [{ ...textInput(['a']), name: 'input_ids' }] }, /unexpected input 'input_ids'/],
    ['a non-BYTES input', { inputs: [{ ...textInput([1]), datatype: 'INT64' }] }, /datatype BYTES/],
    ['a shape that does not match the data', { inputs: [textInput(['a', 'b'], [3])] }, /shape \[3\] but 2 elements/],
    ['a 3-d shape', { inputs: [textInput(['a'], [1, 1, 1])] }, /shape \[N\] or \[N, 1\]/],
    ['non-string data', { inputs: [textInput([5])] }, /must hold strings/],
    ['two inputs', { inputs: [textInput(['a']), textInput(['b'])] }, /exactly one input/],
    ['no texts', { inputs: [textInput([])] }, /no texts/],
    ['an unknown output', { inputs: [textInput(['a'])], outputs: [{ name: 'logits' }] }, /unknown output 'logits'/],
    [
      'binary outputs for the whole request',
      { inputs: [textInput(['a'])], parameters: { binary_data_output: true } },
      /binary tensor data/,
    ],
    [
      'a binary output',
      { inputs: [textInput(['a'])], outputs: [{ name: 'label', parameters: { binary_data: true } }] },
      /binary tensor data/,
    ],
    [
      'a binary input',
      { inputs: [{ ...textInput(['a']), parameters: { binary_data_size: 5 } }] },
      /binary tensor data/,
    ],
    ['no inputs field', { id: 'x' }, /inputs/],
  ];
  for (const [what, body, pattern] of refusals) {
    it(`answers 400 {"error"} to ${what}`, async () => {
      assertV2Error((await infer(body).expect(400)).body, pattern);
    });
  }

  it('answers 400 to a binary-data request body (Inference-Header-Content-Length)', async () => {
    const json = JSON.stringify({ inputs: [{ ...textInput([]), shape: [1], parameters: { binary_data_size: 5 } }] });
    const response = await request(url)
      .post(`/v2/models/${name}/infer`)
      .set('inference-header-content-length', String(json.length))
      .set('content-type', 'application/octet-stream')
      .send(Buffer.concat([Buffer.from(json), Buffer.from([1, 0, 0, 0, 97])]))
      .expect(400);
    assertV2Error(response.body, /binary tensor data/);
  });

  it('answers 404 for another model, with nothing queued', async () => {
    assertV2Error(
      (await infer({ inputs: [textInput(['a'])] }, '/v2/models/other/infer').expect(404)).body,
      /unknown model/,
    );
  });

  it('applies the service’s limits: 413 over MAX_TEXTS_PER_REQUEST, counted as a rejection', async () => {
    const before = await metricValue(url, 'sentiment_rejections_total{reason="too_many_texts"}');
    const texts = Array.from({ length: 65 }, () => 'fine');
    assertV2Error((await infer({ inputs: [textInput(texts)] }).expect(413)).body, /65 texts; at most 64/);
    assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="too_many_texts"}'), before + 1);
  });
});
