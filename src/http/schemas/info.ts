import { Type } from '@sinclair/typebox';

const OptionalCount = Type.Union([Type.Integer(), Type.Null()], { description: 'null: the runtime default' });

export const InfoResponse = Type.Object({
  version: Type.String(),
  model: Type.Object({
    name: Type.String(),
    type: Type.String(),
    labels: Type.Array(Type.String()),
    max_length: Type.Integer(),
    file: Type.Union([Type.String(), Type.Null()], {
      description: 'the weights file the engine loads, relative to the model directory; null for ENGINE=remote',
    }),
    dtype: Type.Union([Type.String(), Type.Null()], {
      description: 'DTYPE resolved: fp32, fp16, q8 or int8; null for ENGINE=remote (the model server computes)',
    }),
    dtype_reason: Type.String({
      description: 'why that dtype, e.g. DTYPE=auto on CPU and the directory has the int8 file',
    }),
    id: Type.Union([Type.String(), Type.Null()], {
      description: 'MODEL_ID, the Hub repository (TEI: model_id); null for MODEL_DIR',
    }),
    revision: Type.Union([Type.String(), Type.Null()], { description: 'REVISION as asked for: branch, tag or commit' }),
    sha: Type.Union([Type.String(), Type.Null()], {
      description: 'the commit the revision resolved to (TEI: model_sha)',
    }),
  }),
  engine: Type.Object({
    kind: Type.String(),
    device: Type.String(),
    backend: Type.String(),
    thread: Type.Union([Type.Literal('worker'), Type.Literal('main')], { description: 'where the engine computes' }),
    instances: Type.Integer({ description: 'engine copies computing batches side by side' }),
    intra_op_threads: OptionalCount,
    inter_op_threads: OptionalCount,
  }),
  batching: Type.Object({
    max_batch_size: Type.Integer(),
    max_batch_tokens: Type.Integer(),
    max_padding_ratio: Type.Number(),
    max_wait_ms: Type.Integer(),
    max_queue: Type.Integer(),
    long_text_tokens: Type.Union([Type.Integer(), Type.Null()], {
      description: 'texts longer than this count as long for long_text_share (LONG_TEXT_TOKENS resolved)',
    }),
    long_text_share: Type.Union([Type.Number(), Type.Null()], {
      description: "most of the engine's recent time long texts take while short ones wait; null: no limit",
    }),
    short_lane_tokens: Type.Integer({
      description:
        'batches of longer texts leave one engine instance to short ones at light load (SHORT_LANE_TOKENS); 0: off',
    }),
  }),
  limits: Type.Object({
    max_texts_per_request: Type.Integer(),
    body_limit_bytes: Type.Integer(),
    request_timeout_ms: Type.Integer(),
  }),
});
