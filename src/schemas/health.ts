import { Type } from '@sinclair/typebox';

export const HealthResponse = Type.Object({ status: Type.Literal('ok') });

export const ReadinessResponse = Type.Object({ status: Type.Union([Type.Literal('ready'), Type.Literal('draining')]) });
