// Static checks of the Dockerfiles (both images are also built and run: `npm run test:image`, and
// `npm run test:image:gpu` for the GPU one).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, render, kubectlSkipReason } from './kustomize.js';
import { serverContract } from './server-contract.js';
import { cudaDriverFloor } from '../../src/engine/onnx/cuda-driver-floor.js';

function stages(file: string): { text: string; final: string } {
  const text = readFileSync(path.join(repoRoot, file), 'utf8');
  const parts = text.split(/^FROM /m);
  return { text, final: parts[parts.length - 1]! };
}

describe('Dockerfiles', () => {
  for (const file of ['Dockerfile', 'Dockerfile.gpu']) {
    describe(file, () => {
      const { text, final } = stages(file);

      it('final stage: numeric non-root user >= 10000, node as PID 1 on the server entry point, server port', () => {
        const user = /^USER (\S+)$/m.exec(final)?.[1];
        assert.ok(user && /^[1-9]\d*:[1-9]\d*$/.test(user), `USER ${user} is a numeric non-root uid:gid`);
        for (const id of user.split(':')) assert.ok(Number(id) >= 10000, `USER ${user}: ids >= 10000`);
        assert.match(
          final,
          /^CMD \["node", "dist\/src\/server\.js"\]$/m,
          'exec-form CMD with node, no npm/shell wrapper',
        );
        assert.match(final, new RegExp(`^EXPOSE ${serverContract.defaultPort}$`, 'm'));
        assert.match(final, /COPY models \.\/models/, 'model baked in');
      });

      it('production dependencies only in the final stage', () => {
        assert.match(text, /npm ci --omit=dev/);
        assert.doesNotMatch(final, /npm (ci|install)/, 'no npm install in the final stage');
        assert.match(final, /COPY --from=deps \/app\/node_modules/);
      });

      it('builds on Node 24 LTS (bookworm-slim), pinned by tag, with how to pin the digest', () => {
        const bases = [...text.matchAll(/^ARG \w+_IMAGE=(\S+)$/gm)].map((m) => m[1]!);
        assert.deepEqual(bases, ['node:24-bookworm-slim'], 'one base image: Node 24 LTS');
        for (const b of bases)
          assert.ok(
            /:[\w.-]+(@sha256:[0-9a-f]{64})?$/.test(b) && !b.endsWith(':latest'),
            `base ${b} has a version tag`,
          );
        // Local base images have no registry digest: the Dockerfile says how to pin one where a registry exists.
        assert.match(text, /--build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:/);
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ARG reference, literally
        for (const from of text.matchAll(/^FROM (\S+)/gm)) assert.equal(from[1], '${NODE_IMAGE}', `FROM ${from[1]}`);
      });
    });
  }

  it('the GPU image: the CUDA provider next to the core library, the CUDA libraries on LD_LIBRARY_PATH', () => {
    const { text, final } = stages('Dockerfile.gpu');
    // Fetched and extracted in a build stage from the pinned wheels: nothing has to be prepared on the host.
    const fetchStage = text.split(/^FROM /m).find((stage) => /^\S+ AS gpu-libs$/m.test(stage));
    assert.ok(fetchStage, 'a gpu-libs build stage');
    assert.match(fetchStage, /COPY scripts\/gpu-wheels\.txt scripts\/prepare-gpu-libs\.sh /);
    assert.match(fetchStage, /^RUN --mount=type=cache,target=\S+ bash scripts\/prepare-gpu-libs\.sh$/m);
    assert.doesNotMatch(text, /^COPY \.cache\//m, 'no COPY from a host-prepared .cache');
    const gpuLibs = '--from=gpu-libs /src/\\.cache/gpu-libs';
    assert.match(text, new RegExp(`COPY ${gpuLibs}/ort/ node_modules/onnxruntime-node/bin/napi-v6/linux/x64/`));
    assert.match(text, /test -f \S*libonnxruntime_providers_cuda\.so/, 'fails the build without the CUDA provider');
    const libDir = new RegExp(`COPY ${gpuLibs}/cuda/ (\\S+?)/?$`, 'm').exec(final)?.[1];
    assert.ok(libDir, 'the CUDA libraries are copied into the final stage');
    assert.match(final, new RegExp(`LD_LIBRARY_PATH=${libDir}\\b`), 'and are on LD_LIBRARY_PATH');
    assert.doesNotMatch(text, /nvidia\/cuda:|ONNXRUNTIME_NODE_INSTALL=/, 'no CUDA base image, no NuGet download');
    assert.match(final, /DEVICE=cuda/);
  });

  it('the GPU libraries: onnxruntime-gpu of the same version as onnxruntime-node, every wheel pinned by hash', () => {
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8'));
    const nodeOrt: string = lock.packages['node_modules/onnxruntime-node'].version;
    const reqs = readFileSync(path.join(repoRoot, 'scripts/gpu-wheels.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    assert.ok(reqs.length >= 6, 'provider + cudart, cublas, cudnn, cufft, curand');
    for (const r of reqs) assert.match(r, /^[\w-]+==[\w.]+ --hash=sha256:[0-9a-f]{64}$/, r);
    assert.ok(
      reqs.some((r) => r.startsWith(`onnxruntime-gpu==${nodeOrt} `)),
      `onnxruntime-gpu==${nodeOrt}`,
    );
    for (const pkg of ['nvidia-cuda-runtime', 'nvidia-cublas', 'nvidia-cudnn-', 'nvidia-cufft', 'nvidia-curand']) {
      assert.ok(
        reqs.some((r) => r.startsWith(pkg)),
        pkg,
      );
    }
  });

  it("the GPU image asks the container toolkit for the CUDA line of its libraries, the server's driver floor", () => {
    const { final } = stages('Dockerfile.gpu');
    const require = /NVIDIA_REQUIRE_CUDA=cuda>=(\d+\.\d+)/.exec(final)?.[1];
    assert.equal(require, cudaDriverFloor.cuda, 'NVIDIA_REQUIRE_CUDA = src/engine/onnx/cuda-driver-floor.ts');
    const runtime = readFileSync(path.join(repoRoot, 'scripts/gpu-wheels.txt'), 'utf8').match(
      /^nvidia-cuda-runtime==(\d+\.\d+)\./m,
    )?.[1];
    assert.equal(runtime, cudaDriverFloor.cuda, 'the pinned CUDA runtime wheel is of that line');
  });

  it('.dockerignore lets in what the gpu-libs stage runs, nothing of .cache', () => {
    const lines = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const needed of ['!scripts/gpu-wheels.txt', '!scripts/prepare-gpu-libs.sh']) assert.ok(lines.includes(needed));
    assert.ok(!lines.some((l) => l.startsWith('!.cache')));
  });

  it('.dockerignore keeps the context to what the image needs', () => {
    const lines = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    assert.equal(
      lines.find((l) => l && !l.startsWith('#')),
      '*',
      'allow-list: everything is excluded first',
    );
    for (const needed of ['!package.json', '!package-lock.json', '!src/', '!models/'])
      assert.ok(lines.includes(needed), needed);
    for (const never of ['!node_modules', '!dist', '!.git']) assert.ok(!lines.some((l) => l.startsWith(never)), never);
  });

  it("the Deployments run as the images' user and group", { skip: kubectlSkipReason() }, () => {
    for (const [file, target] of [
      ['Dockerfile', 'cpu'],
      ['Dockerfile.gpu', 'gpu'],
    ] as const) {
      const [uid, gid] = /^USER (\d+):(\d+)/m.exec(stages(file).final)!.slice(1);
      const sc = render(target).find((o) => o.kind === 'Deployment')!.spec.template.spec.securityContext;
      assert.equal(String(sc.runAsUser), uid, `${target}: runAsUser = ${file}'s`);
      assert.equal(String(sc.runAsGroup), gid, `${target}: runAsGroup = ${file}'s`);
    }
  });
});
