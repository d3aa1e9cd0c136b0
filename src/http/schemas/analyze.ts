import { Type, type Static } from '@sinclair/typebox';

const Texts = Type.Union(
  [
    Type.String({ description: 'One text' }),
    Type.Array(Type.String(), { minItems: 1, description: 'Several texts, answered in the same order' }),
  ],
  { examples: ['I love using this product!'] },
);

export const AnalyzeBody = Type.Object(
  {
    text: Type.Optional(Texts),
    inputs: Type.Optional({ ...Texts, description: "Alias of 'text' (Hugging Face Inference API / TEI clients)" }),
    top_k: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Return the k best labels per text (all of them when k >= the number of labels), as the pipeline does',
      }),
    ),
    truncate: Type.Optional(
      Type.Boolean({
        default: true,
        description: "Cut texts longer than the model's maximum length (true) or answer 422 (false)",
      }),
    ),
  },
  { additionalProperties: false, description: "Exactly one of 'text' and 'inputs'" },
);
export type AnalyzeBody = Static<typeof AnalyzeBody>;

export const Prediction = Type.Object({
  label: Type.String({ examples: ['POSITIVE'] }),
  score: Type.Number({ examples: [0.9987] }),
});

export const AnalyzeResponse = Type.Union(
  [
    Type.Array(Prediction, {
      description: 'Without top_k: one prediction per text. With top_k and a single text: its k best',
    }),
    Type.Array(Type.Array(Prediction), { description: 'With top_k and a list of texts: the k best per text' }),
  ],
  { description: 'The shape of Hugging Face pipeline("sentiment-analysis") results' },
);
