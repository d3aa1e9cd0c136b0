// Static checks of the Dockerfiles (the CPU image is also built and run by `npm run test:image`; the GPU
// image cannot be built here, so these checks are all it gets in CI).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, render, kubectlSkipReason } from './kustomize.js';
import { serverContract } from './server-contract.js';

function stages(file: string): { text: string; final: string } {
  const text = readFileSync(path.join(repoRoot, file), 'utf8');
  const parts = text.split(/^FROM /m);
  return { text, final: parts[parts.length - 1]! };
}

describe('Dockerfiles', () => {
  for (const file of ['Dockerfile', 'Dockerfile.gpu']) {
    describe(file, () => {
      const { text, final } = stages(file);

      it('final stage: numeric non-root user, node as PID 1 on the server entry point, server port', () => {
        const user = /^USER (\S+)$/m.exec(final)?.[1];
        assert.ok(user && /^[1-9]\d*(:\d+)?$/.test(user), `USER ${user} is a numeric non-root uid`);
        assert.match(final, /^CMD \["node", "dist\/src\/server\.js"\]$/m, 'exec-form CMD with node, no npm/shell wrapper');
        assert.match(final, new RegExp(`^EXPOSE ${serverContract.defaultPort}$`, 'm'));
        assert.match(final, /COPY models \.\/models/, 'model baked in');
      });

      it('production dependencies only in the final stage', () => {
        assert.match(text, /npm ci --omit=dev/);
        assert.doesNotMatch(final, /npm (ci|install)/, 'no npm install in the final stage');
        assert.match(final, /COPY --from=deps \/app\/node_modules/);
      });

      it('pins the base images by tag', () => {
        for (const m of text.matchAll(/^ARG \w+_IMAGE=(\S+)$/gm)) {
          assert.ok(/:[\w.-]+$/.test(m[1]!) && !m[1]!.endsWith(':latest'), `base ${m[1]} has a version tag`);
        }
      });
    });
  }

  it('the GPU image installs the CUDA execution provider and runs on CUDA 12', () => {
    const { text, final } = stages('Dockerfile.gpu');
    assert.match(text, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.match(text, /node script\/install/, 'runs the install script explicitly (npm 11 skips unapproved scripts)');
    assert.match(text, /test -f \S*libonnxruntime_providers_cuda\.so/, 'fails the build without the CUDA provider');
    assert.match(text, /nvidia\/cuda:12\.[\d.]+-cudnn-runtime/);
    assert.match(final, /DEVICE=cuda/);
  });

  it('.dockerignore keeps the context to what the image needs', () => {
    const lines = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    assert.equal(lines.find((l) => l && !l.startsWith('#')), '*', 'allow-list: everything is excluded first');
    for (const needed of ['!package.json', '!package-lock.json', '!src/', '!models/']) assert.ok(lines.includes(needed), needed);
    for (const never of ['!node_modules', '!dist', '!.git']) assert.ok(!lines.some((l) => l.startsWith(never)), never);
  });

  it('the Deployment runs as the image user', { skip: kubectlSkipReason() }, () => {
    const user = /^USER (\d+)/m.exec(stages('Dockerfile').final)?.[1];
    const dep = render('cpu').find((o) => o.kind === 'Deployment')!;
    assert.equal(String(dep.spec.template.spec.securityContext.runAsUser), user);
  });
});
