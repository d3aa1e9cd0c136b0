import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodeBytesTensor, encodeBytesTensor } from '../../src/open-inference/tensor-bytes.js';
import {
  callOn,
  clientFor,
  grpcAddressOf,
  inferRequest as inferRequestFor,
  type InferenceClient,
  type ProtoMessage,
} from '../support/grpc-client.js';
import { metricValue, startApp, type RunningApp } from '../support/running-app.js';
import { waitUntil } from '../support/wait-until.js';

// The Open Inference Protocol over gRPC (GRPC_PORT), called with a grpc-js client built from the committed proto.

const positive = 'I love using this product!';
const negative = 'This is the worst purchase I have ever made.';

let running: RunningApp;
let client: InferenceClient;
let name: string;
let labels: string[];
let grpcAddress: string;

function call(method: string, request: object, target: InferenceClient = client) {
  return callOn(target, method, request);
}

function inferRequest(texts: string[], extra: object = {}) {
  return inferRequestFor(name, texts, extra);
}

before(async () => {
  running = await startApp({ GRPC_PORT: '0' });
  const info = (await (await fetch(`${running.url}/info`)).json()) as { model: { name: string; labels: string[] } };
  name = info.model.name;
  labels = info.model.labels;
  // The app logs its gRPC address; the test config is silent, so read the bound port through the server itself.
  grpcAddress = running.service.grpcAddress ?? '';
  assert.match(grpcAddress, /^127\.0\.0\.1:\d+$/);
  client = clientFor(grpcAddress);
});
after(async () => {
  client?.close();
  await running?.service.close();
});

describe('gRPC inference.GRPCInferenceService', () => {
  it('answers health, server and model metadata', async () => {
    assert.deepEqual(await call('ServerLive', {}), { live: true });
    assert.deepEqual(await call('ServerReady', {}), { ready: true });
    assert.deepEqual(await call('ModelReady', { name, version: '' }), { ready: true });
    const server = await call('ServerMetadata', {});
    assert.equal(typeof server.version, 'string');
    const metadata = await call('ModelMetadata', { name, version: '1' });
    assert.equal(metadata.name, name);
    assert.deepEqual(metadata.versions, ['1']);
    assert.deepEqual(metadata.inputs, [{ name: 'text', datatype: 'BYTES', shape: [-1] }]);
    assert.deepEqual(
      metadata.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape]),
      [
        ['label', [-1]],
        ['score', [-1]],
        ['probabilities', [-1, labels.length]],
      ],
    );
  });

  it('refuses another model with NOT_FOUND', async () => {
    await assert.rejects(call('ModelMetadata', { name: 'other', version: '' }), (error: grpc.ServiceError) => {
      assert.equal(error.code, grpc.status.NOT_FOUND);
      assert.match(error.details, /unknown model 'other'/);
      return true;
    });
  });

  it('infers from bytes_contents and from raw_input_contents, answering raw_output_contents with the id echoed', async () => {
    for (const request of [
      inferRequest([positive, negative], { id: 'grpc-1' }),
      {
        model_name: name,
        id: 'grpc-1',
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [2, 1] }],
        raw_input_contents: [encodeBytesTensor([positive, negative])],
      },
    ]) {
      const response = await call('ModelInfer', request);
      assert.equal(response.id, 'grpc-1');
      assert.equal(response.model_name, name);
      assert.deepEqual(
        response.outputs.map((o: { name: string; datatype: string; shape: number[] }) => [o.name, o.datatype, o.shape]),
        [
          ['label', 'BYTES', [2]],
          ['score', 'FP32', [2]],
          ['probabilities', 'FP32', [2, labels.length]],
        ],
      );
      assert.deepEqual(decodeBytesTensor(response.raw_output_contents[0]), ['POSITIVE', 'NEGATIVE']);
      const scores = new Float32Array(new Uint8Array(response.raw_output_contents[1]).buffer);
      const probabilities = new Float32Array(new Uint8Array(response.raw_output_contents[2]).buffer);
      assert.equal(scores.length, 2);
      assert.equal(probabilities.length, 2 * labels.length);
      assert.equal(scores[0], Math.max(...probabilities.slice(0, labels.length)));
    }
  });

  it('returns only the outputs asked for', async () => {
    const response = await call('ModelInfer', inferRequest([negative], { outputs: [{ name: 'label' }] }));
    assert.deepEqual(
      response.outputs.map((o: { name: string }) => o.name),
      ['label'],
    );
    assert.deepEqual(decodeBytesTensor(response.raw_output_contents[0]), ['NEGATIVE']);
  });

  it('refuses bad requests with INVALID_ARGUMENT, and more texts than MAX_TEXTS_PER_REQUEST as the service’s rejection', async () => {
    for (const request of [
      inferRequest(['a'], { inputs: [{ name: 'text', datatype: 'FP32', shape: [1] }] }),
      inferRequest(['a', 'b'], { outputs: [{ name: 'logits' }] }),
      {
        model_name: name,
        inputs: [{ name: 'text', datatype: 'BYTES', shape: [1] }],
        raw_input_contents: [Buffer.from([9, 0, 0, 0, 97])],
      },
    ]) {
      await assert.rejects(
        call('ModelInfer', request),
        (error: grpc.ServiceError) => error.code === grpc.status.INVALID_ARGUMENT,
      );
    }
    const before = await metricValue(running.url, 'sentiment_rejections_total{reason="too_many_texts"}');
    await assert.rejects(
      call('ModelInfer', inferRequest(Array.from({ length: 65 }, () => 'fine'))),
      (error: grpc.ServiceError) => {
        assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
        assert.match(error.details, /65 texts; at most 64/);
        return true;
      },
    );
    assert.equal(await metricValue(running.url, 'sentiment_rejections_total{reason="too_many_texts"}'), before + 1);
    const observed = await metricValue(
      running.url,
      'sentiment_grpc_request_duration_seconds_count{method="ModelInfer",code="OK"}',
    );
    assert.ok(observed >= 1);
    assert.equal(
      await metricValue(
        running.url,
        'sentiment_grpc_request_duration_seconds_count{method="ModelInfer",code="INVALID_ARGUMENT"}',
      ),
      4,
    );
    // gRPC calls are not HTTP requests of the service.
    assert.doesNotMatch(await (await fetch(`${running.url}/metrics`)).text(), /route="\/inference\./);
  });
});

describe('gRPC with API keys', () => {
  it('refuses ModelInfer without the key (UNAUTHENTICATED), answers with it, and keeps health open', async () => {
    const own = await startApp({ GRPC_PORT: '0', API_KEYS: 'grpc-key-4d1f' });
    const ownClient = clientFor(grpcAddressOf(own.service));
    try {
      assert.equal((await call('ServerReady', {}, ownClient)).ready, true);
      for (const authorization of [undefined, 'Bearer wrong-key']) {
        await assert.rejects(
          callWithMetadata(ownClient, authorization),
          (error: grpc.ServiceError) => error.code === grpc.status.UNAUTHENTICATED,
        );
      }
      const answer = await callWithMetadata(ownClient, 'Bearer grpc-key-4d1f');
      assert.equal(answer.model_name, name);
    } finally {
      ownClient.close();
      await own.service.close();
    }
  });
});

function callWithMetadata(target: InferenceClient, authorization: string | undefined): Promise<ProtoMessage> {
  const metadata = new grpc.Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  return new Promise((resolve, reject) => {
    (target as ProtoMessage).ModelInfer(
      inferRequest([positive]),
      metadata,
      { deadline: Date.now() + 30_000 },
      (error: grpc.ServiceError | null, response: ProtoMessage) => (error ? reject(error) : resolve(response)),
    );
  });
}

describe('gRPC on shutdown', () => {
  it('finishes a call in progress, refuses new inference, then stops listening', async () => {
    const own = await startApp({ GRPC_PORT: '0' });
    const address = grpcAddressOf(own.service);
    const ownClient = clientFor(address);
    try {
      own.engine.close();
      const inProgress = call('ModelInfer', inferRequest([positive]), ownClient);
      await waitUntil(() => own.engine.waitingBatches === 1);
      const closed = own.service.close();
      await waitUntil(async () => {
        try {
          await call('ServerReady', {}, ownClient).then((r: { ready: boolean }) => {
            if (r.ready) throw new Error('still ready');
          });
          return true;
        } catch (error) {
          return (error as grpc.ServiceError).code === grpc.status.UNAVAILABLE;
        }
      });
      await assert.rejects(
        call('ModelInfer', inferRequest([negative]), ownClient),
        (error: grpc.ServiceError) => error.code === grpc.status.UNAVAILABLE,
      );
      assert.equal(own.engine.disposed, false, 'the engine is kept while a call is in progress');
      own.engine.release();
      const response = await inProgress;
      assert.deepEqual(decodeBytesTensor(response.raw_output_contents[0]), ['POSITIVE']);
      await closed;
      assert.equal(own.engine.disposed, true, 'the engine is released last');
      await assert.rejects(
        call('ServerLive', {}, ownClient),
        (error: grpc.ServiceError) => error.code === grpc.status.UNAVAILABLE,
      );
    } finally {
      own.engine.release();
      ownClient.close();
    }
  });
});
