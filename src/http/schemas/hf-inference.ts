import { Type, type Static } from '@sinclair/typebox';
import { Prediction } from './analyze.js';

/** The Hugging Face Inference API's error body, read by huggingface.js and huggingface_hub alike. */
export const HfErrorResponse = Type.Object({ error: Type.String() });

export const HfTextClassificationBody = Type.Object(
  {
    inputs: Type.Union(
      [
        Type.String({ description: 'One text' }),
        Type.Array(Type.String(), { minItems: 1, description: 'Several texts, answered in the same order' }),
      ],
      { examples: ['I love using this product!'] },
    ),
    parameters: Type.Optional(
      Type.Object(
        {
          top_k: Type.Optional(
            Type.Integer({ minimum: 1, description: 'The k best labels per text; default: all of them' }),
          ),
          function_to_apply: Type.Optional(
            Type.Union([Type.Literal('softmax'), Type.Literal('sigmoid'), Type.Literal('none')], {
              description: "How scores come from the logits; 'none': the raw logits. Default: the model's own",
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type HfTextClassificationBody = Static<typeof HfTextClassificationBody>;

export const HfTextClassificationResponse = Type.Array(Type.Array(Prediction), {
  description:
    "One list per text (a single text too), its labels best first: the Inference API's text-classification shape",
});
