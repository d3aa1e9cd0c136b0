// The batch Job and CronJob (k8s/jobs): rendered with kubectl kustomize like the service's manifests, validated
// against the same schemas and the same unknown-field check, and checked against the CLI they run: their
// command is the built bin, and their flags parse with the CLI's own parser.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseBatchArgs } from '../../src/cli/batch-options.js';
import {
  findAll,
  findOne,
  kubectlSkipReason,
  parseQuantity,
  repoRoot,
  type K8sObject,
  renderDir,
} from './kustomize.js';
import { cliArgv, jobSpecs, validateAgainstSchema } from './job-specs.js';
import { schemaModules } from './schema-modules.js';
import { unknownFieldErrors } from './strict-fields.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

const jobsDir = 'k8s/jobs';

describe('kubernetes batch jobs (k8s/jobs)', { skip: kubectlSkipReason() }, () => {
  let objs: K8sObject[] = [];
  before(() => {
    objs = renderDir(jobsDir);
  });

  it('renders a Job and a CronJob, and every object validates against its schema', async (t) => {
    assert.equal(findAll(objs, 'Job').length, 1);
    assert.equal(findAll(objs, 'CronJob').length, 1);
    for (const obj of objs) await validateAgainstSchema(obj);
    t.diagnostic(
      `${objs.length} objects validated: ${objs
        .map((o) => o.kind)
        .sort()
        .join(', ')}`,
    );
  });

  it('has no unknown fields (strict: misspelt fields would be dropped by the API server)', () => {
    const errors = unknownFieldErrors(objs, schemaModules);
    assert.deepEqual(errors, [], errors.join('\n'));
  });

  it('everything is in the service namespace, with the project labels', () => {
    for (const o of objs) {
      assert.equal(o.metadata.namespace, 'sentiment', `${o.kind}/${o.metadata.name}`);
      assert.equal(o.metadata.labels?.['app.kubernetes.io/part-of'], 'sentiment-inference');
    }
  });

  it('bounds retries, run time and how long finished jobs are kept', () => {
    for (const [name, spec] of jobSpecs(objs)) {
      assert.ok(spec.backoffLimit >= 1 && spec.backoffLimit <= 6, `${name}: backoffLimit ${spec.backoffLimit}`);
      assert.ok(
        spec.activeDeadlineSeconds > 0 && spec.activeDeadlineSeconds <= 86_400,
        `${name}: activeDeadlineSeconds`,
      );
      assert.ok(spec.ttlSecondsAfterFinished > 0, `${name}: ttlSecondsAfterFinished`);
      assert.equal(spec.template.spec.restartPolicy, 'Never', `${name}: podFailurePolicy needs restartPolicy Never`);
      const rules: Any[] = spec.podFailurePolicy?.rules ?? [];
      assert.ok(
        rules.some(
          (r) => r.action === 'FailJob' && r.onExitCodes?.operator === 'In' && r.onExitCodes.values.includes(2),
        ),
        `${name}: bad usage (exit 2) fails the Job at once`,
      );
      assert.ok(
        rules.some((r) => r.action === 'Ignore' && r.onPodConditions?.some((c: Any) => c.type === 'DisruptionTarget')),
        `${name}: preemption is not counted as a failure`,
      );
      for (const rule of rules) {
        if (rule.onExitCodes?.containerName) {
          assert.ok(spec.template.spec.containers.some((c: Any) => c.name === rule.onExitCodes.containerName));
        }
      }
    }
    const cron = findOne(objs, 'CronJob');
    assert.match(cron.spec.schedule, /^\S+ \S+ \S+ \S+ \S+$/);
    assert.equal(cron.spec.concurrencyPolicy, 'Forbid');
    assert.ok(cron.spec.timeZone, 'the schedule names its time zone');
    assert.ok(cron.spec.jobTemplate.spec.activeDeadlineSeconds < 86_400, 'a run ends before the next one is due');
  });

  it('runs the built CLI with flags the CLI accepts, resuming, on files of the claim', () => {
    const bin = (
      JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    ).bin;
    for (const [name, spec] of jobSpecs(objs)) {
      const pod = spec.template.spec;
      const container = pod.containers.find((c: Any) => c.name === 'batch');
      assert.ok(container, `${name}: a container named batch`);
      const [script, ...args] = cliArgv(container);
      assert.equal(script, bin['sentiment-batch'], `${name}: runs the sentiment-batch bin`);
      const parsed = parseBatchArgs(args, {}, false);
      assert.equal(parsed.kind, 'run');
      if (parsed.kind !== 'run') continue;
      assert.equal(parsed.options.job.resume, true, `${name}: a retried pod continues where the last one stopped`);
      assert.equal(parsed.options.progress, 'lines', `${name}: progress as log lines`);
      const claim = pod.volumes.find((v: Any) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName;
      findOne(objs, 'PersistentVolumeClaim', claim);
      const mount = container.volumeMounts.find(
        (m: Any) => pod.volumes.find((v: Any) => v.name === m.name)?.persistentVolumeClaim,
      );
      for (const file of [parsed.options.job.input, parsed.options.job.output]) {
        assert.ok(file.startsWith(`${mount.mountPath}/`), `${name}: ${file} is on the claim (${mount.mountPath})`);
      }
      assert.notEqual(mount.readOnly, true, `${name}: the output is written to the claim`);
    }
  });

  it("runs nothing as root, with the Deployment's locked-down security context", () => {
    for (const [name, spec] of jobSpecs(objs)) {
      const pod = spec.template.spec;
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`);
      assert.ok(pod.securityContext?.runAsUser > 0, `${name}: non-zero uid`);
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
      assert.equal(pod.automountServiceAccountToken, false);
      assert.equal(findOne(objs, 'ServiceAccount', pod.serviceAccountName).automountServiceAccountToken, false);
      for (const c of pod.containers) {
        const sc = c.securityContext ?? {};
        assert.equal(sc.allowPrivilegeEscalation, false);
        assert.equal(sc.readOnlyRootFilesystem, true);
        assert.notEqual(sc.privileged, true);
        assert.deepEqual(sc.capabilities?.drop, ['ALL']);
        const tmp = c.volumeMounts.find((m: Any) => m.mountPath === '/tmp');
        assert.ok(pod.volumes.find((v: Any) => v.name === tmp?.name)?.emptyDir, `${name}: /tmp is an emptyDir`);
        assert.ok(
          c.image.includes('/') && /:[\w.-]+$/.test(c.image) && !c.image.endsWith(':latest'),
          `${name}: image ${c.image}`,
        );
      }
      const policy = findOne(objs, 'NetworkPolicy', 'sentiment-batch');
      assert.ok(
        Object.entries(policy.spec.podSelector.matchLabels).every(([k, v]) => spec.template.metadata.labels[k] === v),
      );
      assert.deepEqual([...policy.spec.policyTypes].sort(), ['Egress', 'Ingress']);
      assert.equal(policy.spec.ingress, undefined, 'no traffic in');
      assert.equal(policy.spec.egress, undefined, 'no traffic out');
    }
  });

  it('sets requests and limits; ONNX Runtime threads within the CPU limit', () => {
    for (const [name, spec] of jobSpecs(objs)) {
      const c = spec.template.spec.containers[0];
      for (const res of ['cpu', 'memory']) {
        assert.ok(
          parseQuantity(c.resources.requests[res]) <= parseQuantity(c.resources.limits[res]),
          `${name}: ${res}`,
        );
      }
      const threads = Number(c.env.find((e: Any) => e.name === 'INTRA_OP_THREADS')?.value);
      assert.ok(
        threads >= 1 && threads <= parseQuantity(c.resources.limits.cpu),
        `${name}: INTRA_OP_THREADS ${threads}`,
      );
      // Peak RSS of the CLI is ~210 MiB whatever the input (test/batch-job/bounded-memory.test.ts).
      assert.ok(parseQuantity(c.resources.limits.memory) >= 512 * 1024 ** 2, `${name}: memory limit`);
    }
  });

  // These need the service's manifests (branch deploy): they run once k8s/base and the overlays are here.
  const servicePresent = existsSync(path.join(repoRoot, 'k8s/base/kustomization.yaml'));
  const serviceSkip = servicePresent ? false : 'k8s/base is not on this branch';

  it('runs at the low PriorityClass the platform defines, which never preempts', { skip: serviceSkip }, () => {
    const classes = renderDir('k8s/platform').filter((o) => o.kind === 'PriorityClass');
    const online = findOne(classes, 'PriorityClass', 'sentiment-online');
    for (const [name, spec] of jobSpecs(objs)) {
      const batch = findOne(classes, 'PriorityClass', spec.template.spec.priorityClassName);
      assert.ok(batch.value < online.value, `${name}: ${batch.metadata.name} is below ${online.metadata.name}`);
      assert.equal(batch.preemptionPolicy, 'Never', `${name}: batch work waits for room instead of evicting`);
    }
  });

  it('runs the image the cpu overlay deploys', { skip: serviceSkip }, () => {
    const deployment = findOne(renderDir('k8s/overlays/cpu'), 'Deployment', 'sentiment');
    const image = deployment.spec.template.spec.containers.find((c: Any) => c.name === 'server').image;
    for (const [name, spec] of jobSpecs(objs)) assert.equal(spec.template.spec.containers[0].image, image, name);
  });
});
