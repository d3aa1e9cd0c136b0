import type { FastifyInstance, FastifyReply } from 'fastify';
import { ServiceError } from '../../errors/error-codes.js';
import type { ErrorOutcome } from '../../errors/error-policy.js';
import { useProtocolErrors } from '../plugins/protocol-errors.js';
import { TeiErrorResponse, TeiPredictBody, TeiPredictResponse, type TeiErrorType } from '../schemas/tei.js';
import { classifyForRequest, admitBeforeBody, type InferenceRouteOptions } from './protocol-route.js';

/** A request TEI's own deserializer or validation would refuse, in its words where it has them. */
class TeiValidationError extends ServiceError {
  readonly statusCode = 422;
  constructor(message: string) {
    super('SENTIMENT_TEI_VALIDATION', message);
  }
}

/** TEI's status for each of its error types (router/src/http/server.rs). */
const teiStatus: Record<TeiErrorType, number> = {
  Unhealthy: 503,
  Backend: 424,
  Overloaded: 429,
  Validation: 422,
  Tokenizer: 422,
  Empty: 400,
  Unauthorized: 401,
};

/** The service's errors as TEI's {error, error_type}; a deadline (TEI has none) keeps its 504. */
function teiError(error: ErrorOutcome): { statusCode: number; body: { error: string; error_type: TeiErrorType } } {
  const body = (errorType: TeiErrorType, statusCode = teiStatus[errorType]) => ({
    statusCode,
    body: { error: error.message, error_type: errorType },
  });
  switch (error.kind) {
    case 'queue_full':
    case 'client_queue_full':
    case 'uploads_full':
      return body('Overloaded');
    case 'body_timeout':
      return body('Validation', error.statusCode);
    case 'deadline':
      return body('Overloaded', error.statusCode);
    case 'draining':
    case 'engine_unavailable':
      return body('Unhealthy', 503);
    case 'too_long':
    case 'too_many_texts':
      return body('Validation');
    case 'client_gone':
      return body('Overloaded', error.statusCode);
    case 'invalid_request':
      // Body shape errors are 422 in TEI (axum's Json rejection); a too-large body, wrong content type or broken
      // JSON keep their own statuses.
      return body('Validation', error.code === 'FST_ERR_VALIDATION' ? 422 : error.statusCode);
    case 'internal':
      return body('Backend');
    case 'unauthorized':
      return body('Unauthorized');
  }
}

/** TEI's PredictInput: a string, ["text"] or ["a", "b"] (a pair), or a batch of ["text"] / ["a", "b"]. */
function textsOf(inputs: TeiPredictBody['inputs']): { texts: string[]; batch: boolean } {
  const pairRefused = (): TeiValidationError =>
    new TeiValidationError(
      'text pairs are not supported: this model classifies single texts; send one text as "text" or ["text"], a batch as [["text"], ["text"]]',
    );
  if (typeof inputs === 'string') return { texts: [inputs], batch: false };
  const [first] = inputs;
  if (typeof first === 'string') {
    if (!inputs.every((item) => typeof item === 'string')) {
      throw new TeiValidationError('inputs: a batch holds only lists ([["text"], ["text"]])');
    }
    if (inputs.length === 2) throw pairRefused();
    if (inputs.length > 2)
      throw new TeiValidationError(
        `inputs: invalid length ${inputs.length}, expected a string, a pair of strings or a batch`,
      );
    return { texts: [first], batch: false };
  }
  const texts = inputs.map((item) => {
    if (typeof item === 'string')
      throw new TeiValidationError('inputs: a batch holds only lists ([["text"], ["text"]])');
    if (item.length === 2) throw pairRefused();
    if (item.length !== 1)
      throw new TeiValidationError(`inputs: invalid length ${item.length}, expected a string or a pair of strings`);
    return item[0] as string;
  });
  return { texts, batch: true };
}

/**
 * Hugging Face Text Embeddings Inference's classification API: POST /predict and GET /health, for tools written
 * against a TEI server. Shapes and errors follow TEI's router (router/src/http/types.rs, server.rs).
 */
export default async function teiRoutes(app: FastifyInstance, options: InferenceRouteOptions) {
  useProtocolErrors(app, options.metrics, teiError);
  const errors = Object.fromEntries(
    [400, 401, 413, 415, 422, 424, 429, 503, 504].map((status) => [status, TeiErrorResponse]),
  );
  const allLabels = options.inference.classifier.model.labels.length;

  app.post<{ Body: TeiPredictBody }>(
    '/predict',
    {
      config: { inference: true },
      schema: {
        summary: 'Text classification, Text Embeddings Inference (TEI) shape',
        description:
          'TEI\'s PredictRequest and PredictResponse: every label, best first. Errors: {"error", "error_type"} with TEI\'s statuses ' +
          '(422 validation, 429 overloaded, 503 unhealthy); a text pair is refused with 422.',
        tags: ['Text Embeddings Inference'],
        body: TeiPredictBody,
        response: { 200: TeiPredictResponse, ...errors },
      },
      onRequest: admitBeforeBody(options.inference),
    },
    async (request, reply) => {
      const { inputs, truncate, truncation_direction: side = 'Right', raw_scores: rawScores = false } = request.body;
      const { texts, batch } = textsOf(inputs);
      const predictions = await classifyForRequest(options.inference, reply, texts, {
        truncate: truncate ?? true,
        truncationSide: side.toLowerCase() === 'left' ? 'left' : 'right',
        topK: allLabels,
        scoring: rawScores ? 'none' : undefined,
      });
      return batch ? predictions : predictions[0];
    },
  );

  app.get(
    '/health',
    {
      schema: {
        summary: 'TEI health: 200 with an empty body while the engine can run and the server is not shutting down',
        tags: ['Text Embeddings Inference'],
        response: { 503: TeiErrorResponse },
      },
    },
    async (_request, reply) => {
      if (options.inference.readiness !== 'ready') {
        return reply.code(503).send({ error: 'unhealthy', error_type: 'Unhealthy' as const });
      }
      // TEI answers health with an empty body, which the response schema (typed for 503 only) cannot describe.
      return (reply as FastifyReply).code(200).send();
    },
  );
}
