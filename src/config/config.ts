import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { devices, dtypes, engineKinds, engineThreadOf, engineThreads, tfjsBackends } from '../engine/engine-choices.js';
import { packageRoot } from './package-root.js';
import { ServiceError } from '../errors/error-codes.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type LogLevel = (typeof logLevels)[number];

/**
 * The one validated config, derived from the settings table below: each setting's key, with its parser's type
 * (and undefined when the setting has no default and is not set).
 */
export type Config = { [S in (typeof settings)[number] as S['key']]: SettingValue<S> };

/**
 * server: read by the server only. engine: the model, the engine and how batches are formed, read alike by the
 * server and the batch job (sentiment-batch), so both run the same engine from the same environment.
 */
export const settingScopes = ['server', 'engine'] as const;
export type SettingScope = (typeof settingScopes)[number];

export class ConfigError extends ServiceError {
  constructor(readonly problems: readonly string[]) {
    super('SENTIMENT_CONFIG', `Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

export type Parser<T> = (raw: string, name: string) => T;

interface Setting<K extends string, T> {
  key: K;
  env: string;
  defaultValue: string | undefined;
  parse: Parser<T>;
  scope: SettingScope;
}

type SettingValue<S> = S extends Setting<string, infer T> ? T : never;

/** A parser's refusal: its message says what the value must be. */
export class InvalidValue extends Error {}

export function integer(min: number, max: number): Parser<number> {
  return (raw) => {
    const value = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidValue(`an integer from ${min} to ${max}`);
    }
    return value;
  };
}

function optionalInteger(min: number, max: number): Parser<number | undefined> {
  const parse = integer(min, max);
  return (raw, name) => (raw === '' ? undefined : parse(raw, name));
}

function integerOrAuto(min: number, max: number): Parser<number | 'auto'> {
  const parse = integer(min, max);
  return (raw, name) => {
    if (raw.trim().toLowerCase() === 'auto') return 'auto';
    try {
      return parse(raw, name);
    } catch {
      throw new InvalidValue(`auto or an integer from ${min} to ${max}`);
    }
  };
}

function ratio(): Parser<number> {
  return (raw) => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
      throw new InvalidValue('a number from 0 to 1');
    }
    return value;
  };
}

export function oneOf<T extends string>(allowed: readonly T[]): Parser<T> {
  return (raw) => {
    const value = raw.trim().toLowerCase();
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidValue(`one of: ${allowed.join(', ')}`);
    return value as T;
  };
}

function nonEmpty(): Parser<string> {
  return (raw) => {
    if (raw.trim() === '') throw new InvalidValue('a non-empty string');
    return raw.trim();
  };
}

/** An HTTP header name (RFC 9110 token), lower case as Node gives headers. */
function headerName(): Parser<string> {
  return (raw) => {
    const value = raw.trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(value)) throw new InvalidValue('an HTTP header name, e.g. x-client-id');
    return value;
  };
}

function directory(): Parser<string> {
  const parse = nonEmpty();
  return (raw, name) => resolve(parse(raw, name));
}

// Spelled as huggingface_hub reads them, so one HF_* environment serves both.
function onOff(): Parser<boolean> {
  return (raw) => {
    const value = raw.trim().toUpperCase();
    if (['1', 'ON', 'YES', 'TRUE'].includes(value)) return true;
    if (['0', 'OFF', 'NO', 'FALSE'].includes(value)) return false;
    throw new InvalidValue('one of: 1, true, yes, on, 0, false, no, off');
  };
}

function repoId(): Parser<string | undefined> {
  return (raw) => {
    const value = raw.trim();
    // The Hub's repo id rules: [org/]name of letters, digits, '-', '_', '.'; no '--' or '..' (they break the cache's folder names).
    if (!/^(?:[\w.-]+\/)?[\w.-]+$/.test(value) || value.includes('--') || value.includes('..') || value.length > 96) {
      throw new InvalidValue('a Hugging Face Hub model id, org/name (letters, digits, -, _, .)');
    }
    return value;
  };
}

function revisionName(): Parser<string> {
  return (raw) => {
    const value = raw.trim();
    // A branch, tag or commit; it becomes a file name under refs/, so nothing that climbs out of it.
    if (value === '' || value.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new InvalidValue('a branch, tag or commit');
    }
    return value;
  };
}

function httpUrl(): Parser<string> {
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new InvalidValue('an http:// or https:// URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidValue('an http:// or https:// URL');
    return url.href.replace(/\/+$/, '');
  };
}

function grpcUrl(): Parser<string> {
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new InvalidValue('a grpc:// or grpcs:// (TLS) URL with host and port, e.g. grpc://127.0.0.1:8001');
    }
    if ((url.protocol !== 'grpc:' && url.protocol !== 'grpcs:') || url.hostname === '' || url.port === '') {
      throw new InvalidValue('a grpc:// or grpcs:// (TLS) URL with host and port, e.g. grpc://127.0.0.1:8001');
    }
    return `${url.protocol}//${url.host}`;
  };
}

/**
 * One (batch, sequence) shape a compiled model accepts. Neuron-compiled models and TensorRT engines run only the
 * shapes they were built for, so with BATCH_SHAPES every batch is padded up to one of them (src/queue/batch-shapes.ts).
 */
export interface FixedShape {
  rows: number;
  columns: number;
}

/** BATCH_SHAPES: `1x128,8x128,8x512`; unset or empty: no fixed shapes. Sorted smallest first, duplicates dropped. */
function batchShapeList(): Parser<FixedShape[] | undefined> {
  const refusal = 'comma-separated BATCHxSEQUENCE shapes, e.g. 1x128,8x128,8x512 (each from 1 to 65536)';
  return (raw) => {
    const items = raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length === 0) return undefined;
    const shapes = items.map((item) => {
      const match = /^(\d+)\s*x\s*(\d+)$/i.exec(item);
      const rows = Number(match?.[1]);
      const columns = Number(match?.[2]);
      if (match === null || !(rows >= 1 && rows <= 65536 && columns >= 1 && columns <= 65536)) {
        throw new InvalidValue(`${refusal}; ${JSON.stringify(item)} is not one`);
      }
      return { rows, columns };
    });
    const unique = new Map(shapes.map((shape) => [`${shape.rows}x${shape.columns}`, shape]));
    // Smallest first: the first shape that holds a batch is then the cheapest (fittingShape).
    return [...unique.values()].sort(
      (a, b) => a.rows * a.columns - b.rows * b.columns || a.columns - b.columns || a.rows - b.rows,
    );
  };
}

/** Comma-separated, blanks dropped; an unset variable is the empty list. */
function list(): Parser<string[]> {
  return (raw) =>
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
}

function file(): Parser<string> {
  const parse = nonEmpty();
  return (raw, name) => resolve(parse(raw, name));
}

/** `*` alone, or origins as browsers send them: scheme://host[:port], no path. */
function originList(): Parser<string[]> {
  const parse = list();
  return (raw, name) => {
    const origins = parse(raw, name);
    if (origins.includes('*') && origins.length > 1) throw new InvalidValue('`*` alone or a list of origins, not both');
    for (const origin of origins) {
      if (origin === '*') continue;
      let parsed: URL | undefined;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = undefined;
      }
      if (parsed === undefined || parsed.origin !== origin) {
        throw new InvalidValue(
          `\`*\` or comma-separated origins like https://app.example.com (scheme, host, port; no path or trailing slash): ${JSON.stringify(origin)} is not one`,
        );
      }
    }
    return origins;
  };
}

function setting<K extends string, T, D extends string | undefined>(
  key: K,
  env: string,
  defaultValue: D,
  parse: Parser<T>,
  scope: SettingScope,
): Setting<K, D extends string ? T : T | undefined> {
  return { key, env, defaultValue, parse, scope };
}

// One row per setting: its Config key, the env var, its CLI flag (derived: MAX_BATCH_SIZE -> --max-batch-size),
// default, parser (whose type is the Config field's) and scope. The README's configuration table lists the same
// rows; a test keeps the two in step.
export const settings = [
  setting('port', 'PORT', '5000', integer(0, 65535), 'server'),
  setting('host', 'HOST', '0.0.0.0', nonEmpty(), 'server'),
  // The Open Inference Protocol's gRPC listener (on HOST); unset: off.
  setting('grpcPort', 'GRPC_PORT', undefined, optionalInteger(0, 65535), 'server'),
  setting('modelDir', 'MODEL_DIR', resolve(packageRoot, 'models/sst2-minilm-l6'), directory(), 'engine'),
  setting('engine', 'ENGINE', 'onnx', oneOf(engineKinds), 'engine'),
  // Which thread the engine computes on; auto: see engineThreadOf (src/engine/engine-choices.ts).
  setting('engineThread', 'ENGINE_THREAD', 'auto', oneOf(engineThreads), 'engine'),
  // Engine copies, each on its own worker thread, computing batches side by side; auto: see engine-layout.ts.
  setting('engineInstances', 'ENGINE_INSTANCES', 'auto', integerOrAuto(1, 64), 'engine'),
  setting('device', 'DEVICE', 'cpu', oneOf(devices), 'engine'),
  setting('dtype', 'DTYPE', 'auto', oneOf(dtypes), 'engine'),
  // Which TensorFlow.js backend ENGINE=tfjs runs on.
  setting('tfjsBackend', 'TFJS_BACKEND', 'auto', oneOf(tfjsBackends), 'engine'),
  // Unset: from the engine layout (src/engine/engine-layout.ts), else ONNX Runtime's default.
  setting('intraOpThreads', 'INTRA_OP_THREADS', undefined, optionalInteger(1, 1024), 'engine'),
  setting('interOpThreads', 'INTER_OP_THREADS', undefined, optionalInteger(1, 1024), 'engine'),
  setting('maxBatchSize', 'MAX_BATCH_SIZE', '32', integer(1, 4096), 'engine'),
  // auto: from the model's width and the device (src/queue/batch-token-budget.ts).
  setting('maxBatchTokens', 'MAX_BATCH_TOKENS', 'auto', integerOrAuto(1, 1_048_576), 'engine'),
  setting('maxPaddingRatio', 'MAX_PADDING_RATIO', '0.1', ratio(), 'engine'),
  setting('maxWaitMs', 'MAX_WAIT_MS', '0', integer(0, 60_000), 'engine'),
  // Longer batches keep out of one engine instance while the queue is short (src/queue/short-lane.ts); 0: off.
  // Server only: a batch job has nobody waiting on a short answer.
  setting('shortLaneTokens', 'SHORT_LANE_TOKENS', '64', integer(0, 1_048_576), 'server'),
  // A text longer than this many tokens counts as long for LONG_TEXT_SHARE; auto: half the model's maximum length.
  setting('longTextTokens', 'LONG_TEXT_TOKENS', 'auto', integerOrAuto(1, 1_048_576), 'server'),
  // Most of the machine's recent CPU time long texts may take while short traffic is served (long-text-share.ts).
  setting('longTextShare', 'LONG_TEXT_SHARE', '0.25', ratio(), 'server'),
  setting('maxQueue', 'MAX_QUEUE', '1024', integer(1, 1_000_000), 'server'),
  setting('maxTextsPerRequest', 'MAX_TEXTS_PER_REQUEST', '64', integer(1, 100_000), 'server'),
  // Most texts one client may have waiting, so others still get in (429 client_queue_full beyond); auto: see
  // resolvePerClientQueue (src/inference/admission.ts).
  setting('maxQueuePerClient', 'MAX_QUEUE_PER_CLIENT', 'auto', integerOrAuto(1, 1_000_000), 'server'),
  // Header naming the client for fair sharing, set by a trusted proxy; unset: the API key, else the address.
  setting('clientIdHeader', 'CLIENT_ID_HEADER', undefined, headerName(), 'server'),
  setting('bodyLimitBytes', 'BODY_LIMIT_BYTES', '1048576', integer(1, 1_073_741_824), 'server'),
  setting('requestTimeoutMs', 'REQUEST_TIMEOUT_MS', '30000', integer(1, 3_600_000), 'server'),
  setting('shutdownTimeoutMs', 'SHUTDOWN_TIMEOUT_MS', '10000', integer(1, 3_600_000), 'server'),
  setting('logLevel', 'LOG_LEVEL', 'info', oneOf(logLevels), 'server'),
  // A Hugging Face Hub repository (org/name) to serve instead of a local directory; see src/hub/.
  setting('modelId', 'MODEL_ID', undefined, repoId(), 'engine'),
  // Branch, tag or commit of MODEL_ID.
  setting('revision', 'REVISION', 'main', revisionName(), 'engine'),
  // Sent to HF_ENDPOINT as a bearer token; never logged nor shown.
  setting('hfToken', 'HF_TOKEN', undefined, nonEmpty(), 'engine'),
  setting('hfEndpoint', 'HF_ENDPOINT', 'https://huggingface.co', httpUrl(), 'engine'),
  setting('hfHome', 'HF_HOME', undefined, directory(), 'engine'),
  // Unset: $HF_HOME/hub (src/hub/cache-layout.ts).
  setting('hfHubCache', 'HF_HUB_CACHE', undefined, directory(), 'engine'),
  // Serve MODEL_ID from the cache only, without asking HF_ENDPOINT.
  setting('hfHubOffline', 'HF_HUB_OFFLINE', '0', onOff(), 'engine'),
  // Keys accepted on inference routes (Authorization: Bearer), besides those in API_KEY_FILE.
  setting('apiKeys', 'API_KEYS', undefined, list(), 'server'),
  // One key per line, re-read when it changes.
  setting('apiKeyFile', 'API_KEY_FILE', undefined, file(), 'server'),
  // /docs and /info need a key too (when keys are set).
  setting('apiKeyForDocs', 'API_KEY_FOR_DOCS', 'false', onOff(), 'server'),
  // Origins browsers may call from (CORS); unset or empty: CORS off; *: any.
  setting('corsOrigins', 'CORS_ORIGINS', undefined, originList(), 'server'),
  // Most time to receive a request's headers and body; 408 and the connection closed beyond.
  setting('bodyTimeoutMs', 'BODY_TIMEOUT_MS', '10000', integer(100, 3_600_000), 'server'),
  // Most bytes the bodies of all requests in progress may declare together; 429 beyond.
  setting('bodyBufferLimitBytes', 'BODY_BUFFER_LIMIT_BYTES', '33554432', integer(1, 68_719_476_736), 'server'),
  // How long an idle keep-alive connection stays open.
  setting('keepAliveTimeoutMs', 'KEEP_ALIVE_TIMEOUT_MS', '72000', integer(1, 3_600_000), 'server'),
  // How long a request may wait, before its body is read, for room in a full queue; 0: 429 at once.
  setting('admissionWaitMs', 'ADMISSION_WAIT_MS', '1000', integer(0, 60_000), 'server'),
  // Worker threads that tokenize long requests; 0: all tokenization on the main thread.
  setting('tokenizerThreads', 'TOKENIZER_THREADS', '1', integer(0, 64), 'engine'),
  // Fixed (batch x sequence) shapes every batch is padded up to, for compiled models; unset: any shape.
  setting('batchShapes', 'BATCH_SHAPES', undefined, batchShapeList(), 'engine'),
  // ENGINE=remote: the Open Inference Protocol gRPC server that computes each batch; grpcs:// for TLS.
  setting('remoteEngineUrl', 'REMOTE_ENGINE_URL', undefined, grpcUrl(), 'engine'),
  // Unset: the model's name as this service's Open Inference routes publish it (the MODEL_DIR folder name).
  setting('remoteModel', 'REMOTE_MODEL', undefined, nonEmpty(), 'engine'),
  // Unset: the version the model server picks.
  setting('remoteModelVersion', 'REMOTE_MODEL_VERSION', undefined, nonEmpty(), 'engine'),
  // PEM roots for grpcs:// (unset: the system's); sent nowhere else.
  setting('remoteCaFile', 'REMOTE_CA_FILE', undefined, file(), 'engine'),
  // Sent to the model server as `authorization: Bearer` metadata; never logged nor shown.
  setting('remoteToken', 'REMOTE_TOKEN', undefined, nonEmpty(), 'engine'),
  // How long start-up waits for the model server and its model to be ready.
  setting('remoteWaitMs', 'REMOTE_WAIT_MS', '300000', integer(0, 86_400_000), 'engine'),
] as const;

/** The settings of one scope, e.g. those the batch job reads (`engine`). */
export function settingsOf(scope: SettingScope): readonly (typeof settings)[number][] {
  return settings.filter((s) => s.scope === scope);
}

export function flagOf(env: string): string {
  return env.toLowerCase().replaceAll('_', '-');
}

/**
 * Builds the one validated config from environment variables and CLI flags (flags win). Every problem is
 * collected, so one start attempt reports all of them.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  let flags: Record<string, string | undefined> = {};
  try {
    flags = parseArgs({
      args: [...argv],
      options: Object.fromEntries(settings.map((s) => [flagOf(s.env), { type: 'string' as const }])),
      allowPositionals: false,
      strict: true,
    }).values as Record<string, string | undefined>;
  } catch (error) {
    problems.push(`${(error as Error).message} (flags: ${settings.map((s) => `--${flagOf(s.env)}`).join(', ')})`);
  }

  const config: Partial<Record<keyof Config, unknown>> = {};
  // Settings given by the user rather than defaulted: MODEL_DIR has a default, and only an explicit one clashes.
  const explicit = new Set<keyof Config>();
  for (const s of settings) {
    const flag = flagOf(s.env);
    const fromFlag = flags[flag];
    const fromEnv = env[s.env];
    const raw = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : s.defaultValue);
    const source = fromFlag !== undefined ? `--${flag}` : s.env;
    if (fromFlag !== undefined || (fromEnv !== undefined && fromEnv !== '')) explicit.add(s.key);
    if (raw === undefined) {
      config[s.key] = undefined;
      continue;
    }
    try {
      config[s.key] = (s.parse as Parser<unknown>)(raw, s.env);
    } catch (error) {
      if (!(error instanceof InvalidValue)) throw error;
      problems.push(`${source} must be ${error.message}; got ${JSON.stringify(raw)}`);
    }
  }

  const checked = config as Config;
  if (problems.length === 0 && checked.maxTextsPerRequest > checked.maxQueue) {
    problems.push(
      `MAX_TEXTS_PER_REQUEST (${checked.maxTextsPerRequest}) must not exceed MAX_QUEUE (${checked.maxQueue}), ` +
        'or a full-size request could never be queued',
    );
  }
  if (
    problems.length === 0 &&
    checked.maxQueuePerClient !== 'auto' &&
    checked.maxQueuePerClient < checked.maxTextsPerRequest
  ) {
    problems.push(
      `MAX_QUEUE_PER_CLIENT (${checked.maxQueuePerClient}) must not be less than MAX_TEXTS_PER_REQUEST (${checked.maxTextsPerRequest}), ` +
        'or a full-size request could never be queued',
    );
  }
  if (problems.length === 0 && checked.bodyBufferLimitBytes < checked.bodyLimitBytes) {
    problems.push(
      `BODY_BUFFER_LIMIT_BYTES (${checked.bodyBufferLimitBytes}) must not be less than BODY_LIMIT_BYTES (${checked.bodyLimitBytes}), ` +
        'or a full-size body could never be received',
    );
  }
  if (problems.length === 0 && checked.engineInstances !== 'auto' && checked.engineInstances > 1) {
    // A remote engine's instances are batches in flight to the model server, not copies on threads.
    if (engineThreadOf(checked) === 'main' && checked.engine !== 'remote') {
      problems.push(
        `ENGINE_INSTANCES=${checked.engineInstances} needs ENGINE_THREAD=worker: the main thread holds one engine` +
          (checked.engine === 'tfjs' ? ' (ENGINE=tfjs runs on the main thread unless ENGINE_THREAD=worker)' : ''),
      );
    }
  }
  if (
    problems.length === 0 &&
    checked.apiKeyForDocs &&
    (checked.apiKeys ?? []).length === 0 &&
    checked.apiKeyFile === undefined
  ) {
    problems.push('API_KEY_FOR_DOCS=true needs API_KEYS or API_KEY_FILE: there is no key to ask for');
  }
  if (problems.length === 0 && checked.engine === 'tfjs') problems.push(...tfjsProblems(checked));
  if (problems.length === 0) problems.push(...remoteProblems(checked));
  if (checked.modelId !== undefined && explicit.has('modelDir')) {
    problems.push(
      `MODEL_ID (${checked.modelId}) and MODEL_DIR are both set: give one, the Hub id or the local directory`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return checked;
}

/** Settings that mean nothing to the TensorFlow.js engine are refused rather than silently ignored. */
function tfjsProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.dtype !== 'fp32' && config.dtype !== 'auto') {
    problems.push(
      `DTYPE=${config.dtype} selects an ONNX file, which ENGINE=tfjs does not read; use DTYPE=fp32 or auto`,
    );
  }
  if (config.intraOpThreads !== undefined || config.interOpThreads !== undefined) {
    problems.push('INTRA_OP_THREADS and INTER_OP_THREADS apply to ENGINE=onnx only; unset them for ENGINE=tfjs');
  }
  if (config.device === 'cuda' && config.tfjsBackend !== 'auto' && config.tfjsBackend !== 'tfjs-node-gpu') {
    problems.push(`DEVICE=cuda needs TFJS_BACKEND=tfjs-node-gpu (or auto); got TFJS_BACKEND=${config.tfjsBackend}`);
  }
  if (config.device === 'cpu' && config.tfjsBackend === 'tfjs-node-gpu') {
    problems.push('TFJS_BACKEND=tfjs-node-gpu runs on the GPU: set DEVICE=cuda as well');
  }
  return problems;
}

/** ENGINE=remote needs its server; the settings of in-process engines mean nothing to it and are refused. */
function remoteProblems(config: Config): string[] {
  const remoteOnly = (['remoteEngineUrl', 'remoteModel', 'remoteModelVersion', 'remoteCaFile', 'remoteToken'] as const)
    .filter((key) => config[key] !== undefined)
    .map((key) => settings.find((s) => s.key === key)?.env);
  if (config.engine !== 'remote') {
    return remoteOnly.length === 0
      ? []
      : [`${remoteOnly.join(', ')} apply to ENGINE=remote only; got ENGINE=${config.engine}`];
  }
  const problems: string[] = [];
  if (config.remoteEngineUrl === undefined) {
    problems.push('ENGINE=remote needs REMOTE_ENGINE_URL, the model server, e.g. grpc://127.0.0.1:8001');
  }
  if (config.engineThread === 'worker') {
    problems.push(
      'ENGINE=remote computes nothing in this process: ENGINE_THREAD=worker does not apply (use auto or main)',
    );
  }
  if (config.dtype !== 'auto' || config.intraOpThreads !== undefined || config.interOpThreads !== undefined) {
    problems.push(
      'DTYPE, INTRA_OP_THREADS and INTER_OP_THREADS apply to in-process engines; with ENGINE=remote the model server decides them',
    );
  }
  if (config.remoteCaFile !== undefined && !config.remoteEngineUrl?.startsWith('grpcs:')) {
    problems.push('REMOTE_CA_FILE needs a grpcs:// REMOTE_ENGINE_URL (TLS)');
  }
  return problems;
}
