import type { ModelDir } from '../model/model-dir.js';

/** One label's score, the shape of a Hugging Face pipeline result. */
export interface Prediction {
  label: string;
  score: number;
}

function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const exps = Array.from({ length: logits.length }, (_, i) => Math.exp((logits[i] as number) - max));
  const sum = exps.reduce((total, value) => total + value, 0);
  return exps.map((value) => value / sum);
}

function sigmoid(logits: ArrayLike<number>): number[] {
  return Array.from({ length: logits.length }, (_, i) => 1 / (1 + Math.exp(-(logits[i] as number))));
}

/** How scores come from logits; 'none' leaves the raw logits (TEI's raw_scores, the Inference API's function_to_apply). */
export type Scoring = ModelDir['scoring'] | 'none';

/** One text's logits -> its topK labels with scores, best first; scored as the model says unless `scoring` is given. */
export function predictionsOf(
  logits: ArrayLike<number>,
  model: Pick<ModelDir, 'labels' | 'scoring'>,
  topK: number,
  scoring: Scoring = model.scoring,
): Prediction[] {
  const scores =
    scoring === 'sigmoid' ? sigmoid(logits) : scoring === 'softmax' ? softmax(logits) : Array.from(logits, Number);
  return scores
    .map((score, id) => ({ label: model.labels[id] ?? `LABEL_${id}`, score }))
    .sort((a, b) => b.score - a.score)
    .slice(0, topK);
}
