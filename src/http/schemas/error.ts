import { Type } from '@sinclair/typebox';

/** Fastify's error shape, used by every error the service answers. */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.Optional(Type.String()),
  error: Type.String(),
  message: Type.String(),
  /** On 500s: the x-request-id whose log lines hold the details. */
  requestId: Type.Optional(Type.String()),
});
