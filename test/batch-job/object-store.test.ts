import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { exitCodes } from '../../src/batch-job/batch-job.js';
import { isPrefix, objectStoreError, parseObjectUrl } from '../../src/batch-job/object-store.js';

function serviceError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status < 500 ? 'client' : 'server',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

describe('object-store locations and errors', () => {
  it('parses s3://bucket/key and prefixes; refuses what S3 would', () => {
    assert.deepEqual(parseObjectUrl('s3://in-bucket/day/a.jsonl'), { bucket: 'in-bucket', key: 'day/a.jsonl' });
    assert.equal(isPrefix(parseObjectUrl('s3://in-bucket/day/') ?? assert.fail()), true);
    assert.equal(isPrefix(parseObjectUrl('s3://in-bucket') ?? assert.fail()), true);
    for (const bad of ['s3://ab/x', 's3://Upper/x', 'file:///x', `s3://${'b'.repeat(64)}/x`]) {
      assert.equal(parseObjectUrl(bad), undefined, bad);
    }
  });

  it('exit 3 for what a retry meets again (missing, denied, changed); 1 for the rest, which a retry may get past', () => {
    const cases: [unknown, number, RegExp][] = [
      [
        serviceError('NoSuchBucket', 404),
        exitCodes.unusableData,
        /reading x: the bucket does not exist \(NoSuchBucket, HTTP 404\)/,
      ],
      [serviceError('AccessDenied', 403), exitCodes.unusableData, /access denied/],
      [serviceError('Unknown', 403), exitCodes.unusableData, /access denied, or the credentials were not accepted/],
      [serviceError('PreconditionFailed', 412), exitCodes.unusableData, /changed since the job listed it/],
      [serviceError('SlowDown', 503), exitCodes.failed, /SlowDown, HTTP 503/],
      [
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
        exitCodes.failed,
        /ECONNREFUSED/,
      ],
    ];
    for (const [cause, exitCode, message] of cases) {
      const error = objectStoreError(cause, 'reading x');
      assert.equal(error.exitCode, exitCode, error.message);
      assert.equal(error.code, 'SENTIMENT_OBJECT_STORE');
      assert.match(error.message, message);
    }
  });
});
