/** The service's own view of a load run, from two scrapes of its Prometheus /metrics (before and after). */
export interface ServerSideStats {
  batches: number;
  texts: number;
  /** Texts the model computed per second of the run, whether or not the client was still there to get them. */
  textsPerSec: number;
  meanBatchSize: number;
  /** Share of batches by size bucket (le label of sentiment_batch_size), e.g. {"1": 0.1, "2": 0.05, ...}. */
  batchSizeShares: Record<string, number>;
  /** Mean over batches of (padded - real) / padded tokens. */
  meanPaddingRatio: number;
  meanPaddedTokensPerBatch: number;
  /** Engine time / wall time: how much of the run the model was computing. */
  engineBusyShare: number;
  meanInferenceMsPerBatch: number;
  meanQueueWaitMs: number;
  rejections: Record<string, number>;
}

export type MetricSamples = Map<string, number>;

/** Prometheus text exposition -> sample (name with labels, as written) -> value. */
export function parseMetrics(text: string): MetricSamples {
  const samples: MetricSamples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

export async function scrapeMetrics(baseUrl: string): Promise<MetricSamples | undefined> {
  try {
    const response = await fetch(`${baseUrl}/metrics`);
    if (!response.ok) return undefined;
    return parseMetrics(await response.text());
  } catch {
    return undefined;
  }
}

export function serverSideStats(before: MetricSamples, after: MetricSamples, seconds: number): ServerSideStats {
  const delta = (sample: string): number => (after.get(sample) ?? 0) - (before.get(sample) ?? 0);
  const batches = delta('sentiment_batch_size_count');
  const texts = delta('sentiment_batch_size_sum');
  const per = (value: number, count: number): number => (count === 0 ? 0 : value / count);

  const batchSizeShares: Record<string, number> = {};
  let below = 0;
  for (const sample of after.keys()) {
    const match = /^sentiment_batch_size_bucket\{le="([^"]+)"\}$/.exec(sample);
    if (match?.[1] === undefined) continue;
    const cumulative = delta(sample);
    if (batches > 0 && cumulative - below > 0) batchSizeShares[match[1]] = (cumulative - below) / batches;
    below = cumulative;
  }
  const rejections: Record<string, number> = {};
  for (const sample of after.keys()) {
    const match = /^sentiment_rejections_total\{reason="([^"]+)"\}$/.exec(sample);
    if (match?.[1] !== undefined && delta(sample) > 0) rejections[match[1]] = delta(sample);
  }
  return {
    batches,
    texts,
    textsPerSec: seconds > 0 ? texts / seconds : 0,
    meanBatchSize: per(texts, batches),
    batchSizeShares,
    meanPaddingRatio: per(delta('sentiment_batch_padding_ratio_sum'), batches),
    meanPaddedTokensPerBatch: per(delta('sentiment_batch_padded_tokens_sum'), batches),
    engineBusyShare: seconds > 0 ? delta('sentiment_inference_duration_seconds_sum') / seconds : 0,
    meanInferenceMsPerBatch: per(delta('sentiment_inference_duration_seconds_sum') * 1000, batches),
    meanQueueWaitMs: per(delta('sentiment_queue_wait_seconds_sum') * 1000, delta('sentiment_queue_wait_seconds_count')),
    rejections,
  };
}
