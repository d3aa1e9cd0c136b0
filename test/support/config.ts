import { loadConfig, type Config } from '../../src/config/config.js';
import { engineKinds, type EngineKind } from '../../src/engine/engine-choices.js';

/**
 * The engine the real-model tests run on: ENGINE from the test run's environment, onnx by default. `npm test` runs
 * everything on onnx, then the HTTP suites once more with ENGINE=tfjs and with ENGINE=remote (against a real Triton
 * that test/support/with-triton.ts starts, REMOTE_ENGINE_URL in the environment); spawned servers inherit both.
 */
export const testEngine: EngineKind = (() => {
  const value = (process.env.ENGINE ?? '').trim().toLowerCase() || 'onnx';
  if (!(engineKinds as readonly string[]).includes(value))
    throw new Error(`ENGINE=${value}: tests run on ${engineKinds.join(' or ')}`);
  return value as EngineKind;
})();

/** The backend /info and sentiment_model_info report for testEngine on a CPU host: runtime and version (and device). */
export const testBackendPattern = {
  tfjs: /^tfjs-(node|wasm|cpu) \d+\.\d+\.\d+$/,
  onnx: /^onnxruntime-node \d+\.\d+\.\d+ cpu$/,
  remote: /^triton \d+\.\d+\.\d+ python at grpc:\/\/127\.0\.0\.1:\d+$/,
}[testEngine];

/** ENGINE=remote's server, from the test run's environment (with-triton.ts sets it). */
const remoteEnv: Record<string, string> =
  testEngine === 'remote' ? { REMOTE_ENGINE_URL: process.env.REMOTE_ENGINE_URL ?? '' } : {};

/** The service's config as the server would build it, for a test: silent, on a free local port, on testEngine. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig([], {
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    ENGINE: testEngine,
    ...remoteEnv,
    ...env,
  });
}
