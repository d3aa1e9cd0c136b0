// Architecture: the images are built for linux/amd64 (the CUDA one can be nothing else), so every pod template and
// every NodePool rendered anywhere in the repository (every overlay, k8s/jobs, the platform, the fixtures, and any
// kustomization added later: the walk finds them) must keep those pods on amd64 nodes. The CPU image alone may also
// allow arm64 (k8s/components/cpu-multi-arch), and its Dockerfile and lock file must make that build possible.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { findAll, type K8sObject, kubectlSkipReason, kustomizationDirs, renderDir, repoRoot } from './kustomize.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

const archLabel = 'kubernetes.io/arch';
/** Where each image can run: the CPU image builds for arm64 too (k8s/README.md "Architectures"); anything else amd64. */
const cpuImage = /\/sentiment-inference(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/;
const architecturesOf = (image: string): string[] => (cpuImage.test(image) ? ['amd64', 'arm64'] : ['amd64']);

/** Every pod spec an object creates, named: workloads' templates, CronJobs' job templates, bare Pods. */
function podSpecs(obj: K8sObject): [string, Any][] {
  const name = `${obj.kind}/${obj.metadata.name}`;
  if (obj.kind === 'Pod') return [[name, obj.spec]];
  if (obj.kind === 'CronJob') return [[name, obj.spec.jobTemplate.spec.template.spec]];
  if (obj.spec?.template?.spec?.containers) return [[name, obj.spec.template.spec]];
  return [];
}

/** The architectures a pod spec allows (nodeSelector, or the required node affinity); undefined when unpinned. */
function allowedArchitectures(spec: Any): string[] | undefined {
  const selected = spec.nodeSelector?.[archLabel];
  const terms: Any[] =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const perTerm = terms.map(
    (t) => (t.matchExpressions ?? []).find((e: Any) => e.key === archLabel && e.operator === 'In')?.values as string[],
  );
  // Terms are ORed: every one must pin the architecture, else some node of any architecture may match.
  const fromAffinity = perTerm.length > 0 && perTerm.every(Boolean) ? [...new Set(perTerm.flat())] : undefined;
  if (selected && fromAffinity) return fromAffinity.includes(selected) ? [selected] : [];
  return selected ? [selected] : fromAffinity;
}

describe('architecture pins (every rendered pod template and NodePool)', { skip: kubectlSkipReason() }, () => {
  const rendered = new Map<string, K8sObject[]>();
  before(() => {
    // k8s/base is never applied on its own (an overlay adds the images' registry, tag and architecture).
    for (const dir of kustomizationDirs()) if (dir !== 'k8s/base') rendered.set(dir, renderDir(dir));
  });

  it('walks every kustomization, the overlays, the jobs and the platform among them', (t) => {
    const dirs = [...rendered.keys()];
    for (const known of ['k8s/overlays/cpu', 'k8s/overlays/gpu', 'k8s/overlays/inferentia', 'k8s/jobs', 'k8s/platform'])
      assert.ok(dirs.includes(known), known);
    t.diagnostic(`${dirs.length} kustomizations: ${dirs.join(', ')}`);
  });

  it('every pod template requires an architecture that all of its images are built for', () => {
    let pods = 0;
    for (const [dir, objs] of rendered) {
      for (const obj of objs) {
        for (const [name, spec] of podSpecs(obj)) {
          pods++;
          const allowed = allowedArchitectures(spec);
          assert.ok(allowed && allowed.length > 0, `${dir}: ${name} does not require ${archLabel}`);
          const images: string[] = [...(spec.initContainers ?? []), ...spec.containers].map((c: Any) => c.image);
          for (const image of images)
            for (const arch of allowed)
              assert.ok(
                architecturesOf(image).includes(arch),
                `${dir}: ${name} allows ${arch}, but ${image} is not built for it`,
              );
        }
      }
    }
    assert.ok(pods >= 6, `${pods} pod templates checked`);
  });

  it('every NodePool requires amd64 nodes (the pools serve the amd64-only accelerator images)', () => {
    let pools = 0;
    for (const [dir, objs] of rendered) {
      for (const pool of findAll(objs, 'NodePool')) {
        pools++;
        const arch = (pool.spec.template.spec.requirements as Any[]).find((r) => r.key === archLabel);
        assert.deepEqual([arch?.operator, arch?.values], ['In', ['amd64']], `${dir}: NodePool/${pool.metadata.name}`);
      }
    }
    assert.ok(pools >= 4, `${pools} NodePools checked`);
  });

  it('the default pins amd64; only cpu-multi-arch widens it, for the CPU image, to arm64', () => {
    const pinned = (dir: string): string[] | undefined =>
      allowedArchitectures(rendered.get(dir)!.find((o) => o.kind === 'Deployment')!.spec.template.spec);
    for (const overlay of ['cpu', 'gpu', 'inferentia']) assert.deepEqual(pinned(`k8s/overlays/${overlay}`), ['amd64']);
    assert.deepEqual(pinned('test/k8s/fixtures/cpu-multi-arch'), ['amd64', 'arm64']);
  });
});

describe('a multi-arch CPU image can be built (podman build --platform / docker buildx)', () => {
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');

  it('the CPU Dockerfile names no architecture: it keeps the ONNX Runtime binaries of the one it builds for', () => {
    assert.doesNotMatch(dockerfile, /\bx64\b|amd64|x86_64|arm64|aarch64/);
    assert.match(dockerfile, /arch="\$\(node -p process\.arch\)"/);
    assert.match(dockerfile, /linux\/\$\{arch\}\/onnxruntime_binding\.node/);
  });

  it('the lock file holds the arm64 build of every production native package it holds for x64', () => {
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const x64 = Object.entries(lock.packages).filter(([name, p]) => /linux-x64$/.test(name) && !p.dev);
    assert.ok(x64.length > 0, 'there are native packages to check');
    for (const [name] of x64) assert.ok(lock.packages[name.replace(/x64$/, 'arm64')], `${name} has an arm64 twin`);
  });

  it('onnxruntime-node ships its linux/arm64 binding inside the npm package', () => {
    const dir = path.join(repoRoot, 'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64');
    assert.ok(readFileSync(path.join(dir, 'onnxruntime_binding.node')).length > 0);
  });

  it('the GPU Dockerfile is amd64 only, which is why its pods stay pinned', () => {
    assert.match(readFileSync(path.join(repoRoot, 'Dockerfile.gpu'), 'utf8'), /linux\/x64\//);
  });
});
