// Renders the kustomize overlays with `kubectl kustomize` and loads the result. Shared by the k8s tests.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

// dist/test/k8s/kustomize.js -> repository root
export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Each test narrows what it reads; the schemas are checked separately.
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
  [key: string]: any;
}

/** The app: the three overlays, plus fixtures that add the optional components (namespaced objects only). */
export const appTargets = {
  cpu: 'k8s/overlays/cpu',
  gpu: 'k8s/overlays/gpu',
  inferentia: 'k8s/overlays/inferentia',
  'cpu+components': 'test/k8s/fixtures/cpu-all-components',
  'cpu+ingress': 'test/k8s/fixtures/cpu-ingress',
  'cpu+keda': 'test/k8s/fixtures/cpu-keda',
  'cpu+triton': 'test/k8s/fixtures/cpu-triton',
  'gpu+triton': 'test/k8s/fixtures/gpu-triton',
} as const;
/** The platform's cluster-scoped and cross-namespace objects, applied once per cluster. */
export const platformTargets = {
  platform: 'k8s/platform',
  'platform+internal-nlb': 'test/k8s/fixtures/platform-internal-nlb',
  'platform/karpenter/gpu': 'k8s/platform/karpenter/gpu',
  'platform/karpenter/inferentia': 'k8s/platform/karpenter/inferentia',
} as const;
/** What gets rendered. */
export const renderTargets = { ...appTargets, ...platformTargets } as const;
export type AppTarget = keyof typeof appTargets;
export type RenderTarget = keyof typeof renderTargets;

const KUBECTL = process.env.KUBECTL ?? 'kubectl';

/**
 * kubectl is a hard requirement: without it nothing here is checked, and a green run would be a lie.
 * SKIP_K8S_TESTS=1 is the explicit, visible opt-out (the tests then report as skipped).
 */
export function kubectlSkipReason(): string | false {
  if (process.env.SKIP_K8S_TESTS === '1') return 'SKIP_K8S_TESTS=1: Kubernetes manifest tests skipped on request';
  return false;
}

const cache = new Map<string, K8sObject[]>();

export function render(target: RenderTarget): K8sObject[] {
  const cached = cache.get(target);
  if (cached) return cached;
  const objects = renderDir(renderTargets[target]);
  cache.set(target, objects);
  return objects;
}

/** Any kustomization directory (relative to the repository root), rendered and parsed. */
export function renderDir(relativeDir: string): K8sObject[] {
  const dir = path.join(repoRoot, relativeDir);
  const res = spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.error) {
    const code = (res.error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `'${KUBECTL}' not found: the Kubernetes manifest tests need kubectl (>= 1.27, for 'kubectl kustomize'). ` +
            'Install it, point KUBECTL at it, or set SKIP_K8S_TESTS=1 to skip these tests explicitly.'
        : `running ${KUBECTL} kustomize ${dir}: ${res.error.message}`,
    );
  }
  if (res.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (exit ${res.status}):\n${res.stderr}`);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(res.stdout)) {
    if (doc.errors.length > 0) throw new Error(`YAML error in rendered ${relativeDir}: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj) objects.push(obj);
  }
  return objects;
}

/**
 * Every kustomization in the repository that renders on its own (k8s/ and the test fixtures; not the components),
 * relative to the repository root: what a check of "every pod template" must walk, including directories added later.
 */
export function kustomizationDirs(): string[] {
  const dirs: string[] = [];
  for (const top of ['k8s', 'test/k8s/fixtures']) {
    for (const entry of readdirSync(path.join(repoRoot, top), { recursive: true, encoding: 'utf8' })) {
      if (path.basename(entry) !== 'kustomization.yaml') continue;
      const file = path.join(repoRoot, top, entry);
      if ((parse(readFileSync(file, 'utf8')) as { kind?: string }).kind === 'Component') continue;
      dirs.push(path.join(top, path.dirname(entry)));
    }
  }
  return dirs.sort();
}

export function findAll(objs: K8sObject[], kind: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind);
}

export function findOne(objs: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  }
  return found[0]!;
}

/** matchLabels semantics: every selector pair is present in labels (an empty selector matches everything). */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Kubernetes quantities used here: plain/milli CPU, binary/decimal byte suffixes. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`unsupported quantity ${q}`);
  const n = Number(m[1]);
  const mult: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return m[2] ? n * mult[m[2]]! : n;
}

/** nginx size syntax used by proxy-body-size: 1m, 512k, 1048576. */
export function parseNginxSize(s: string): number {
  const m = /^(\d+)([kKmMgG])?$/.exec(s);
  if (!m) throw new Error(`unsupported nginx size ${s}`);
  const unit = (m[2] ?? '').toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
}
