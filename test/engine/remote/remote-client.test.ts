import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { RemoteClient } from '../../../src/engine/remote/remote-client.js';
import { checkRemoteModel, RemoteEngineError } from '../../../src/engine/remote/remote-contract.js';
import { startApp, type RunningApp } from '../../support/running-app.js';

// The remote engine's client against this service's own Open Inference gRPC server: a server without Triton's
// ModelConfig extension, whose ModelInfer needs a bearer key (API_KEYS) and takes texts, not token tensors.

describe('RemoteClient against an Open Inference server that is not Triton', () => {
  let running: RunningApp;
  let url: string;
  before(async () => {
    running = await startApp({ GRPC_PORT: '0', API_KEYS: 'the-right-key' });
    url = `grpc://${running.service.grpcAddress}`;
  });
  after(async () => {
    await running?.service.close();
  });

  const infer = (client: RemoteClient) =>
    client.infer(
      { name: 'sst2-minilm-l6', version: '' },
      [{ name: 'input_ids', datatype: 'INT64', shape: [1, 1] }],
      [Buffer.alloc(8)],
      'logits',
      5000,
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );

  it('sends REMOTE_TOKEN as bearer metadata: refused without the right key, past the key check with it', async () => {
    const wrong = new RemoteClient({ url, caFile: undefined, token: 'a-wrong-key' });
    const right = new RemoteClient({ url, caFile: undefined, token: 'the-right-key' });
    try {
      await assert.rejects(infer(wrong), (error: grpc.ServiceError) => error.code === grpc.status.UNAUTHENTICATED);
      // Past authentication, this server refuses token tensors: it takes texts.
      await assert.rejects(infer(right), (error: grpc.ServiceError) => error.code === grpc.status.INVALID_ARGUMENT);
    } finally {
      wrong.close();
      right.close();
    }
  });

  it('reads readiness and metadata, takes UNIMPLEMENTED ModelConfig as no config, and the contract refuses texts', async () => {
    const client = new RemoteClient({ url, caFile: undefined, token: undefined });
    try {
      assert.equal(await client.serverReady(5000), true);
      assert.equal(await client.modelReady('sst2-minilm-l6', '', 5000), true);
      assert.equal(await client.modelConfig('sst2-minilm-l6', '', 5000), undefined);
      const metadata = await client.modelMetadata('sst2-minilm-l6', '', 5000);
      assert.throws(
        () =>
          checkRemoteModel(
            { url, metadata, config: undefined },
            { source: 'MODEL_DIR m', labels: ['NEGATIVE', 'POSITIVE'], maxBatchSize: 32, batchShapes: undefined },
          ),
        (error: unknown) =>
          error instanceof RemoteEngineError &&
          /takes input 'text' BYTES \[-1\]; the service sends only input_ids/.test(error.message) &&
          /has no input 'input_ids'/.test(error.message),
      );
    } finally {
      client.close();
    }
  });
});
