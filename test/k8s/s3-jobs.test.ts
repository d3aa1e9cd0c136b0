// The sharded batch jobs on object storage (k8s/jobs/s3): an Indexed Job and its CronJob variant, rendered and
// validated like k8s/jobs, and checked against the CLI: flags it accepts, one shard per index (SHARD_COUNT equal
// to completions), the exit codes its pod failure policy reads, an IRSA identity, egress to S3 only.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { exitCodes } from '../../src/batch-job/batch-job.js';
import { parseBatchArgs, shardCountEnv, shardIndexEnv } from '../../src/cli/batch-options.js';
import { cliArgv, jobSpecs, validateAgainstSchema } from './job-specs.js';
import { findAll, findOne, kubectlSkipReason, type K8sObject, renderDir, repoRoot } from './kustomize.js';
import { schemaModules } from './schema-modules.js';
import { unknownFieldErrors } from './strict-fields.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

describe('kubernetes sharded batch jobs on object storage (k8s/jobs/s3)', { skip: kubectlSkipReason() }, () => {
  let objs: K8sObject[] = [];
  before(() => {
    objs = renderDir('k8s/jobs/s3');
  });

  it('renders an Indexed Job, a CronJob, their ServiceAccount and NetworkPolicy, all valid and strict', async () => {
    assert.deepEqual(objs.map((o) => o.kind).sort(), ['CronJob', 'Job', 'NetworkPolicy', 'ServiceAccount']);
    for (const obj of objs) await validateAgainstSchema(obj);
    const errors = unknownFieldErrors(objs, schemaModules);
    assert.deepEqual(errors, [], errors.join('\n'));
    for (const o of objs) assert.equal(o.metadata.namespace, 'sentiment');
  });

  it('one shard per index: Indexed, SHARD_COUNT = completions, and the CLI parses the flags into that shard', () => {
    const bin = (
      JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    ).bin['sentiment-batch'];
    for (const [name, spec] of jobSpecs(objs)) {
      assert.equal(spec.completionMode, 'Indexed', name);
      assert.ok(spec.parallelism >= 1 && spec.parallelism <= spec.completions, name);
      const container = spec.template.spec.containers.find((c: Any) => c.name === 'batch');
      const count = container.env.find((e: Any) => e.name === shardCountEnv)?.value;
      assert.equal(Number(count), spec.completions, `${name}: ${shardCountEnv} is the Job's completions`);
      const [script, ...args] = cliArgv(container);
      assert.equal(script, bin, name);
      const last = spec.completions - 1;
      const parsed = parseBatchArgs(args, { [shardIndexEnv]: String(last), [shardCountEnv]: count }, false);
      assert.equal(parsed.kind, 'run');
      if (parsed.kind !== 'run') continue;
      assert.deepEqual(parsed.options.job.shard, { index: last, count: spec.completions }, name);
      assert.match(parsed.options.job.input, /^s3:\/\//);
      assert.match(parsed.options.job.output, /^s3:\/\/.*\/$/);
      assert.equal(parsed.options.progress, 'lines');
    }
  });

  it('retries per index; bad usage fails the Job, unusable data fails the index, preemption is ignored', () => {
    for (const [name, spec] of jobSpecs(objs)) {
      assert.ok(spec.backoffLimitPerIndex >= 1 && spec.backoffLimitPerIndex <= 6, name);
      assert.ok(spec.maxFailedIndexes >= 0 && spec.maxFailedIndexes < spec.completions, name);
      assert.equal(spec.template.spec.restartPolicy, 'Never');
      const rules: Any[] = spec.podFailurePolicy.rules;
      const onExit = (action: string) =>
        rules.find((r) => r.action === action && r.onExitCodes?.containerName === 'batch')?.onExitCodes.values;
      assert.deepEqual(onExit('FailJob'), [exitCodes.usage], name);
      assert.deepEqual(onExit('FailIndex'), [exitCodes.unusableData], name);
      assert.ok(rules.some((r) => r.action === 'Ignore' && r.onPodConditions?.[0]?.type === 'DisruptionTarget'));
      assert.ok(spec.activeDeadlineSeconds > 0 && spec.ttlSecondsAfterFinished > 0, name);
      assert.equal(spec.template.spec.nodeSelector?.['kubernetes.io/arch'], 'amd64', `${name}: the image is amd64`);
    }
  });

  it('runs as the IRSA service account, locked down, with egress to DNS and HTTPS outside the cluster only', () => {
    const account = findOne(objs, 'ServiceAccount', 'sentiment-batch-s3');
    assert.match(account.metadata.annotations?.['eks.amazonaws.com/role-arn'] ?? '', /^arn:aws:iam::\d{12}:role\//);
    assert.equal(account.automountServiceAccountToken, false);
    const policy = findOne(objs, 'NetworkPolicy', 'sentiment-batch-s3');
    for (const [name, spec] of jobSpecs(objs)) {
      const pod = spec.template.spec;
      assert.equal(pod.serviceAccountName, account.metadata.name, name);
      assert.equal(pod.automountServiceAccountToken, false);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      const c = pod.containers[0];
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
      assert.ok(
        Object.entries(policy.spec.podSelector.matchLabels).every(([k, v]) => spec.template.metadata.labels[k] === v),
        `${name}: the NetworkPolicy selects its pods`,
      );
    }
    assert.deepEqual([...policy.spec.policyTypes].sort(), ['Egress', 'Ingress']);
    assert.equal(policy.spec.ingress, undefined, 'no traffic in');
    const https = policy.spec.egress.find((r: Any) => r.ports.some((p: Any) => p.port === 443));
    assert.equal(https.to[0].ipBlock.cidr, '0.0.0.0/0');
    assert.ok(https.to[0].ipBlock.except.includes('169.254.0.0/16'), 'not the instance metadata service');
    assert.ok(https.to[0].ipBlock.except.includes('10.0.0.0/8'), 'not the cluster');
    assert.ok(
      policy.spec.egress.some((r: Any) => r.ports.some((p: Any) => p.port === 53)),
      'DNS',
    );
    assert.equal(findAll(objs, 'PersistentVolumeClaim').length, 0, 'no volume: object storage in and out');
  });
});
