import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorNames, isErrorCode, postedError, ServiceError } from '../../src/errors/error-codes.js';
import {
  ClientGoneError,
  ClientQueueFullError,
  DeadlineExceededError,
  DrainingError,
  EngineUnavailableError,
  InferenceFailedError,
  QueueFullError,
  rejectionCode,
  rejectionReasons,
  rejectionStatus,
  TextTooLongError,
  TooManyTextsError,
  UploadsFullError,
} from '../../src/errors/rejections.js';
import { ServiceMetrics } from '../../src/metrics/metrics.js';
import { ModelDirError } from '../../src/model/model-dir.js';

describe('error registry', () => {
  it('gives every rejection reason a registered code and an HTTP status', () => {
    for (const reason of rejectionReasons) {
      assert.ok(isErrorCode(rejectionCode(reason)), reason);
      assert.ok(Number.isInteger(rejectionStatus[reason]), reason);
    }
    assert.deepEqual(Object.keys(rejectionStatus).sort(), [...rejectionReasons].sort());
  });

  it('builds each rejection with its reason, its code and the class name the registry gives it', () => {
    const errors = [
      new QueueFullError(1, 2, 3),
      new ClientQueueFullError(1, 2, 3),
      new DeadlineExceededError(),
      new ClientGoneError(),
      new DrainingError(),
      new TextTooLongError(0, 600, false, 512),
      new TooManyTextsError(70, 64),
      new UploadsFullError(1_000_000, 100),
      new EngineUnavailableError('connection refused'),
    ];
    // body_timeout is answered by Node itself (408), with no error object of ours.
    assert.deepEqual(errors.map((e) => e.reason).sort(), rejectionReasons.filter((r) => r !== 'body_timeout').sort());
    for (const error of errors) {
      assert.equal(error.code, rejectionCode(error.reason));
      assert.equal(error.name, errorNames[error.code]);
      assert.equal(error.name, error.constructor.name);
    }
  });

  it('counts rejections under exactly the listed reasons', async () => {
    const metrics = new ServiceMetrics({
      queueCapacity: 1,
      model: { model: 'm', engine: 'e', device: 'd', backend: 'b' },
    });
    const counter = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'sentiment_rejections_total');
    assert.deepEqual(counter?.values.map((v) => v.labels.reason).sort(), [...rejectionReasons].sort());
  });

  it('gives an engine failure its own code, keeping the cause', () => {
    const cause = new Error('Gather idx=600');
    const error = new InferenceFailedError(cause);
    assert.equal(error.code, 'SENTIMENT_INFERENCE_FAILED');
    assert.equal(error.name, 'InferenceFailedError');
    assert.equal(error.cause, cause);
  });

  it('posts an error with its code, and a foreign error without one', () => {
    const error = new ModelDirError('/x', 'config.json is missing');
    assert.ok(error instanceof ServiceError);
    assert.deepEqual(postedError(error), {
      code: 'SENTIMENT_MODEL_DIR',
      name: 'ModelDirError',
      message: error.message,
    });
    assert.deepEqual(postedError(new TypeError('boom')), { code: undefined, name: 'TypeError', message: 'boom' });
    assert.equal(isErrorCode('SENTIMENT_NOPE'), false);
  });
});
