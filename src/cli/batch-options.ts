import { parseArgs } from 'node:util';
import {
  ConfigError,
  flagOf,
  integer,
  InvalidValue,
  loadConfig,
  oneOf,
  settingsOf,
  type Config,
  type Parser,
} from '../config/config.js';
import { onErrorPolicies, type BatchJobOptions, type OnError } from '../batch-job/batch-job.js';
import { formatOfPath, isRecordFormat, recordFormats, type RecordFormat } from '../batch-job/formats.js';
import { progressModes, type ProgressMode } from '../batch-job/progress.js';
import { ServiceError } from '../errors/error-codes.js';
import { defaultPartBytes, minPartBytes } from '../batch-job/part-upload.js';
import { maxShards, parseShard, type Shard } from '../batch-job/shard-plan.js';

/**
 * The settings a batch job reads, as the server does: the model, the engine and how batches are formed (the
 * settings table's `engine` scope, so a new engine setting reaches the job without being listed here).
 */
export const engineSettingEnvs: readonly string[] = settingsOf('engine').map((s) => s.env);

export const batchDefaults: Readonly<Record<string, string>> = {
  MAX_BATCH_SIZE: '64',
};

export const defaultWindow = 2048;
export const defaultMaxRecordBytes = 1024 * 1024;
export const defaultProgressIntervalSeconds = 10;
const mib = 1024 * 1024;
/** Set by Kubernetes in each pod of an Indexed Job; its completions are passed as SHARD_COUNT (the manifest). */
export const shardIndexEnv = 'JOB_COMPLETION_INDEX';
export const shardCountEnv = 'SHARD_COUNT';

export class UsageError extends ServiceError {
  constructor(message: string) {
    super('SENTIMENT_USAGE', message);
  }
}

export interface BatchCliOptions {
  job: BatchJobOptions;
  /** Check the parts of a sharded job's output instead of scoring. */
  merge: boolean;
  progress: ProgressMode;
  progressIntervalMs: number;
  config: Config;
}

export type ParsedArgs = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; options: BatchCliOptions };

export const usage = `Usage: sentiment-batch [options] [INPUT]

Scores every record of INPUT (a file, or standard input when INPUT is - or absent) and writes the records with
the predicted label and its score added, in input order.

Input and output
  INPUT                        JSONL (.jsonl/.ndjson), CSV (.csv) or TSV (.tsv/.tab) file; - for stdin;
                               s3://bucket/key, or s3://bucket/prefix/ for every object of --input-format under it
  -o, --output FILE            where to write (default: - for stdout); s3://bucket/key for one object
  --input-format FORMAT        jsonl | csv | tsv (default: from INPUT's extension; needed for stdin)
  --output-format FORMAT       jsonl | csv | tsv (default: from the output's extension, else the input's format)
  --text-field NAME            JSON field or CSV/TSV column holding the text (default: text)
  --label-field NAME           field/column the label is written to (default: label)
  --score-field NAME           field/column the score is written to (default: score)

Sharding (object storage; docs/BATCH.md)
  --shard INDEX/COUNT          score share INDEX of COUNT of the input, into part-INDEX-of-COUNT under the output
                               prefix (-o s3://bucket/prefix/), resumable (default in an Indexed Job:
                               ${shardIndexEnv}/${shardCountEnv})
  --part-mib N                 size of the uploaded pieces of a part, at least 5 (default: ${defaultPartBytes / mib}); a
                               replaced pod scores at most one piece again
  --merge                      check that every part of -o's prefix is there and that they cover INPUT exactly

Errors and restarts
  --on-error fail|skip         a malformed record stops the job (fail, default) or is reported and left out (skip)
  --resume                     continue after the last complete record of an existing output (cuts a partial one)
  --overwrite                  replace an existing output (without --resume or this, an existing output is an error)
  --max-record-bytes N         longest record; longer ones are malformed (default: ${defaultMaxRecordBytes})

Progress (on stderr)
  --progress MODE              auto | bar | lines | none (default: auto: a bar on a terminal, lines otherwise)
  --progress-interval SECONDS  seconds between progress lines (default: ${defaultProgressIntervalSeconds})

Model and batching (flags win over the environment variables of the same name, as for the server)
${engineSettingEnvs.map((env) => `  --${flagOf(env).padEnd(27)}${env}${batchDefaults[env] ? ` (batch default: ${batchDefaults[env]})` : ''}`).join('\n')}
  --window N                   records in flight at once: bounds memory, and is the pool batches are formed
                               from (default: ${defaultWindow})

  -h, --help                   this text
  --version                    the version

Exit status: 0 done; 1 the job failed or stopped at a malformed record; 2 bad usage; 3 the input or output cannot
be used as given (no such bucket or object, access denied, a truncated object: retrying cannot help); 130/143
interrupted (SIGINT/SIGTERM: what was read is written first, so --resume continues).`;

/** A flag's value through the settings table's own parsers, refused as a usage error naming the flag. */
function flagValue<T>(raw: string, flag: string, parse: Parser<T>): T {
  try {
    return parse(raw, flag);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    throw new UsageError(`${flag} must be ${error.message}; got ${JSON.stringify(raw)}`);
  }
}

function formatFlag(raw: string | undefined, flag: string): RecordFormat | undefined {
  if (raw === undefined) return undefined;
  if (!isRecordFormat(raw))
    throw new UsageError(`${flag} must be one of: ${recordFormats.join(', ')}; got ${JSON.stringify(raw)}`);
  return raw;
}

function fieldName(raw: string | undefined, flag: string, fallback: string): string {
  if (raw === undefined) return fallback;
  if (raw === '') throw new UsageError(`${flag} must not be empty`);
  return raw;
}

/** --shard, else an Indexed Job's index with SHARD_COUNT; undefined for an unsharded job. */
function shardOf(flag: string | undefined, env: NodeJS.ProcessEnv): Shard | undefined {
  const index = env[shardIndexEnv];
  const raw = flag ?? (index === undefined || index === '' ? undefined : `${index}/${env[shardCountEnv] ?? ''}`);
  if (raw === undefined) return undefined;
  const shard = parseShard(raw);
  if (shard !== undefined) return shard;
  const source = flag !== undefined ? '--shard' : `${shardIndexEnv}/${shardCountEnv}`;
  throw new UsageError(
    `${source} must be INDEX/COUNT with 0 <= INDEX < COUNT <= ${maxShards}; got ${JSON.stringify(raw)}` +
      (flag === undefined && !env[shardCountEnv] ? ` (set ${shardCountEnv} to the Job's completions)` : ''),
  );
}

/** The flags sentiment-batch takes, in node:util parseArgs's terms; the engine's come from the settings table. */
const flagTable = {
  output: { type: 'string', short: 'o' },
  'input-format': { type: 'string' },
  'output-format': { type: 'string' },
  'text-field': { type: 'string' },
  'label-field': { type: 'string' },
  'score-field': { type: 'string' },
  'on-error': { type: 'string' },
  resume: { type: 'boolean' },
  overwrite: { type: 'boolean' },
  'max-record-bytes': { type: 'string' },
  progress: { type: 'string' },
  'progress-interval': { type: 'string' },
  window: { type: 'string' },
  shard: { type: 'string' },
  'part-mib': { type: 'string' },
  merge: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...Object.fromEntries(engineSettingEnvs.map((name) => [flagOf(name), { type: 'string' as const }])),
} as const;

/** The command line's flags by name, and its positionals; an unknown flag or a missing value is a usage error. */
interface ReadFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** A string flag's value, when given. */
  text(name: string): string | undefined;
}

function readFlags(argv: readonly string[]): ReadFlags {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: flagTable });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  return { values, positionals: parsed.positionals, text: (name) => values[name] as string | undefined };
}

/** INPUT (- for stdin), refused when absent on a terminal. */
function inputOf(positionals: readonly string[], stdinIsTTY: boolean): string {
  if (positionals.length > 1) {
    throw new UsageError(`one INPUT at most; got ${positionals.length}: ${positionals.join(' ')}`);
  }
  const input = positionals[0] ?? '-';
  if (input === '-' && stdinIsTTY) {
    throw new UsageError('no input: give a file, or pipe records to standard input (see --help)');
  }
  return input;
}

/** The input's and the output's record formats: the flags, else the paths' extensions, else the input's. */
function formatsOf(flags: ReadFlags, input: string, output: string) {
  const inputFormat =
    formatFlag(flags.text('input-format'), '--input-format') ?? (input === '-' ? undefined : formatOfPath(input));
  if (inputFormat === undefined) {
    throw new UsageError(
      input === '-'
        ? 'reading standard input: give its format with --input-format jsonl|csv|tsv'
        : `cannot tell the format of ${input} from its extension: give --input-format jsonl|csv|tsv`,
    );
  }
  const outputFormat =
    formatFlag(flags.text('output-format'), '--output-format') ??
    (output === '-' ? undefined : formatOfPath(output)) ??
    inputFormat;
  return { inputFormat, outputFormat };
}

/** The text, label and score field names: three different ones. */
function fieldsOf(flags: ReadFlags): BatchJobOptions['fields'] {
  const fields = {
    text: fieldName(flags.text('text-field'), '--text-field', 'text'),
    label: fieldName(flags.text('label-field'), '--label-field', 'label'),
    score: fieldName(flags.text('score-field'), '--score-field', 'score'),
  };
  if (new Set([fields.text, fields.label, fields.score]).size !== 3) {
    throw new UsageError('--text-field, --label-field and --score-field must name three different fields');
  }
  return fields;
}

/** The numeric limits and policies, each through the settings table's parsers. */
function limitsOf(flags: ReadFlags) {
  const onError: OnError = flagValue(flags.text('on-error') ?? 'fail', '--on-error', oneOf(onErrorPolicies));
  const progress = flagValue(flags.text('progress') ?? 'auto', '--progress', oneOf(progressModes));
  const progressIntervalMs =
    flagValue(
      flags.text('progress-interval') ?? String(defaultProgressIntervalSeconds),
      '--progress-interval',
      integer(1, 86_400),
    ) * 1000;
  const window = flagValue(flags.text('window') ?? String(defaultWindow), '--window', integer(1, 1_000_000));
  const maxRecordBytes = flagValue(
    flags.text('max-record-bytes') ?? String(defaultMaxRecordBytes),
    '--max-record-bytes',
    integer(1, 1024 * 1024 * 1024),
  );
  return { onError, progress, progressIntervalMs, window, maxRecordBytes };
}

/** The size of an uploaded piece of a part (--part-mib), in bytes. */
function partBytesOf(flags: ReadFlags): number {
  const raw = flags.text('part-mib') ?? String(defaultPartBytes / mib);
  return flagValue(raw, '--part-mib', integer(minPartBytes / mib, 5 * 1024)) * mib;
}

/** Where object storage is read and written: a sharded job between prefixes, an unsharded one to one object. */
function checkObjectPaths(job: { input: string; output: string; shard?: Shard; merge: boolean; resume: boolean }) {
  const { input, output, shard, merge, resume } = job;
  if (shard !== undefined || merge) {
    if (!input.startsWith('s3://'))
      throw new UsageError(`a sharded job reads object storage: INPUT must be s3://…; got ${input}`);
    if (!output.startsWith('s3://') || !output.endsWith('/')) {
      throw new UsageError(
        `a sharded job writes parts under a prefix: --output must be s3://bucket/prefix/; got ${output}`,
      );
    }
  }
  if (shard === undefined && !merge && output.startsWith('s3://')) {
    if (output.endsWith('/')) {
      throw new UsageError(
        `--output ${output} is a prefix: give an object key, or --shard INDEX/COUNT to write parts under it`,
      );
    }
    if (resume) {
      throw new UsageError(
        '--resume: an s3:// output object appears only when complete and cannot be resumed; write resumable parts with --shard 0/1 and -o s3://bucket/prefix/',
      );
    }
  }
}

/** The model and engine settings, through the server's own config so they are validated the same way. */
function engineConfigOf(flags: ReadFlags, env: NodeJS.ProcessEnv, window: number): Config {
  const engineArgs: string[] = [];
  const engineEnv: NodeJS.ProcessEnv = { ...batchDefaults };
  for (const name of engineSettingEnvs) {
    const flag = flags.text(flagOf(name));
    if (flag !== undefined) engineArgs.push(`--${flagOf(name)}`, flag);
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') engineEnv[name] = fromEnv;
  }
  // Every text of the window may wait in the batcher at once.
  engineEnv.MAX_QUEUE = String(window);
  engineEnv.MAX_TEXTS_PER_REQUEST = '1';
  try {
    return loadConfig(engineArgs, engineEnv);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** Reads the command line and the environment into a job, or says what is wrong with them. */
export function parseBatchArgs(argv: readonly string[], env: NodeJS.ProcessEnv, stdinIsTTY: boolean): ParsedArgs {
  const flags = readFlags(argv);
  const { values } = flags;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  const input = inputOf(flags.positionals, stdinIsTTY);
  const output = flags.text('output') ?? '-';
  const { inputFormat, outputFormat } = formatsOf(flags, input, output);
  const fields = fieldsOf(flags);
  const resume = values.resume === true;
  const overwrite = values.overwrite === true;
  if (resume && overwrite) throw new UsageError('--resume and --overwrite exclude each other');
  if (resume && output === '-') throw new UsageError('--resume needs an output file (--output)');
  const { onError, progress, progressIntervalMs, window, maxRecordBytes } = limitsOf(flags);
  const shard = shardOf(flags.text('shard'), env);
  const partBytes = partBytesOf(flags);
  const merge = values.merge === true;
  checkObjectPaths({ input, output, shard, merge, resume });
  const config = engineConfigOf(flags, env, window);
  return {
    kind: 'run',
    options: {
      job: {
        input,
        output,
        inputFormat,
        outputFormat,
        fields,
        onError,
        resume,
        overwrite,
        window,
        maxRecordBytes,
        shard,
        partBytes,
      },
      merge,
      progress,
      progressIntervalMs,
      config,
    },
  };
}
