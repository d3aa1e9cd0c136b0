import { Type, type Static } from '@sinclair/typebox';

/**
 * Text Embeddings Inference's error types (router/src/lib.rs), serialized by name, plus Unauthorized: TEI answers a
 * refused API key with an empty 401; here it comes in the same shape as every other error.
 */
export const teiErrorTypes = [
  'Unhealthy',
  'Backend',
  'Overloaded',
  'Validation',
  'Tokenizer',
  'Empty',
  'Unauthorized',
] as const;
export type TeiErrorType = (typeof teiErrorTypes)[number];

export const TeiErrorResponse = Type.Object({
  error: Type.String(),
  error_type: Type.Union(teiErrorTypes.map((name) => Type.Literal(name))),
});

const Strings = Type.Array(Type.String(), { minItems: 1 });

export const TeiPredictBody = Type.Object(
  {
    inputs: Type.Union(
      [
        Type.String({ description: 'One text' }),
        Type.Array(Type.Union([Type.String(), Strings]), {
          minItems: 1,
          description:
            '["text"]: one text; [["text"], ["text"], …]: a batch. A pair ["a", "b"] is refused (422): this model classifies single texts',
        }),
      ],
      { examples: ['I love using this product!'] },
    ),
    truncate: Type.Optional(
      Type.Union([Type.Boolean(), Type.Null()], {
        description: "Cut texts longer than the model's maximum length (true, the default here) or answer 422 (false)",
      }),
    ),
    truncation_direction: Type.Optional(
      Type.Union(
        ['Left', 'Right', 'left', 'right'].map((side) => Type.Literal(side)),
        {
          default: 'Right',
          description: 'Which end of an over-long text is cut',
        },
      ),
    ),
    raw_scores: Type.Optional(
      Type.Boolean({ default: false, description: 'The raw logits instead of softmax (sigmoid) scores' }),
    ),
  },
  { additionalProperties: false },
);
export type TeiPredictBody = Static<typeof TeiPredictBody>;

const TeiPrediction = Type.Object({ score: Type.Number(), label: Type.String() });

export const TeiPredictResponse = Type.Union(
  [
    Type.Array(TeiPrediction, { description: 'One text: every label, best first' }),
    Type.Array(Type.Array(TeiPrediction), { description: 'A batch: every label per text, best first, in order' }),
  ],
  { description: "TEI's PredictResponse" },
);
