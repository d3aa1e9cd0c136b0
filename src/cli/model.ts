#!/usr/bin/env node
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { resolveHubSnapshot } from '../hub/hub-snapshot.js';
import { readModelDir } from '../model/model-dir.js';

// sentiment-model pull [MODEL_ID] [--revision R]: fills the Hub cache with what the server will need (same settings:
// ENGINE and DTYPE pick the files, HF_* the Hub and the cache) and exits, so that a Kubernetes init container can
// pre-pull into the model volume and the server start with HF_HUB_OFFLINE=1. Logs go to stderr; stdout gets the
// snapshot directory, as `huggingface-cli download` prints it.

const name = 'sentiment-model';
const usage = `usage: ${name} pull MODEL_ID [--revision R] [--<setting> value ...]
  Downloads MODEL_ID (org/name; when left out, the MODEL_ID setting) from HF_ENDPOINT into the Hugging Face cache ($HF_HUB_CACHE, default
  $HF_HOME/hub), verified, and prints the snapshot directory. Takes the server's settings as flags or
  environment variables (ENGINE and DTYPE decide which weights are fetched; HF_TOKEN for gated models).`;

function fail(code: number, message: string): never {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(code);
}

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
// Positionals are the command and the model id; every setting flag takes a value (--flag value or --flag=value).
const positionals: string[] = [];
const flags: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i] as string;
  if (arg.startsWith('--')) {
    flags.push(arg);
    if (!arg.includes('=') && i + 1 < argv.length) flags.push(argv[++i] as string);
  } else {
    positionals.push(arg);
  }
}
const [command, given, ...extra] = positionals;
if (command !== 'pull' || extra.length > 0) fail(2, usage);

let config: Config;
try {
  config = loadConfig(flags, given === undefined ? process.env : { ...process.env, MODEL_ID: given });
} catch (error) {
  if (error instanceof ConfigError) fail(2, error.message);
  throw error;
}
const modelId = config.modelId;
if (modelId === undefined) fail(2, usage);

const log = pino({ level: config.logLevel, base: { name } }, pino.destination(2));
try {
  const snapshot = await resolveHubSnapshot({ ...config, modelId }, log);
  // The same check the server makes at start-up, so a pulled model is one the server will load.
  readModelDir(snapshot.dir, config.dtype, config.engine, config.device);
  log.info({ modelId, revision: snapshot.revision, commit: snapshot.commit, dir: snapshot.dir }, 'model pulled');
  process.stdout.write(`${snapshot.dir}\n`);
} catch (error) {
  fail(1, (error as Error).message);
}
