import { loadConfig, type Config } from '../../src/config.js';

/** The service's config as the server would build it, for a test: silent, on a free local port. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig([], { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', ...env });
}
