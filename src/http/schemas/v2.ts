import { Type, type Static } from '@sinclair/typebox';

/** The Open Inference Protocol's error body. */
export const V2ErrorResponse = Type.Object({ error: Type.String() });

const Parameters = Type.Record(Type.String(), Type.Unknown(), { description: 'Protocol parameters' });

const TensorMetadata = Type.Object({
  name: Type.String(),
  datatype: Type.String(),
  shape: Type.Array(Type.Integer()),
});

export const V2ServerMetadata = Type.Object({
  name: Type.String(),
  version: Type.String(),
  extensions: Type.Array(Type.String()),
});

export const V2ModelMetadata = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(TensorMetadata),
  outputs: Type.Array(TensorMetadata),
});

export const V2ModelParams = Type.Object({ name: Type.String(), version: Type.Optional(Type.String()) });
export type V2ModelParams = Static<typeof V2ModelParams>;

export const V2InferRequest = Type.Object({
  id: Type.Optional(Type.String({ description: 'Echoed in the response' })),
  parameters: Type.Optional(Parameters),
  inputs: Type.Array(
    Type.Object({
      name: Type.String({ examples: ['text'] }),
      shape: Type.Array(Type.Integer({ minimum: 0 })),
      datatype: Type.String({ examples: ['BYTES'] }),
      parameters: Type.Optional(Parameters),
      data: Type.Array(Type.Unknown(), { description: 'The texts, flat or nested by shape (row-major)' }),
    }),
    { description: "One BYTES tensor named 'text', shape [N] or [N, 1]" },
  ),
  outputs: Type.Optional(
    Type.Array(Type.Object({ name: Type.String({ examples: ['label'] }), parameters: Type.Optional(Parameters) }), {
      description: 'Outputs to return (label, score, probabilities); all of them when absent',
    }),
  ),
});
export type V2InferRequest = Static<typeof V2InferRequest>;

export const V2InferResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.Optional(Type.String()),
  id: Type.Optional(Type.String()),
  outputs: Type.Array(
    Type.Object({
      name: Type.String(),
      shape: Type.Array(Type.Integer()),
      datatype: Type.String(),
      data: Type.Union([Type.Array(Type.String()), Type.Array(Type.Number())]),
    }),
  ),
});
