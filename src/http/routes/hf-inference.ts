import type { FastifyInstance } from 'fastify';
import { useProtocolErrors } from '../plugins/protocol-errors.js';
import { HfErrorResponse, HfTextClassificationBody, HfTextClassificationResponse } from '../schemas/hf-inference.js';
import { classifyForRequest, admitBeforeBody, type InferenceRouteOptions } from './protocol-route.js';

/**
 * POST / in the Hugging Face Inference API's text-classification shape, as Inference Endpoints serve it: what
 * huggingface.js (`textClassification({ endpointUrl })`) and huggingface_hub (`InferenceClient(model=URL)
 * .text_classification`) send and read. Both read the answer's first element as one text's list of labels.
 */
export default async function hfInferenceRoute(app: FastifyInstance, options: InferenceRouteOptions) {
  useProtocolErrors(app, options.metrics, ({ statusCode, message }) => ({ statusCode, body: { error: message } }));
  const errors = Object.fromEntries(
    [400, 401, 413, 415, 422, 429, 500, 503, 504].map((status) => [status, HfErrorResponse]),
  );
  const allLabels = options.inference.classifier.model.labels.length;

  app.post<{ Body: HfTextClassificationBody }>(
    '/',
    {
      config: { inference: true },
      schema: {
        summary: 'Text classification, Hugging Face Inference API shape',
        description:
          'For @huggingface/inference and huggingface_hub InferenceClient pointed at this server. Always a list of lists: ' +
          'one list of labels (best first, all of them unless parameters.top_k) per text. Errors: {"error": "..."}.',
        tags: ['Hugging Face Inference API'],
        body: HfTextClassificationBody,
        response: { 200: HfTextClassificationResponse, ...errors },
      },
      onRequest: admitBeforeBody(options.inference),
    },
    async (request, reply) => {
      const { inputs, parameters = {} } = request.body;
      const texts = typeof inputs === 'string' ? [inputs] : inputs;
      return classifyForRequest(options.inference, reply, texts, {
        truncate: true,
        topK: parameters.top_k ?? allLabels,
        scoring: parameters.function_to_apply,
      });
    },
  );
}
