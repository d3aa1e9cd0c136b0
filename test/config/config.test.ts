import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, flagOf, loadConfig, settings } from '../../src/config/config.js';
import { packageRoot } from '../../src/config/package-root.js';

function problemsOf(argv: string[], env: Record<string, string>): string[] {
  try {
    loadConfig(argv, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  assert.fail('the config was accepted');
}

describe('loadConfig', () => {
  it('has the documented defaults, with MODEL_DIR relative to the package, not the working directory', () => {
    const config = loadConfig([], {});
    assert.deepEqual(config, {
      port: 5000,
      host: '0.0.0.0',
      grpcPort: undefined,
      modelDir: resolve(packageRoot, 'models/sst2-minilm-l6'),
      engine: 'onnx',
      engineThread: 'auto',
      engineInstances: 'auto',
      device: 'cpu',
      dtype: 'auto',
      tfjsBackend: 'auto',
      intraOpThreads: undefined,
      interOpThreads: undefined,
      maxBatchSize: 32,
      maxBatchTokens: 'auto',
      maxPaddingRatio: 0.1,
      maxWaitMs: 0,
      shortLaneTokens: 64,
      longTextTokens: 'auto',
      longTextShare: 0.25,
      maxQueue: 1024,
      maxTextsPerRequest: 64,
      maxQueuePerClient: 'auto',
      clientIdHeader: undefined,
      bodyLimitBytes: 1048576,
      requestTimeoutMs: 30000,
      shutdownTimeoutMs: 10000,
      logLevel: 'info',
      modelId: undefined,
      revision: 'main',
      hfToken: undefined,
      hfEndpoint: 'https://huggingface.co',
      hfHome: undefined,
      hfHubCache: undefined,
      hfHubOffline: false,
      apiKeys: undefined,
      apiKeyFile: undefined,
      apiKeyForDocs: false,
      corsOrigins: undefined,
      bodyTimeoutMs: 10000,
      bodyBufferLimitBytes: 33554432,
      keepAliveTimeoutMs: 72000,
      admissionWaitMs: 1000,
      tokenizerThreads: 1,
      batchShapes: undefined,
      remoteEngineUrl: undefined,
      remoteModel: undefined,
      remoteModelVersion: undefined,
      remoteCaFile: undefined,
      remoteToken: undefined,
      remoteWaitMs: 300000,
    });
  });

  it('takes a Hub model id with its revision, and refuses it beside an explicitly set MODEL_DIR', () => {
    const config = loadConfig(['--revision', 'v1.0'], {
      MODEL_ID: 'org/some-model_v2.1',
      HF_HUB_OFFLINE: 'yes',
      HF_ENDPOINT: 'http://hub.local:8080/',
    });
    assert.equal(config.modelId, 'org/some-model_v2.1');
    assert.equal(config.revision, 'v1.0');
    assert.equal(config.hfHubOffline, true);
    assert.equal(config.hfEndpoint, 'http://hub.local:8080');
    // The default MODEL_DIR is no clash; one the user gave is.
    assert.equal(loadConfig([], { MODEL_ID: 'org/name' }).modelDir, loadConfig([], {}).modelDir);
    assert.match(
      problemsOf([], { MODEL_ID: 'org/name', MODEL_DIR: '/models/x' }).join(),
      /MODEL_ID \(org\/name\) and MODEL_DIR are both set/,
    );
    assert.match(
      problemsOf(['--model-dir', 'x'], { MODEL_ID: 'org/name' }).join(),
      /MODEL_ID \(org\/name\) and MODEL_DIR are both set/,
    );
    for (const bad of ['org/name/extra', '../x', 'org--x/name', 'org/na me']) {
      assert.match(problemsOf([], { MODEL_ID: bad }).join(), /MODEL_ID must be a Hugging Face Hub model id/, bad);
    }
    assert.match(problemsOf([], { REVISION: 'refs/../../x' }).join(), /REVISION must be a branch, tag or commit/);
    assert.equal(loadConfig([], { REVISION: 'refs/pr/1' }).revision, 'refs/pr/1');
    assert.match(
      problemsOf([], { HF_ENDPOINT: 'ftp://hub' }).join(),
      /HF_ENDPOINT must be an http:\/\/ or https:\/\/ URL/,
    );
    assert.match(problemsOf([], { HF_HUB_OFFLINE: 'maybe' }).join(), /HF_HUB_OFFLINE must be one of: 1, true/);
    assert.equal(loadConfig([], { HF_HUB_OFFLINE: '0' }).hfHubOffline, false);
  });

  it('reads API keys, the key file and CORS origins, and refuses origins a browser would never send', () => {
    const config = loadConfig([], {
      API_KEYS: ' a, b ,,',
      API_KEY_FILE: 'keys.txt',
      API_KEY_FOR_DOCS: 'TRUE',
      CORS_ORIGINS: 'https://a.example, http://localhost:3000',
    });
    assert.deepEqual(config.apiKeys, ['a', 'b']);
    assert.equal(config.apiKeyFile, resolve('keys.txt'));
    assert.equal(config.apiKeyForDocs, true);
    assert.deepEqual(config.corsOrigins, ['https://a.example', 'http://localhost:3000']);
    assert.deepEqual(loadConfig([], { CORS_ORIGINS: '*' }).corsOrigins, ['*']);
    assert.match(
      problemsOf([], { CORS_ORIGINS: 'https://a.example/' }).join(),
      /CORS_ORIGINS must be .*"https:\/\/a\.example\/" is not one/,
    );
    assert.match(problemsOf([], { CORS_ORIGINS: 'a.example' }).join(), /CORS_ORIGINS must be/);
    assert.match(problemsOf([], { CORS_ORIGINS: '*,https://a.example' }).join(), /CORS_ORIGINS must be `\*` alone/);
    assert.match(problemsOf([], { API_KEY_FOR_DOCS: 'maybe' }).join(), /API_KEY_FOR_DOCS must be one of: 1, true/);
    assert.match(
      problemsOf([], { API_KEY_FOR_DOCS: 'true' }).join(),
      /API_KEY_FOR_DOCS=true needs API_KEYS or API_KEY_FILE/,
    );
  });

  it('refuses a BODY_BUFFER_LIMIT_BYTES below BODY_LIMIT_BYTES', () => {
    assert.match(
      problemsOf([], { BODY_BUFFER_LIMIT_BYTES: '1000', BODY_LIMIT_BYTES: '2000' }).join(),
      /BODY_BUFFER_LIMIT_BYTES \(1000\) must not be less than BODY_LIMIT_BYTES \(2000\)/,
    );
    assert.equal(loadConfig([], { TOKENIZER_THREADS: '0' }).tokenizerThreads, 0);
  });

  it('takes ENGINE_INSTANCES as auto or a count, and refuses several copies on the main thread', () => {
    assert.equal(loadConfig([], { ENGINE_INSTANCES: '3' }).engineInstances, 3);
    assert.equal(loadConfig([], { ENGINE_INSTANCES: 'AUTO' }).engineInstances, 'auto');
    assert.match(
      problemsOf([], { ENGINE_INSTANCES: 'two' }).join(),
      /ENGINE_INSTANCES must be auto or an integer from 1 to 64/,
    );
    assert.match(
      problemsOf([], { ENGINE_INSTANCES: '2', ENGINE_THREAD: 'main' }).join(),
      /ENGINE_INSTANCES=2 needs ENGINE_THREAD=worker/,
    );
    assert.match(
      problemsOf([], { ENGINE_INSTANCES: '2', ENGINE: 'tfjs' }).join(),
      /ENGINE=tfjs runs on the main thread unless ENGINE_THREAD=worker/,
    );
    assert.equal(loadConfig([], { ENGINE_INSTANCES: '2', ENGINE: 'tfjs', ENGINE_THREAD: 'worker' }).engineInstances, 2);
    assert.match(problemsOf([], { ENGINE_THREAD: 'gpu' }).join(), /ENGINE_THREAD must be one of: auto, worker, main/);
  });

  it('leaves gRPC off unless GRPC_PORT names a port (0: any free one)', () => {
    assert.equal(loadConfig([], { GRPC_PORT: '' }).grpcPort, undefined);
    assert.equal(loadConfig([], { GRPC_PORT: '0' }).grpcPort, 0);
    assert.equal(loadConfig(['--grpc-port', '8001'], {}).grpcPort, 8001);
    assert.match(problemsOf([], { GRPC_PORT: '70000' }).join(), /GRPC_PORT must be an integer from 0 to 65535/);
  });

  it('reads environment variables', () => {
    const config = loadConfig([], {
      PORT: '8080',
      MAX_BATCH_SIZE: '8',
      DEVICE: 'CUDA',
      INTRA_OP_THREADS: '2',
      MAX_PADDING_RATIO: '1',
    });
    assert.equal(config.port, 8080);
    assert.equal(config.maxBatchSize, 8);
    assert.equal(config.device, 'cuda');
    assert.equal(config.intraOpThreads, 2);
    assert.equal(config.maxPaddingRatio, 1);
  });

  it('takes CLI flags named after the variables, in both spellings, over the environment', () => {
    const config = loadConfig(['--port', '5001', '--max-batch-size=4', '--model-dir', 'some/dir'], { PORT: '9000' });
    assert.equal(config.port, 5001);
    assert.equal(config.maxBatchSize, 4);
    assert.equal(config.modelDir, resolve('some/dir'));
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig([], { PORT: '' }).port, 5000);
  });

  it('names the variable, the allowed values and the bad value', () => {
    const problems = problemsOf([], { MAX_BATCH_SIZE: 'lots', DEVICE: 'tpu', LOG_LEVEL: 'loud', PORT: '70000' });
    assert.equal(problems.length, 4);
    assert.match(problems.join('\n'), /MAX_BATCH_SIZE must be an integer from 1 to 4096; got "lots"/);
    assert.match(problems.join('\n'), /DEVICE must be one of: cpu, cuda; got "tpu"/);
    assert.match(
      problems.join('\n'),
      /LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent; got "loud"/,
    );
    assert.match(problems.join('\n'), /PORT must be an integer from 0 to 65535; got "70000"/);
  });

  it('names the flag when the bad value came from one', () => {
    assert.match(problemsOf(['--max-queue', '0'], {}).join(), /--max-queue must be an integer from 1/);
  });

  it('refuses fractions, signs and junk where integers are expected', () => {
    for (const raw of ['1.5', '-1', '1e3', '0x10', '12abc']) {
      assert.equal(problemsOf([], { MAX_QUEUE: raw }).length, 1, raw);
    }
  });

  it('refuses an engine, a dtype or a padding ratio outside the allowed values', () => {
    assert.match(problemsOf([], { ENGINE: 'torch' }).join(), /ENGINE must be one of: onnx, tfjs, remote; got "torch"/);
    assert.match(
      problemsOf([], { TFJS_BACKEND: 'webgl' }).join(),
      /TFJS_BACKEND must be one of: auto, tfjs-node-gpu, tfjs-node, wasm, cpu/,
    );
    assert.match(problemsOf([], { DTYPE: 'fp8' }).join(), /DTYPE must be one of: auto, fp32, fp16, q8, int8/);
    assert.match(problemsOf([], { MAX_PADDING_RATIO: '1.5' }).join(), /MAX_PADDING_RATIO must be a number from 0 to 1/);
  });

  it('takes ENGINE=tfjs with a TFJS_BACKEND, and refuses settings the tfjs engine would silently ignore', () => {
    assert.equal(loadConfig([], { ENGINE: 'tfjs' }).tfjsBackend, 'auto');
    assert.equal(loadConfig(['--tfjs-backend', 'wasm'], { ENGINE: 'tfjs' }).tfjsBackend, 'wasm');
    assert.equal(loadConfig([], { ENGINE: 'tfjs', DEVICE: 'cuda', TFJS_BACKEND: 'tfjs-node-gpu' }).device, 'cuda');
    assert.match(
      problemsOf([], { ENGINE: 'tfjs', DTYPE: 'q8' }).join(),
      /DTYPE=q8 selects an ONNX file, which ENGINE=tfjs does not read; use DTYPE=fp32 or auto/,
    );
    assert.match(
      problemsOf([], { ENGINE: 'tfjs', INTRA_OP_THREADS: '2' }).join(),
      /INTRA_OP_THREADS and INTER_OP_THREADS apply to ENGINE=onnx only/,
    );
    assert.match(
      problemsOf([], { ENGINE: 'tfjs', DEVICE: 'cuda', TFJS_BACKEND: 'wasm' }).join(),
      /DEVICE=cuda needs TFJS_BACKEND=tfjs-node-gpu \(or auto\)/,
    );
    assert.match(
      problemsOf([], { ENGINE: 'tfjs', TFJS_BACKEND: 'tfjs-node-gpu' }).join(),
      /TFJS_BACKEND=tfjs-node-gpu runs on the GPU: set DEVICE=cuda/,
    );
    // TFJS_BACKEND means nothing to the ONNX engine, and is no error there.
    assert.equal(loadConfig([], { TFJS_BACKEND: 'cpu', DTYPE: 'q8' }).engine, 'onnx');
  });

  it('refuses unknown flags, listing the known ones', () => {
    assert.match(problemsOf(['--prot', '5000'], {}).join(), /--prot.*--port/s);
  });

  it('refuses MAX_TEXTS_PER_REQUEST above MAX_QUEUE, since such a request could never be queued', () => {
    assert.match(
      problemsOf([], { MAX_QUEUE: '10', MAX_TEXTS_PER_REQUEST: '11' }).join(),
      /MAX_TEXTS_PER_REQUEST \(11\) must not exceed MAX_QUEUE \(10\)/,
    );
  });

  it('derives each flag from its variable name', () => {
    assert.equal(flagOf('MAX_BATCH_TOKENS'), 'max-batch-tokens');
    assert.equal(new Set(settings.map((s) => flagOf(s.env))).size, settings.length);
  });
});

describe('ENGINE=remote settings', () => {
  it('needs REMOTE_ENGINE_URL, a grpc:// or grpcs:// address with a port', () => {
    assert.throws(() => loadConfig([], { ENGINE: 'remote' }), /ENGINE=remote needs REMOTE_ENGINE_URL/);
    for (const url of ['http://127.0.0.1:8001', 'grpc://127.0.0.1', 'nonsense']) {
      assert.throws(
        () => loadConfig([], { ENGINE: 'remote', REMOTE_ENGINE_URL: url }),
        /REMOTE_ENGINE_URL must be a grpc:\/\/ or grpcs:\/\/ \(TLS\) URL with host and port/,
      );
    }
    const config = loadConfig([], { ENGINE: 'remote', REMOTE_ENGINE_URL: 'grpcs://triton.example:8001/' });
    assert.equal(config.remoteEngineUrl, 'grpcs://triton.example:8001');
    assert.equal(config.remoteModel, undefined);
  });

  it('refuses remote settings without ENGINE=remote, and in-process settings with it', () => {
    assert.throws(
      () => loadConfig([], { ENGINE: 'onnx', REMOTE_ENGINE_URL: 'grpc://127.0.0.1:8001', REMOTE_TOKEN: 'secret' }),
      /REMOTE_ENGINE_URL, REMOTE_TOKEN apply to ENGINE=remote only; got ENGINE=onnx/,
    );
    const remote = { ENGINE: 'remote', REMOTE_ENGINE_URL: 'grpc://127.0.0.1:8001' };
    assert.throws(() => loadConfig([], { ...remote, ENGINE_THREAD: 'worker' }), /ENGINE_THREAD=worker does not apply/);
    assert.throws(() => loadConfig([], { ...remote, DTYPE: 'q8' }), /with ENGINE=remote the model server decides them/);
    assert.throws(
      () => loadConfig([], { ...remote, REMOTE_CA_FILE: '/etc/ssl/ca.pem' }),
      /REMOTE_CA_FILE needs a grpcs:\/\//,
    );
    // Batches in flight to the server, not engine copies: no worker thread needed.
    assert.equal(loadConfig([], { ...remote, ENGINE_INSTANCES: '4' }).engineInstances, 4);
  });
});
