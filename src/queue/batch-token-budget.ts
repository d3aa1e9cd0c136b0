import type { Device } from '../config/config.js';

/**
 * Activations (tokens × hidden width) that a batch may hold on CPU before bigger batches get slower per text: 512
 * tokens of a 768-wide model. Measured on 2 cores (bench/README.md): the DistilBERT-size model (768 wide) ran 32
 * texts per request 15% faster with MAX_BATCH_TOKENS=512 than with 8192, while the 128-wide embedded model lost a
 * third of its throughput at 256 clients with 512 and none with a few thousand.
 */
const cpuActivationBudget = 512 * 768;
/** A GPU wants large batches; its own memory is the bound (TEI's default budget is of this order). */
const gpuBatchTokens = 16_384;
/** When config.json gives no width. */
const fallbackBatchTokens = 8192;

/** MAX_BATCH_TOKENS as given, or for `auto` the budget that suits this model on this device. */
export function resolveMaxBatchTokens(setting: number | 'auto', device: Device, hiddenSize: number | undefined): number {
  if (setting !== 'auto') return setting;
  if (device === 'cuda') return gpuBatchTokens;
  if (hiddenSize === undefined || hiddenSize <= 0) return fallbackBatchTokens;
  const tokens = Math.round(cpuActivationBudget / hiddenSize / 64) * 64;
  return Math.min(fallbackBatchTokens, Math.max(256, tokens));
}
