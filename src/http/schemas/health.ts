import { Type } from '@sinclair/typebox';

export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('engine failed')]),
  reason: Type.Optional(Type.String()),
});

export const ReadinessResponse = Type.Object({
  status: Type.Union([
    Type.Literal('ready'),
    Type.Literal('draining'),
    Type.Literal('engine failed'),
    Type.Literal('engine unavailable'),
  ]),
});
