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
after(() => running.service.close());

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
    assert.deepEqual(body.extensions, ['binary_tensor_data']);
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
      'a binary input in a plain JSON body',
      { inputs: [{ ...textInput(['a']), parameters: { binary_data_size: 5 } }] },
      /binary body format/,
    ],
    ['no inputs field', { id: 'x' }, /inputs/],
  ];
  for (const [what, body, pattern] of refusals) {
    it(`answers 400 {"error"} to ${what}`, async () => {
      assertV2Error((await infer(body).expect(400)).body, pattern);
    });
  }

  /** A body in the binary tensor data format: the JSON header, then each text as a uint32 LE length and UTF-8. */
  function binaryBody(header: unknown, texts: readonly string[]): { body: Buffer; headerLength: number } {
    const data = Buffer.concat(
      texts.flatMap((text) => {
        const bytes = Buffer.from(text, 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32LE(bytes.length);
        return [length, bytes];
      }),
    );
    const json = Buffer.from(JSON.stringify(header).replace('"__SIZE__"', String(data.length)));
    return { body: Buffer.concat([json, data]), headerLength: json.length };
  }

  function postBinary(body: Buffer, headerLength: number | string) {
    return request(url)
      .post(`/v2/models/${name}/infer`)
      .set('inference-header-content-length', String(headerLength))
      .set('content-type', 'application/octet-stream')
      .buffer(true)
      .parse((response, callback) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => callback(null, Buffer.concat(chunks)));
      })
      .send(body);
  }

  it('serves binary tensor data both ways: texts as bytes in, every output as bytes out', async () => {
    const texts = [positive, negative, 'Ünïcödé — 漢字 fine 👍'];
    const { body, headerLength } = binaryBody(
      {
        id: 'bin-1',
        inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', parameters: { binary_data_size: '__SIZE__' } }],
        parameters: { binary_data_output: true },
      },
      texts,
    );
    const response = await postBinary(body, headerLength)
      .expect(200)
      .expect('content-type', /octet-stream/);
    const raw = response.body as Buffer;
    const jsonLength = Number(response.headers['inference-header-content-length']);
    const header = JSON.parse(raw.subarray(0, jsonLength).toString('utf8')) as {
      id: string;
      outputs: { name: string; datatype: string; shape: number[]; parameters: { binary_data_size: number } }[];
    };
    assert.equal(header.id, 'bin-1');
    let offset = jsonLength;
    const tensors = new Map<string, Buffer>();
    for (const output of header.outputs) {
      tensors.set(output.name, raw.subarray(offset, offset + output.parameters.binary_data_size));
      offset += output.parameters.binary_data_size;
    }
    assert.equal(offset, raw.length, 'the outputs account for every byte after the header');
    const labels: string[] = [];
    const labelBytes = tensors.get('label') as Buffer;
    for (let at = 0; at < labelBytes.length; ) {
      const length = labelBytes.readUInt32LE(at);
      labels.push(labelBytes.toString('utf8', at + 4, at + 4 + length));
      at += 4 + length;
    }
    assert.deepEqual(labels.slice(0, 2), ['POSITIVE', 'NEGATIVE']);
    assert.equal(labels.length, 3);
    const scores = tensors.get('score') as Buffer;
    assert.equal(scores.length, 3 * 4);
    // The same texts as JSON give the same scores (FP32).
    const asJson = (await infer({ inputs: [textInput(texts)] }).expect(200)).body as InferResponse;
    const jsonScores = asJson.outputs.find((t) => t.name === 'score')?.data as number[];
    assert.deepEqual(
      [0, 1, 2].map((i) => scores.readFloatLE(i * 4)),
      jsonScores,
    );
  });

  it('answers JSON outputs to binary inputs unless binary outputs are asked for, and mixes them per output', async () => {
    const header = {
      inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: '__SIZE__' } }],
      outputs: [
        { name: 'label', parameters: { binary_data: false } },
        { name: 'score', parameters: { binary_data: true } },
      ],
    };
    const { body, headerLength } = binaryBody(header, [positive]);
    const response = await postBinary(body, headerLength).expect(200);
    const raw = response.body as Buffer;
    const jsonLength = Number(response.headers['inference-header-content-length']);
    const parsed = JSON.parse(raw.subarray(0, jsonLength).toString('utf8')) as {
      outputs: { name: string; data?: unknown[]; parameters?: { binary_data_size: number } }[];
    };
    assert.deepEqual(parsed.outputs[0]?.data, ['POSITIVE']);
    assert.equal(parsed.outputs[1]?.parameters?.binary_data_size, 4);
    assert.equal(raw.length, jsonLength + 4);

    const plain = binaryBody({ inputs: header.inputs }, [negative]);
    const json = await request(url)
      .post(`/v2/models/${name}/infer`)
      .set('inference-header-content-length', String(plain.headerLength))
      .send(plain.body)
      .expect(200)
      .expect('content-type', /json/);
    assert.deepEqual((json.body as InferResponse).outputs.find((t) => t.name === 'label')?.data, ['NEGATIVE']);
  });

  const malformed: [string, () => { body: Buffer; headerLength: number | string }, RegExp][] = [
    ['a header length past the body', () => ({ body: Buffer.from('{}'), headerLength: 99 }), /header's length/],
    ['a header that is not JSON', () => ({ body: Buffer.from('{nope'), headerLength: 5 }), /not valid JSON/],
    [
      'an element longer than its tensor',
      () => {
        const json = JSON.stringify({
          inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 5 } }],
        });
        return { body: Buffer.concat([Buffer.from(json), Buffer.from([200, 0, 0, 0, 97])]), headerLength: json.length };
      },
      /runs past the tensor's data/,
    ],
    [
      'bytes no input claims',
      () => {
        const { body, headerLength } = binaryBody(
          { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: '__SIZE__' } }] },
          ['a'],
        );
        return { body: Buffer.concat([body, Buffer.from('extra')]), headerLength };
      },
      /not claimed/,
    ],
  ];
  for (const [what, make, pattern] of malformed) {
    it(`answers 400 {"error"} to a binary body with ${what}`, async () => {
      const { body, headerLength } = make();
      const response = await postBinary(body, headerLength).expect(400);
      assertV2Error(JSON.parse((response.body as Buffer).toString('utf8')), pattern);
    });
  }

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
