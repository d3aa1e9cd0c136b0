import Fastify from 'fastify';
import { RequestLog } from '../../src/http/request-log.js';
import { AnalyzeBody, AnalyzeResponse } from '../../src/http/schemas/analyze.js';

/**
 * Baseline 2, the HTTP ceiling: the service's HTTP layer with no model. Same framework and options, same request
 * schema (validation) and response schema (serialization), same one log line per request; the answer is a
 * constant per text. Nothing the service does per request over HTTP is left out except tokenizing, queueing and
 * the model, so its req/s bounds the service's from above.
 *
 * Env: PORT, HOST, LOG_LEVEL, BODY_LIMIT_BYTES (as the service).
 */
const answer = { label: 'POSITIVE', score: 0.5 };

const app = Fastify({
  logger: { level: process.env.LOG_LEVEL ?? 'info' },
  logController: new RequestLog(),
  bodyLimit: Number(process.env.BODY_LIMIT_BYTES ?? 1_048_576),
  ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
});
app.removeContentTypeParser('text/plain');

app.post<{ Body: AnalyzeBody }>(
  '/analyze',
  { schema: { body: AnalyzeBody, response: { 200: AnalyzeResponse } } },
  async (request) => {
    const input = request.body.text ?? request.body.inputs ?? [];
    return typeof input === 'string' ? [answer] : input.map(() => answer);
  },
);
app.get('/readyz', async () => ({ status: 'ready' }));

await app.listen({ port: Number(process.env.PORT ?? 5000), host: process.env.HOST ?? '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
