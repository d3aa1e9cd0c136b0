import type { TextTokenizer } from '../model/tokenizer.js';
import type { Engine } from './engine.js';
import { packBatch } from './packed-batch.js';

/**
 * The first runs of any engine allocate buffers and pick or compile kernels; doing them before the service reports
 * ready keeps that cost off the first requests. A padded batch of two exercises the attention-mask path as well.
 */
export async function warmUp(engine: Engine, tokenizer: TextTokenizer): Promise<void> {
  const short = tokenizer.encode('Warm-up.', 0, true);
  const long = tokenizer.encode('Warming up the model before the service reports ready.', 1, true);
  await engine.run(packBatch([short]));
  await engine.run(packBatch([short, long]));
}
