/**
 * Whether the standard OpenTelemetry environment asks for traces: an OTLP endpoint is set, and neither
 * OTEL_SDK_DISABLED nor OTEL_TRACES_EXPORTER=none turns them off. Everything else (protocol, headers, sampler,
 * service name, batch sizes) is read by the SDK itself, as the OpenTelemetry specification defines it.
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (/^\s*true\s*$/i.test(env.OTEL_SDK_DISABLED ?? '')) return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (exporters.length > 0 && exporters.every((name) => name === 'none')) return false;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '';
  return endpoint.trim() !== '';
}
