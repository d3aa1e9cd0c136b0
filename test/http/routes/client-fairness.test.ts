import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricValue, startApp } from '../../support/running-app.js';
import { waitUntil } from '../../support/wait-until.js';

function analyze(url: string, key: string, text: string | string[]): Promise<Response> {
  return fetch(`${url}/analyze`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ text }),
  });
}

const aText = 'I love using this product, it works well every single day.';
const bText = 'awful';

describe('fairness between clients (API keys, embedded model)', () => {
  it("refuses a flooding client past its share while another client is let in, and runs the other's text first", async () => {
    const { service, url, engine } = await startApp({
      API_KEYS: 'key-a,key-b',
      MAX_QUEUE: '8',
      MAX_TEXTS_PER_REQUEST: '2',
      MAX_QUEUE_PER_CLIENT: '4',
      MAX_BATCH_SIZE: '2',
      ADMISSION_WAIT_MS: '0',
    });
    try {
      engine.close();
      const running = analyze(url, 'key-a', aText);
      await waitUntil(() => engine.waitingBatches === 1);
      const backlog = [analyze(url, 'key-a', [aText, aText]), analyze(url, 'key-a', [aText, aText])];
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 4);

      const refused = await analyze(url, 'key-a', aText);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.match(((await refused.json()) as { message: string }).message, /this client has 4 texts waiting/);
      assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="client_queue_full"}'), 1);
      assert.equal(await metricValue(url, 'sentiment_rejections_total{reason="queue_full"}'), 0);

      const other = analyze(url, 'key-b', bText);
      await waitUntil(async () => (await metricValue(url, 'sentiment_queue_depth')) === 5);
      assert.equal(await metricValue(url, 'sentiment_clients_waiting{client_class="heavy"}'), 1);
      assert.equal(await metricValue(url, 'sentiment_clients_waiting{client_class="light"}'), 1);

      engine.release();
      assert.equal((await other).status, 200);
      assert.equal((await running).status, 200);
      for (const response of await Promise.all(backlog)) assert.equal(response.status, 200);
      // The batch after the one that was running holds b's text, ahead of a's four older ones.
      const bLength = Math.min(...engine.batches.flat().map((text) => text.ids.length));
      assert.ok(
        engine.batches[1]?.some((text) => text.ids.length === bLength),
        `batches by length: ${JSON.stringify(engine.batches.map((batch) => batch.map((text) => text.ids.length)))}`,
      );
    } finally {
      engine.release();
      await service.close();
    }
  });
});
