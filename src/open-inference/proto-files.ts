import { join } from 'node:path';
import { packageRoot } from '../config/package-root.js';

/** The Open Inference Protocol's gRPC API (KServe v2), served by src/grpc/ and called by ENGINE=remote. */
export const protoPath = join(packageRoot, 'proto', 'grpc_predict_v2.proto');
/** The part of Triton's ModelConfig extension ENGINE=remote reads. */
export const tritonModelConfigProtoPath = join(packageRoot, 'proto', 'triton_model_config.proto');
