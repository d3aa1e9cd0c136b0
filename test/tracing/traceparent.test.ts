import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TraceFlags } from '@opentelemetry/api';
import { RequestTiming } from '../../src/timing/request-timing.js';
import { traceparentOf } from '../../src/tracing/traceparent.js';

function timing(traceFlags: number): RequestTiming {
  const tag = new RequestTiming();
  tag.spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags };
  return tag;
}

describe('traceparentOf', () => {
  it("gives the first sampled request's W3C traceparent among a batch's tags", () => {
    assert.equal(
      traceparentOf([undefined, timing(TraceFlags.NONE), timing(TraceFlags.SAMPLED)]),
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
  });

  it('gives none when no request in the batch is sampled', () => {
    assert.equal(traceparentOf([undefined, 'job', timing(TraceFlags.NONE), new RequestTiming()]), undefined);
  });
});
