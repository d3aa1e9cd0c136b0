import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { packageRoot } from '../src/config/package-root.js';

export interface BenchModel {
  id: 'embedded' | 'distilbert-size';
  dir: string;
  label: string;
}

export const benchModelIds = ['embedded', 'distilbert-size'] as const;

/** Which python generates the DistilBERT-size model: BENCH_PYTHON, else Debian's (python3-torch), else python3. */
function python(): string {
  if (process.env.BENCH_PYTHON) return process.env.BENCH_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function labelOf(dir: string, prefix: string): string {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
  return `${prefix} ${config.num_hidden_layers}×${config.hidden_size}`;
}

/** The model directory for a benchmark model id; the DistilBERT-size one is generated into .cache on first use. */
export function prepareModel(id: BenchModel['id']): BenchModel {
  if (id === 'embedded') {
    // The model the server serves by default (MODEL_DIR's default).
    const dir = loadConfig([], {}).modelDir;
    return { id, dir, label: labelOf(dir, 'embedded') };
  }
  const dir = join(packageRoot, '.cache', 'bench-models', 'bert-6x768');
  const script = join(packageRoot, 'bench', 'make_bench_model.py');
  const generated = spawnSync(python(), [script, '--out', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (generated.status !== 0) {
    throw new Error(
      `could not generate the DistilBERT-size model with ${python()} ${script} (needs python3 with torch and onnx; ` +
        `set BENCH_PYTHON, or run with --models embedded): exit ${generated.status} ${generated.error?.message ?? ''}`,
    );
  }
  process.stderr.write(generated.stdout);
  return { id, dir, label: labelOf(dir, 'DistilBERT-size') };
}
