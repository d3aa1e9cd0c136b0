import type { FastifyInstance } from 'fastify';
import hfInferenceRoute from './hf-inference.js';
import type { InferenceRouteOptions } from './protocol-route.js';
import teiRoutes from './tei.js';
import v2RestRoutes from './v2-rest.js';

export interface ClientProtocolOptions extends InferenceRouteOptions {
  /** The Open Inference Protocol's model platform, e.g. onnxruntime_onnx. */
  platform: string;
}

/** Every wire protocol of existing clients, each in its own encapsulated plugin with its own error shape. */
export default async function clientProtocolRoutes(app: FastifyInstance, options: ClientProtocolOptions) {
  await app.register(hfInferenceRoute, options);
  await app.register(teiRoutes, options);
  await app.register(v2RestRoutes, options);
}
