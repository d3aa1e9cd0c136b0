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

/** Reads the command line and the environment into a job, or says what is wrong with them. */
export function parseBatchArgs(argv: readonly string[], env: NodeJS.ProcessEnv, stdinIsTTY: boolean): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
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
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const str = (name: string): string | undefined => values[name] as string | undefined;
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  if (parsed.positionals.length > 1) {
    throw new UsageError(`one INPUT at most; got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`);
  }
  const input = parsed.positionals[0] ?? '-';
  if (input === '-' && stdinIsTTY) {
    throw new UsageError('no input: give a file, or pipe records to standard input (see --help)');
  }
  const output = str('output') ?? '-';

  const inputFormat =
    formatFlag(str('input-format'), '--input-format') ?? (input === '-' ? undefined : formatOfPath(input));
  if (inputFormat === undefined) {
    throw new UsageError(
      input === '-'
        ? 'reading standard input: give its format with --input-format jsonl|csv|tsv'
        : `cannot tell the format of ${input} from its extension: give --input-format jsonl|csv|tsv`,
    );
  }
  const outputFormat =
    formatFlag(str('output-format'), '--output-format') ??
    (output === '-' ? undefined : formatOfPath(output)) ??
    inputFormat;

  const fields = {
    text: fieldName(str('text-field'), '--text-field', 'text'),
    label: fieldName(str('label-field'), '--label-field', 'label'),
    score: fieldName(str('score-field'), '--score-field', 'score'),
  };
  if (new Set([fields.text, fields.label, fields.score]).size !== 3) {
    throw new UsageError('--text-field, --label-field and --score-field must name three different fields');
  }
  const resume = values.resume === true;
  const overwrite = values.overwrite === true;
  if (resume && overwrite) throw new UsageError('--resume and --overwrite exclude each other');
  if (resume && output === '-') throw new UsageError('--resume needs an output file (--output)');

  const onError: OnError = flagValue(str('on-error') ?? 'fail', '--on-error', oneOf(onErrorPolicies));
  const progress = flagValue(str('progress') ?? 'auto', '--progress', oneOf(progressModes));
  const progressIntervalMs =
    flagValue(
      str('progress-interval') ?? String(defaultProgressIntervalSeconds),
      '--progress-interval',
      integer(1, 86_400),
    ) * 1000;
  const window = flagValue(str('window') ?? String(defaultWindow), '--window', integer(1, 1_000_000));
  const maxRecordBytes = flagValue(
    str('max-record-bytes') ?? String(defaultMaxRecordBytes),
    '--max-record-bytes',
    integer(1, 1024 * 1024 * 1024),
  );

  const shard = shardOf(str('shard'), env);
  const partBytes =
    flagValue(str('part-mib') ?? String(defaultPartBytes / mib), '--part-mib', integer(minPartBytes / mib, 5 * 1024)) *
    mib;
  const merge = values.merge === true;
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

  // The model and engine settings go through the server's own config, so they are validated the same way.
  const engineArgs: string[] = [];
  const engineEnv: NodeJS.ProcessEnv = { ...batchDefaults };
  for (const name of engineSettingEnvs) {
    const flag = str(flagOf(name));
    if (flag !== undefined) engineArgs.push(`--${flagOf(name)}`, flag);
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') engineEnv[name] = fromEnv;
  }
  // Every text of the window may wait in the batcher at once.
  engineEnv.MAX_QUEUE = String(window);
  engineEnv.MAX_TEXTS_PER_REQUEST = '1';
  let config: Config;
  try {
    config = loadConfig(engineArgs, engineEnv);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }

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
