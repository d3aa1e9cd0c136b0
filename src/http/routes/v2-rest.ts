import type { FastifyInstance, FastifyReply } from 'fastify';
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
import { classifyForRequest, admitBeforeBody, type ProtocolRouteOptions } from './protocol-route.js';

const binaryRefused =
  "the binary tensor data extension is not supported: send inputs as JSON 'data' and request outputs without binary_data " +
  '(tritonclient: binary_data=False on InferInput.set_data_from_numpy and InferRequestedOutput)';

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

function asksForBinary(parameters: Record<string, unknown> | undefined, key: string): boolean {
  return parameters?.[key] === true;
}

/**
 * The Open Inference Protocol (KServe v2 / Triton HTTP API) over REST: health, metadata and infer for the served
 * model, whose name is the model directory's (as /info reports it).
 */
export default async function v2RestRoutes(
  app: FastifyInstance,
  options: ProtocolRouteOptions & { engineFailure(): Error | undefined; platform: string },
) {
  useProtocolErrors(app, options.metrics, ({ statusCode, message }) => ({ statusCode, body: { error: message } }));
  // tritonclient posts its JSON with no Content-Type; elsewhere a body must say it is JSON.
  const jsonParser = app.getDefaultJsonParser('error', 'ignore');
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (request.headers['content-type'] !== undefined) {
      done(
        Object.assign(new Error(`Unsupported Media Type: ${request.headers['content-type']}`), { statusCode: 415 }),
        undefined,
      );
      return;
    }
    jsonParser(request, body as string, done);
  });

  const { model } = options.classifier;
  const metadata = modelMetadata(model, options.platform);
  const errors = Object.fromEntries(
    [400, 404, 413, 415, 422, 429, 503, 504].map((status) => [status, V2ErrorResponse]),
  );
  const tags = ['Open Inference Protocol (KServe v2)'];
  const ready = (): boolean => !options.isDraining() && options.engineFailure() === undefined;
  // Health answers are bodiless: 200 is true, a 4xx false (the protocol's health API).
  const health = (reply: FastifyReply, ok: boolean) => reply.code(ok ? 200 : 400).send();

  app.get('/v2', { schema: { summary: 'Server metadata', tags, response: { 200: V2ServerMetadata } } }, async () =>
    serverMetadata(),
  );
  app.get(
    '/v2/health/live',
    { schema: { summary: 'Server liveness (200 live, 400 not)', tags } },
    async (_request, reply) => health(reply, options.engineFailure() === undefined),
  );
  app.get(
    '/v2/health/ready',
    { schema: { summary: 'Server readiness (200 ready, 400 not)', tags } },
    async (_request, reply) => health(reply, ready()),
  );

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
            "FP32 [N, labels] in the model's label order (/info). The binary tensor data extension is refused with 400.",
          tags,
          params: V2ModelParams,
          body: V2InferRequest,
          response: { 200: V2InferResponse, ...errors },
        },
        onRequest: [
          admitBeforeBody(options),
          async (request) => {
            if (request.headers['inference-header-content-length'] !== undefined)
              throw new OpenInferenceError(400, binaryRefused);
          },
        ],
      },
      async (request, reply) => {
        const body = request.body;
        checkModel(model, request.params.name, request.params.version);
        const binary =
          asksForBinary(body.parameters, 'binary_data_output') ||
          body.inputs.some((input) => input.parameters?.binary_data_size !== undefined) ||
          (body.outputs ?? []).some((output) => asksForBinary(output.parameters, 'binary_data'));
        if (binary) throw new OpenInferenceError(400, binaryRefused);
        // Only a BYTES tensor's data is decoded; any other datatype is refused by textsOf for what it is.
        const texts = textsOf(
          body.inputs.map((input) => ({ ...input, texts: input.datatype === 'BYTES' ? flatStrings(input.data) : [] })),
        );
        const outputs = requestedOutputs(body.outputs?.map((output) => output.name));
        const predictions = await classifyForRequest(options, reply, texts, {
          truncate: true,
          topK: model.labels.length,
        });
        return {
          model_name: model.name,
          model_version: modelVersion,
          ...(body.id !== undefined ? { id: body.id } : {}),
          outputs: outputTensors(predictions, model.labels, outputs),
        };
      },
    );
  }
}
