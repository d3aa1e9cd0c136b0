import { resolve } from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import Fastify from 'fastify';
import { packageRoot } from '../../src/config/package-root.js';
import { RequestLog } from '../../src/http/request-log.js';

/**
 * Baseline 1, the article's design: a Fastify server that calls Hugging Face's pipeline once per request. No queue,
 * no batching (a request's own texts go to the pipeline together, padded to the longest, as the pipeline does),
 * no limits. The same model directory, ONNX Runtime build and default threads as the service; the same one log
 * line per request, so logging costs the same.
 *
 * Env: PORT, HOST, MODEL_DIR, LOG_LEVEL (as the service).
 */
const modelDir = resolve(process.env.MODEL_DIR ?? `${packageRoot}/models/sst2-tiny-bert`);
env.allowRemoteModels = false;
env.localModelPath = '/';
const classify = await pipeline('sentiment-analysis', modelDir, { dtype: 'fp32' });

const app = Fastify({
  logger: { level: process.env.LOG_LEVEL ?? 'info' },
  logController: new RequestLog(),
});

app.post('/analyze', async (request) => {
  const { text } = request.body as { text: string | string[] };
  return classify(text);
});
app.get('/readyz', async () => ({ status: 'ready' }));

await app.listen({ port: Number(process.env.PORT ?? 5000), host: process.env.HOST ?? '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void app.close().then(() => process.exit(0)));
}
