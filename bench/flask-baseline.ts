import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/config/package-root.js';

/**
 * Baseline 4, the original app (bench/baselines/flask_app.py) in a pinned virtual environment the bench makes
 * itself, once, under .cache/: Debian's python3-torch through --system-site-packages (PyPI's default torch wheel
 * is the CUDA build, gigabytes), and the last transformers that runs on torch 1.13.
 */
export const flaskPins = ['transformers==4.44.2', 'flask==3.0.3', 'gunicorn==23.0.0'] as const;

const venvDir = join(packageRoot, '.cache', 'flask-baseline', 'venv');
const appDir = join(packageRoot, 'bench', 'baselines');

/** The Python with torch that the venv is made from: BENCH_PYTHON, else Debian's. */
function basePython(): string {
  return process.env.BENCH_PYTHON ?? '/usr/bin/python3';
}

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`,
  };
}

export type FlaskVenv = { python: string; gunicorn: string } | { skipped: string };

/** The venv's interpreter, made (or remade when the pins change) on first use; or why the baseline is skipped. */
export function prepareFlaskVenv(log: (message: string) => void): FlaskVenv {
  const base = basePython();
  if (!existsSync(base)) return { skipped: `no ${base} (set BENCH_PYTHON to a python3 with torch)` };
  const torch = run(base, ['-c', 'import torch; print(torch.__version__)']);
  if (!torch.ok) return { skipped: `${base} has no torch (Debian: apt-get install python3-torch python3-venv)` };
  const python = join(venvDir, 'bin', 'python');
  const stamp = join(venvDir, 'pins.txt');
  const wanted = `${base} torch ${torch.output.trim()}\n${flaskPins.join('\n')}\n`;
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
    log(`making the Flask baseline's venv in ${venvDir} (${flaskPins.join(' ')})`);
    mkdirSync(venvDir, { recursive: true });
    const made = run(base, ['-m', 'venv', '--system-site-packages', '--clear', venvDir]);
    if (!made.ok) return { skipped: `could not make a venv with ${base}: ${made.output.trim().slice(-300)}` };
    const installed = run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...flaskPins]);
    if (!installed.ok)
      return { skipped: `pip install ${flaskPins.join(' ')} failed: ${installed.output.trim().slice(-300)}` };
    writeFileSync(stamp, wanted);
  }
  return { python, gunicorn: join(venvDir, 'bin', 'gunicorn') };
}

/** The two ways the app is served: as written (app.run), and as a careful operator runs it. */
export function flaskCommands(venv: { python: string; gunicorn: string }) {
  return {
    flask: { command: [venv.python, join(appDir, 'flask_app.py')], env: {} },
    // gunicorn.conf.py: two workers on two cores, each single-threaded.
    'flask-gunicorn': {
      command: [venv.gunicorn, '--config', join(appDir, 'gunicorn.conf.py'), '--chdir', appDir, 'flask_app:app'],
      env: { OMP_NUM_THREADS: '1' },
    },
  } as const;
}
