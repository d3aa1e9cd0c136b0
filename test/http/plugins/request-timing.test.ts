import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../../src/model/model.js';
import { timingHeaderNames } from '../../../src/timing/request-timing.js';
import { testConfig } from '../../support/config.js';
import { startApp, type RunningApp } from '../../support/running-app.js';

const texts = ['I love using this product!', 'This is the worst purchase I have ever made.'];

describe('timing headers (as TEI sends them)', () => {
  let running: RunningApp;
  before(async () => (running = await startApp()));
  after(() => running.service.close());

  it('answers /analyze with total, tokenization, queue and inference time in whole ms, and the tokens computed', async () => {
    const response = await fetch(`${running.url}/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: texts }),
    });
    assert.equal(response.status, 200);
    const values = Object.fromEntries(timingHeaderNames.map((name) => [name, response.headers.get(name)]));
    for (const [name, value] of Object.entries(values)) assert.match(value ?? '', /^\d+$/, `${name}: ${value}`);
    const total = Number(values['x-total-time']);
    for (const name of ['x-tokenization-time', 'x-queue-time', 'x-inference-time'])
      assert.ok(Number(values[name]) <= total, name);

    const config = testConfig();
    const model = await loadModel(config.modelDir, config.dtype, config.engine);
    const tokens = texts.reduce((sum, text, index) => sum + model.tokenizer.encode(text, index, true).ids.length, 0);
    assert.equal(Number(values['x-compute-tokens']), tokens);
  });

  it('sends none when no text ran (a refused request) nor on routes that do not run the model', async () => {
    const refused = await fetch(`${running.url}/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(refused.status, 400);
    const probe = await fetch(`${running.url}/healthz`);
    for (const response of [refused, probe]) {
      for (const name of timingHeaderNames) assert.equal(response.headers.get(name), null, name);
    }
  });
});
