import type { Device } from '../engine/engine-choices.js';

/**
 * Activations (tokens × hidden width) that a batch may hold on CPU before bigger batches get slower per text: 512
 * tokens of a 768-wide model. Scaled by width, so a wide model gets small batches and a narrow one keeps large
 * ones (bench/README.md, "Numbers behind choices in the code").
 */
const cpuActivationBudget = 512 * 768;
/** A GPU wants large batches; its own memory is the bound (TEI's default budget is of this order). */
const gpuBatchTokens = 16_384;
/** When config.json gives no width. */
const fallbackBatchTokens = 8192;

/** MAX_BATCH_TOKENS as given, or for `auto` the budget that suits this model on this device. */
export function resolveMaxBatchTokens(
  setting: number | 'auto',
  device: Device,
  hiddenSize: number | undefined,
): number {
  if (setting !== 'auto') return setting;
  if (device === 'cuda') return gpuBatchTokens;
  if (hiddenSize === undefined || hiddenSize <= 0) return fallbackBatchTokens;
  const tokens = Math.round(cpuActivationBudget / hiddenSize / 64) * 64;
  return Math.min(fallbackBatchTokens, Math.max(256, tokens));
}
