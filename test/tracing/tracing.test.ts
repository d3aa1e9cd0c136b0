import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodeBytesTensor } from '../../src/open-inference/tensor-bytes.js';
import { tracingRequested } from '../../src/tracing/tracing-env.js';
import { callOn, clientFor, grpcAddressOf, inferRequest } from '../support/grpc-client.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { startServer, type SpawnedServer } from '../support/spawned-server.js';
import { waitUntil } from '../support/wait-until.js';

const positive = 'I love using this product!';
const negative = 'This is the worst purchase I have ever made.';

function analyze(url: string, text: string | string[], headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/analyze`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ text }),
  });
}

function callerContext(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** OTLP's SpanKind.SERVER. */
const serverKind = 2;

describe('tracing switch', () => {
  it('is off without an OTLP endpoint, and when the SDK or the trace exporter is turned off', () => {
    assert.equal(tracingRequested({}), false);
    assert.equal(tracingRequested({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }), false);
    assert.equal(
      tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
      false,
    );
  });
});

describe('tracing to a real OTLP/HTTP receiver', () => {
  let receiver: OtlpReceiver;
  let server: SpawnedServer;
  before(async () => {
    receiver = await startOtlpReceiver();
    server = await startServer({
      HOST: '127.0.0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'sentiment-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      // One engine copy that waits a while for a fuller batch: requests sent together are batched together.
      ENGINE_INSTANCES: '1',
      MAX_WAIT_MS: '200',
      GRPC_PORT: '0',
    });
  });
  after(async () => {
    if (server.child.exitCode === null) server.child.kill('SIGTERM');
    await server.exited;
    await receiver.close();
  });

  const spansOf = (traceId: string): ReceivedSpan[] => receiver.spans.filter((span) => span.traceId === traceId);
  /** Waits for the caller's trace to hold a server span and its children; returns the server span, a child of the caller's. */
  const serverSpanUnder = async (caller: { traceId: string; spanId: string }): Promise<ReceivedSpan> => {
    await waitUntil(() => spansOf(caller.traceId).length >= 4, 20);
    const span = spansOf(caller.traceId).find((candidate) => candidate.kind === serverKind);
    assert.ok(span, 'a server span in the caller’s trace');
    assert.equal(span.parentSpanId, caller.spanId);
    return span;
  };

  it("continues the caller's trace: request span under the caller's span, tokenize / queue wait / inference under it, a linked batch span", async () => {
    const caller = callerContext();
    const response = await analyze(server.url, [positive, negative], { traceparent: caller.traceparent });
    assert.equal(response.status, 200);
    assert.deepEqual(
      ((await response.json()) as { label: string }[]).map((p) => p.label),
      ['POSITIVE', 'NEGATIVE'],
    );

    const request = await serverSpanUnder(caller);
    assert.equal(request.name, 'POST /analyze');
    assert.equal(request.attributes['http.route'], '/analyze');
    assert.equal(request.attributes['http.response.status_code'], 200);
    assert.equal(request.serviceName, 'sentiment-under-test');
    assert.ok(Number(request.attributes['sentiment.compute_tokens']) > 0);

    for (const name of ['tokenize', 'queue wait', 'inference']) {
      const child = spansOf(caller.traceId).find((span) => span.name === name);
      assert.ok(child, `${name} span`);
      assert.equal(child.parentSpanId, request.spanId, `${name} is a child of the request span`);
      assert.ok(BigInt(child.startTimeUnixNano) <= BigInt(child.endTimeUnixNano));
    }

    await waitUntil(
      () =>
        receiver.spans.some(
          (span) => span.name === 'batch' && span.links.some((link) => link.spanId === request.spanId),
        ),
      20,
    );
    const batches = receiver.spans.filter(
      (span) => span.name === 'batch' && span.links.some((link) => link.spanId === request.spanId),
    );
    const textsLinked = batches.reduce((sum, batch) => {
      const link = batch.links.find((candidate) => candidate.spanId === request.spanId);
      assert.equal(link?.traceId, caller.traceId);
      assert.notEqual(
        batch.traceId,
        caller.traceId,
        'a batch starts its own trace and links to the requests it served',
      );
      assert.ok(Number(batch.attributes['sentiment.batch.size']) >= 1);
      assert.ok(Number(batch.attributes['sentiment.batch.padded_tokens']) >= 1);
      assert.equal(batch.attributes['sentiment.engine'], process.env.ENGINE ?? 'onnx');
      assert.equal(batch.attributes['sentiment.device'], 'cpu');
      return sum + Number(link?.attributes['sentiment.batch.texts_of_request']);
    }, 0);
    assert.equal(textsLinked, 2, 'the batch spans account for both texts of the request');
  });

  it('links one batch to every request it served', async () => {
    // Sent together, within MAX_WAIT_MS of each other: the batcher puts several in one batch.
    const callers = Array.from({ length: 12 }, () => callerContext());
    const responses = await Promise.all(
      callers.map((caller) => analyze(server.url, positive, { traceparent: caller.traceparent })),
    );
    assert.ok(responses.every((response) => response.status === 200));
    const requestSpanIds = new Set<string>();
    await waitUntil(() => {
      for (const caller of callers) {
        const request = spansOf(caller.traceId).find((span) => span.kind === serverKind);
        if (request !== undefined) requestSpanIds.add(request.spanId);
      }
      return requestSpanIds.size === callers.length;
    }, 20);
    await waitUntil(() => {
      const linked = receiver.spans
        .filter((span) => span.name === 'batch')
        .flatMap((span) => span.links.map((link) => link.spanId));
      return [...requestSpanIds].every((id) => linked.includes(id));
    }, 20);
    const shared = receiver.spans.filter(
      (span) => span.name === 'batch' && span.links.filter((link) => requestSpanIds.has(link.spanId)).length > 1,
    );
    assert.ok(shared.length >= 1, 'at least one batch served several of the requests and links to each');
    for (const batch of shared) assert.equal(batch.links.length, batch.attributes['sentiment.batch.requests']);
  });

  it("follows a caller's decision not to sample: no span for its trace, its batch links only sampled requests", async () => {
    const unsampled = callerContext();
    const sampled = callerContext();
    const answers = await Promise.all([
      analyze(server.url, positive, { traceparent: `00-${unsampled.traceId}-${unsampled.spanId}-00` }),
      analyze(server.url, negative, { traceparent: sampled.traceparent }),
    ]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200],
    );
    // An unsampled span is never recorded, so nothing of it can arrive later; the sampled one shows export has run.
    await waitUntil(() => spansOf(sampled.traceId).length >= 4, 20);
    assert.deepEqual(spansOf(unsampled.traceId), []);
    assert.ok(receiver.spans.every((span) => span.links.every((link) => link.traceId !== unsampled.traceId)));
  });

  it("traces a gRPC ModelInfer call as HTTP's: a server span under the traceparent of its metadata, tokenize / queue wait / inference under it, a linked batch span", async () => {
    const caller = callerContext();
    const client = clientFor(grpcAddressOf(server));
    try {
      const info = (await (await fetch(`${server.url}/info`)).json()) as { model: { name: string } };
      const metadata = new grpc.Metadata();
      metadata.set('traceparent', caller.traceparent);
      const response = await callOn(client, 'ModelInfer', inferRequest(info.model.name, [positive, negative]), {
        metadata,
      });
      assert.deepEqual(decodeBytesTensor(response.raw_output_contents[0]), ['POSITIVE', 'NEGATIVE']);
    } finally {
      client.close();
    }

    const call = await serverSpanUnder(caller);
    assert.equal(call.name, 'inference.GRPCInferenceService/ModelInfer');
    assert.equal(call.attributes['rpc.system'], 'grpc');
    assert.equal(call.attributes['rpc.method'], 'ModelInfer');
    assert.equal(call.attributes['rpc.grpc.status_code'], grpc.status.OK);
    assert.ok(Number(call.attributes['sentiment.compute_tokens']) > 0);
    for (const name of ['tokenize', 'queue wait', 'inference']) {
      const child = spansOf(caller.traceId).find((span) => span.name === name);
      assert.ok(child, `${name} span`);
      assert.equal(child.parentSpanId, call.spanId, `${name} is a child of the call's span`);
    }
    await waitUntil(
      () =>
        receiver.spans.some((span) => span.name === 'batch' && span.links.some((link) => link.spanId === call.spanId)),
      20,
    );
  });

  it('gives a refused gRPC call a span with its status, and health calls spans without inference children', async () => {
    const caller = callerContext();
    const client = clientFor(grpcAddressOf(server));
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', caller.traceparent);
    try {
      await assert.rejects(
        callOn(client, 'ModelInfer', inferRequest('no-such-model', [positive]), { metadata }),
        (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND,
      );
      assert.equal((await callOn(client, 'ServerReady', {}, { metadata })).ready, true);
    } finally {
      client.close();
    }
    await waitUntil(() => spansOf(caller.traceId).length >= 2, 20);
    const byName = new Map(spansOf(caller.traceId).map((span) => [span.name, span]));
    assert.equal(
      byName.get('inference.GRPCInferenceService/ModelInfer')?.attributes['rpc.grpc.status_code'],
      grpc.status.NOT_FOUND,
    );
    assert.equal(
      byName.get('inference.GRPCInferenceService/ServerReady')?.attributes['rpc.grpc.status_code'],
      grpc.status.OK,
    );
    assert.deepEqual(
      spansOf(caller.traceId).filter((span) => span.kind !== serverKind),
      [],
      'no tokenize / queue wait / inference children: nothing ran',
    );
  });

  it('starts a new trace for a request without traceparent, and logs its trace_id on the request line', async () => {
    const response = await analyze(server.url, positive, { 'x-request-id': 'trace-log-check' });
    assert.equal(response.status, 200);
    await waitUntil(
      () => receiver.spans.some((span) => span.attributes['sentiment.request_id'] === 'trace-log-check'),
      20,
    );
    const span = receiver.spans.find(
      (candidate) => candidate.attributes['sentiment.request_id'] === 'trace-log-check',
    ) as ReceivedSpan;
    assert.equal(span.parentSpanId, '');

    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0);
    const line = exit.stdout
      .split('\n')
      .filter((text) => text.includes('"reqId":"trace-log-check"') && text.includes('request completed'))
      .map((text) => JSON.parse(text) as Record<string, unknown>)[0];
    assert.ok(line, 'the request line was logged');
    assert.equal(line.trace_id, span.traceId);
    assert.equal(line.span_id, span.spanId);
  });
});

describe('tracing with a collector that is down', () => {
  it('answers as usual and still shuts down in time when the collector accepts connections but never answers', async () => {
    // What a NetworkPolicy that drops the packets looks like from the pod, minus the connect timeout.
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const server = await startServer({
      HOST: '127.0.0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      OTEL_BSP_SCHEDULE_DELAY: '20',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    try {
      for (let i = 0; i < 3; i += 1) {
        const response = await analyze(server.url, positive, { traceparent: callerContext().traceparent });
        assert.equal(response.status, 200);
      }
      await waitUntil(() => sockets.size > 0, 20);
    } finally {
      server.child.kill('SIGTERM');
    }
    // Past SHUTDOWN_TIMEOUT_MS the process would exit 1; an unbounded flush would wait for the 10 s export timeout.
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stdout.slice(-2000));
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('answers every request as usual and shuts down promptly', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const server = await startServer({
      HOST: '127.0.0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
      OTEL_BSP_SCHEDULE_DELAY: '20',
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    });
    try {
      for (let i = 0; i < 5; i += 1) {
        const response = await analyze(server.url, negative, { traceparent: callerContext().traceparent });
        assert.equal(response.status, 200);
        assert.equal(((await response.json()) as { label: string }[])[0]?.label, 'NEGATIVE');
      }
    } finally {
      server.child.kill('SIGTERM');
    }
    const exit = await server.exited;
    assert.equal(exit.code, 0, exit.stderr);
  });
});
