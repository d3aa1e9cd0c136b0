import { loadConfig, type Config } from '../../src/config/config.js';
import { engineKinds, type EngineKind } from '../../src/engine/engine-choices.js';

/**
 * The engine the real-model tests run on: ENGINE from the test run's environment, onnx by default. `npm test` runs
 * everything on onnx, then the HTTP suites once more with ENGINE=tfjs; spawned servers inherit the variable.
 */
export const testEngine: EngineKind = (() => {
  const value = (process.env.ENGINE ?? '').trim().toLowerCase() || 'onnx';
  if (!(engineKinds as readonly string[]).includes(value))
    throw new Error(`ENGINE=${value}: tests run on ${engineKinds.join(' or ')}`);
  return value as EngineKind;
})();

/** The backend /info and sentiment_model_info report for testEngine on a CPU host: runtime and version (and device). */
export const testBackendPattern =
  testEngine === 'tfjs' ? /^tfjs-(node|wasm|cpu) \d+\.\d+\.\d+$/ : /^onnxruntime-node \d+\.\d+\.\d+ cpu$/;

/** The service's config as the server would build it, for a test: silent, on a free local port, on testEngine. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig([], { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', ENGINE: testEngine, ...env });
}
