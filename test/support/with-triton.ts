import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startTriton } from './triton-process.js';

/**
 * node dist/test/support/with-triton.js <command> [args…]: runs the command with ENGINE=remote against a real Triton
 * started as `npm run triton` starts it (on a free port of 127.0.0.1), then stops Triton; exits with the command's
 * status. `npm test` runs the HTTP, HF, TEI and Open Inference route suites through it.
 */
const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write('usage: with-triton <command> [args…]\n');
  process.exit(2);
}
const triton = await startTriton();
let status = 1;
try {
  const child = spawn(command, args, {
    stdio: 'inherit',
    env: { ...process.env, ENGINE: 'remote', REMOTE_ENGINE_URL: `grpc://${triton.grpcAddress}` },
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  status = code ?? (signal === null ? 1 : 128);
} finally {
  const exit = await triton.stop();
  if (exit.code !== 0 && exit.signal !== 'SIGTERM')
    process.stderr.write(`triton exited with ${exit.code}:\n${exit.output}\n`);
}
process.exit(status);
