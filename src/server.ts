import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { Service } from './service.js';
import { startTracing, type Tracing } from './tracing/start-tracing.js';

// Only start and stop live here. The process handles SIGTERM/SIGINT itself, so it shuts down cleanly as PID 1 in
// a container with no npm or shell in between.

function exitWith(code: number, message: string): never {
  process.stderr.write(`sentiment-inference: ${message}\n`);
  process.exit(code);
}

let config: Config;
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (error) {
  if (error instanceof ConfigError) exitWith(2, error.message);
  throw error;
}

let tracing: Tracing | undefined;
let service: Service;
try {
  // OTEL_* variables, read as the OpenTelemetry SDK reads them; nothing is loaded when no endpoint is set.
  tracing = await startTracing(process.env);
  service = await Service.start({ config, tracer: tracing?.tracer });
} catch (error) {
  exitWith(1, `cannot start: ${(error as Error).message}`);
}

const log = service.http.log;
closeWithGrace(
  {
    delay: config.shutdownTimeoutMs,
    logger: { error: (message: unknown) => log.error(message) },
  },
  async ({ signal, err }) => {
    if (err !== undefined) log.error({ err }, 'shutting down after an uncaught error');
    else log.info({ signal }, 'shutting down: draining accepted requests');
    await service.close();
    // Spans still buffered go out now; a collector that does not answer costs at most 2 s, within the grace period.
    await tracing
      ?.shutdown(2000)
      .catch((error: unknown) => log.warn({ err: error }, 'trace export at shutdown failed'));
    log.info('shut down cleanly');
  },
);

try {
  await service.listen({ port: config.port, host: config.host });
} catch (error) {
  exitWith(1, `cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
}
