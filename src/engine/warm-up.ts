import type { TextTokenizer } from '../model/tokenizer.js';
import type { Engine } from './engine.js';
import { packBatch } from './packed-batch.js';

/**
 * The first runs of any engine allocate buffers and pick or compile kernels; doing them before the service reports
 * ready keeps that cost off the first requests. A padded batch of two exercises the attention-mask path as well.
 */
export async function warmUp(engine: Engine, tokenizer: TextTokenizer, maxLengthSource?: string): Promise<void> {
  const short = tokenizer.encode('Warm-up.', 0, true);
  const long = tokenizer.encode('Warming up the model before the service reports ready.', 1, true);
  await engine.run(packBatch([short]));
  await engine.run(packBatch([short, long]));
  if (maxLengthSource !== undefined) await checkMaxLength(engine, tokenizer, maxLengthSource);
}

/**
 * The model's declared maximum length checked against the graph: one text of exactly that many tokens must run.
 * A config.json that declares more positions than the graph's position table holds would otherwise start, then
 * fail every long text at run time (ONNX Runtime: "Gather … idx=…").
 */
async function checkMaxLength(engine: Engine, tokenizer: TextTokenizer, maxLengthSource: string): Promise<void> {
  const longest = tokenizer.encode('a '.repeat(tokenizer.maxLength), 0, true);
  try {
    await engine.run(packBatch([longest]));
  } catch (error) {
    throw new Error(
      `the model declares a maximum length of ${tokenizer.maxLength} tokens in ${maxLengthSource}, but its graph ` +
        `cannot run a text that long; lower that field to what the model was exported with (${(error as Error).message})`,
    );
  }
}
