import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RemoteModelMetadata } from '../../../src/engine/remote/remote-client.js';
import { checkRemoteModel, RemoteEngineError, type ServiceSide } from '../../../src/engine/remote/remote-contract.js';

const url = 'grpc://127.0.0.1:8001';
const service: ServiceSide = {
  source: 'MODEL_DIR /models/sst2-minilm-l6',
  labels: ['NEGATIVE', 'POSITIVE'],
  maxBatchSize: 32,
  batchShapes: undefined,
};
/** What Triton answers for a Python-backend model with max_batch_size > 0 and dims [-1]. */
function tritonMetadata(change: Partial<RemoteModelMetadata> = {}): RemoteModelMetadata {
  return {
    name: 'sst2-minilm-l6',
    versions: ['1'],
    platform: 'python',
    inputs: [
      { name: 'input_ids', datatype: 'INT64', shape: [-1, -1] },
      { name: 'attention_mask', datatype: 'INT64', shape: [-1, -1] },
      { name: 'token_type_ids', datatype: 'INT64', shape: [-1, -1] },
    ],
    outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 2] }],
    ...change,
  };
}
const tritonConfig = { maxBatchSize: 256, instances: 2, backend: 'python' };

function refusal(metadata: RemoteModelMetadata, side: Partial<ServiceSide> = {}, config = tritonConfig): string {
  try {
    checkRemoteModel({ url, metadata, config }, { ...service, ...side });
  } catch (error) {
    assert.ok(error instanceof RemoteEngineError);
    return error.message;
  }
  assert.fail('expected a refusal');
}

describe('checkRemoteModel', () => {
  it("accepts Triton's metadata for the model: token inputs as declared, the logits output", () => {
    const contract = checkRemoteModel({ url, metadata: tritonMetadata(), config: tritonConfig }, service);
    assert.deepEqual(contract, {
      inputs: [
        { name: 'input_ids', datatype: 'INT64' },
        { name: 'attention_mask', datatype: 'INT64' },
        { name: 'token_type_ids', datatype: 'INT64' },
      ],
      output: { name: 'logits', datatype: 'FP32' },
      maxBatchSize: 256,
    });
  });

  it('refuses a label count other than config.json, naming both sides', () => {
    const message = refusal(tritonMetadata({ outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }] }));
    assert.match(
      message,
      /'sst2-minilm-l6' at grpc:\/\/127\.0\.0\.1:8001 answers 'logits' FP32 \[-1, 3\], 3 logits per text/,
    );
    assert.match(message, /MODEL_DIR \/models\/sst2-minilm-l6 has 2 labels \(NEGATIVE, POSITIVE\)/);
  });

  it('refuses inputs it cannot send and a missing one, and says what it sends', () => {
    const message = refusal(
      tritonMetadata({
        inputs: [
          { name: 'input_ids', datatype: 'FP32', shape: [-1, -1] },
          { name: 'text', datatype: 'BYTES', shape: [-1] },
        ],
      }),
    );
    assert.match(message, /takes 'input_ids' FP32 \[-1, -1\]; the service sends token ids as INT64/);
    assert.match(
      message,
      /takes input 'text' BYTES \[-1\]; the service sends only input_ids, attention_mask, token_type_ids/,
    );
    assert.match(message, /has no input 'attention_mask'/);
  });

  it('refuses batches larger than max_batch_size, naming the setting that asks for them', () => {
    const message = refusal(tritonMetadata(), {}, { ...tritonConfig, maxBatchSize: 16 });
    assert.match(
      message,
      /takes batches of at most 16 \(max_batch_size\); the service sends up to 32 \(MAX_BATCH_SIZE\)/,
    );
  });

  it('refuses a fixed sequence length unless BATCH_SHAPES pads every batch to it', () => {
    const fixed = tritonMetadata({
      inputs: ['input_ids', 'attention_mask'].map((name) => ({ name, datatype: 'INT64', shape: [-1, 128] })),
    });
    assert.match(
      refusal(fixed),
      /a fixed sequence of 128 tokens; the service sends batches padded to their longest text \(set BATCH_SHAPES\)/,
    );
    assert.match(
      refusal(fixed, {
        batchShapes: [
          { rows: 1, columns: 128 },
          { rows: 8, columns: 512 },
        ],
      }),
      /a fixed sequence of 128 tokens; the service sends BATCH_SHAPES=1x128,8x512/,
    );
    const contract = checkRemoteModel(
      { url, metadata: fixed, config: tritonConfig },
      {
        ...service,
        batchShapes: [
          { rows: 1, columns: 128 },
          { rows: 8, columns: 128 },
        ],
      },
    );
    assert.equal(contract.inputs.length, 2);
  });

  it('reads FP16 logits, and one output of another name, from a server without Triton’s config extension', () => {
    const contract = checkRemoteModel(
      {
        url,
        metadata: tritonMetadata({ outputs: [{ name: 'output_0', datatype: 'FP16', shape: [-1, 2] }] }),
        config: undefined,
      },
      service,
    );
    assert.deepEqual(contract.output, { name: 'output_0', datatype: 'FP16' });
    assert.equal(contract.maxBatchSize, undefined);
  });
});
