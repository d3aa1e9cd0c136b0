import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Inference } from '../../inference/inference.js';
import {
  checkModel,
  modelMetadata,
  modelVersion,
  OpenInferenceError,
  outputTensors,
  requestedOutputs,
  serverMetadata,
  textsOf,
} from '../../open-inference/protocol.js';
import { useProtocolErrors } from '../plugins/protocol-errors.js';
import {
  V2ErrorResponse,
  V2InferRequest,
  V2InferResponse,
  V2ModelMetadata,
  V2ModelParams,
  V2ServerMetadata,
} from '../schemas/v2.js';
import { classifyForRequest, admitBeforeBody, type InferenceRouteOptions } from './protocol-route.js';
import {
  decodeBinaryRequest,
  encodeBinaryResponse,
  headerLengthHeader,
} from '../../open-inference/binary-tensor-data.js';

const binaryInputWithoutHeader =
  `an input with binary_data_size needs the binary body format: the JSON header's length in ${headerLengthHeader}, ` +
  'the tensor bytes after it';

/** BYTES data as JSON: strings, flat or nested in row-major order. */
function flatStrings(data: readonly unknown[]): string[] {
  const texts: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) for (const item of value) visit(item);
    else
      throw new OpenInferenceError(
        400,
        `input 'text' data must hold strings (UTF-8 texts); got ${value === null ? 'null' : typeof value}`,
      );
  };
  for (const value of data) visit(value);
  return texts;
}

/** Whether an output goes back as binary data: its own binary_data, else the request's binary_data_output. */
function binaryOutputs(body: V2InferRequest): (output: { name: string }) => boolean {
  const forRequest = body.parameters?.binary_data_output === true;
  return (output) => {
    const own = body.outputs?.find((requested) => requested.name === output.name)?.parameters?.binary_data;
    return typeof own === 'boolean' ? own : forRequest;
  };
}

/**
 * tritonclient posts its JSON with no Content-Type, and binary tensor data (its default) as a JSON header plus
 * bytes, announced by Inference-Header-Content-Length; elsewhere a body must say it is JSON.
 */
function acceptTritonBodies(app: FastifyInstance): void {
  const jsonParser = app.getDefaultJsonParser('error', 'ignore');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const headerLength = request.headers[headerLengthHeader];
    if (typeof headerLength === 'string') {
      try {
        done(null, decodeBinaryRequest(body as Buffer, headerLength));
      } catch (error) {
        done(error as Error, undefined);
      }
      return;
    }
    if (request.headers['content-type'] !== undefined) {
      done(
        Object.assign(new Error(`Unsupported Media Type: ${request.headers['content-type']}`), { statusCode: 415 }),
        undefined,
      );
      return;
    }
    jsonParser(request, (body as Buffer).toString('utf8'), done);
  });
}

/** POST .../infer: the tensors to texts, the inference call, the predictions back as JSON or binary tensors. */
function inferHandler(inference: Inference) {
  const { model } = inference.classifier;
  return async (request: FastifyRequest<{ Params: V2ModelParams; Body: V2InferRequest }>, reply: FastifyReply) => {
    const body = request.body;
    checkModel(model, request.params.name, request.params.version);
    // A binary request's inputs were decoded to JSON data by the body parser; one left over came without it.
    if (body.inputs.some((input) => input.parameters?.binary_data_size !== undefined))
      throw new OpenInferenceError(400, binaryInputWithoutHeader);
    // Only a BYTES tensor's data is decoded; any other datatype is refused by textsOf for what it is.
    const texts = textsOf(
      body.inputs.map((input) => ({ ...input, texts: input.datatype === 'BYTES' ? flatStrings(input.data) : [] })),
    );
    const outputs = requestedOutputs(body.outputs?.map((output) => output.name));
    const predictions = await classifyForRequest(inference, reply, texts, {
      truncate: true,
      topK: model.labels.length,
    });
    const header = {
      model_name: model.name,
      model_version: modelVersion,
      ...(body.id !== undefined ? { id: body.id } : {}),
    };
    const tensors = outputTensors(predictions, model.labels, outputs);
    const isBinary = binaryOutputs(body);
    if (!tensors.some(isBinary)) return { ...header, outputs: tensors };
    const binary = encodeBinaryResponse(header, tensors, isBinary);
    return reply.header(headerLengthHeader, binary.headerLength).type('application/octet-stream').send(binary.body);
  };
}

/**
 * The Open Inference Protocol (KServe v2 / Triton HTTP API) over REST: health, metadata and infer for the served
 * model, whose name is the model directory's (as /info reports it).
 */
export default async function v2RestRoutes(
  app: FastifyInstance,
  options: InferenceRouteOptions & { platform: string },
) {
  useProtocolErrors(app, options.metrics, ({ statusCode, message }) => ({ statusCode, body: { error: message } }));
  acceptTritonBodies(app);

  const { model } = options.inference.classifier;
  const metadata = modelMetadata(model, options.platform);
  const errors = Object.fromEntries(
    [400, 401, 404, 413, 415, 422, 429, 503, 504].map((status) => [status, V2ErrorResponse]),
  );
  const tags = ['Open Inference Protocol (KServe v2)'];
  const ready = (): boolean => options.inference.readiness === 'ready';
  // Health answers are bodiless: 200 is true, a 4xx false (the protocol's health API).
  const health = (reply: FastifyReply, ok: boolean) => reply.code(ok ? 200 : 400).send();

  app.get('/v2', { schema: { summary: 'Server metadata', tags, response: { 200: V2ServerMetadata } } }, async () =>
    serverMetadata(),
  );
  app.get(
    '/v2/health/live',
    { schema: { summary: 'Server liveness (200 live, 400 not)', tags } },
    async (_request, reply) => health(reply, options.inference.engineFailure === undefined),
  );
  app.get(
    '/v2/health/ready',
    { schema: { summary: 'Server readiness (200 ready, 400 not)', tags } },
    async (_request, reply) => health(reply, ready()),
  );

  const infer = inferHandler(options.inference);
  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get<{ Params: V2ModelParams }>(
      prefix,
      {
        schema: {
          summary: 'Model metadata',
          tags,
          params: V2ModelParams,
          response: { 200: V2ModelMetadata, ...errors },
        },
      },
      async (request) => {
        checkModel(model, request.params.name, request.params.version);
        return metadata;
      },
    );
    app.get<{ Params: V2ModelParams }>(
      `${prefix}/ready`,
      {
        schema: {
          summary: 'Model readiness (200 ready, 400 not)',
          tags,
          params: V2ModelParams,
          response: { 404: V2ErrorResponse },
        },
      },
      async (request, reply) => {
        checkModel(model, request.params.name, request.params.version);
        return health(reply, ready());
      },
    );
    app.post<{ Params: V2ModelParams; Body: V2InferRequest }>(
      `${prefix}/infer`,
      {
        config: { inference: true },
        schema: {
          summary: 'Inference: texts in (BYTES "text"), best label, its score and every label\'s probability out',
          description:
            'Input: one BYTES tensor "text" of shape [N] or [N, 1]. Outputs: "label" BYTES [N], "score" FP32 [N], "probabilities" ' +
            "FP32 [N, labels] in the model's label order (/info). The binary tensor data extension is served: a body of " +
            `a JSON header (its length in ${headerLengthHeader}) and BYTES input data, and outputs with binary_data ` +
            '(or the request parameter binary_data_output) answered as application/octet-stream in the same format.',
          tags,
          params: V2ModelParams,
          body: V2InferRequest,
          response: { 200: V2InferResponse, ...errors },
        },
        onRequest: [admitBeforeBody(options.inference)],
      },
      infer,
    );
  }
}
