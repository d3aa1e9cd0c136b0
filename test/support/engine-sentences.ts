/** Sentences the engine tests run: short and long, positive and negative, one word, a negation. */
export const engineSentences = [
  'I love using this product!',
  'This is the worst purchase I have ever made.',
  'ok',
  'The plot meanders for two hours, yet the final scene made the whole thing worth it, and I would watch it again.',
  'Not good.',
] as const;

/** One text far over the model's maximum length, to be truncated. */
export const overLongSentence = Array.from({ length: 1000 }, () => 'long').join(' ');
