// Capacity: the queue-depth scaling target of each overlay follows from its batch settings, the on-demand floor of
// the accelerator pools survives rollouts and node disruption, and docs/BATCH.md says what the PriorityClasses do.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { settings } from '../../src/config/config.js';
import {
  appTargets,
  type AppTarget,
  findAll,
  findOne,
  type K8sObject,
  kubectlSkipReason,
  render,
  repoRoot,
} from './kustomize.js';
import { rolloutOutcome } from './rollout-model.js';
import { podSpec, queueTarget, scaler, serverEnv } from './rendered-app.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

const defaultOf = (env: string): string | undefined => settings.find((s) => s.env === env)?.defaultValue;

const accelerators = [
  { target: 'gpu', platform: 'platform/karpenter/gpu', resource: 'nvidia.com/gpu' },
  { target: 'inferentia', platform: 'platform/karpenter/inferentia', resource: 'aws.amazon.com/neuron' },
] as const;

function capacityType(pool: K8sObject): string[] {
  return pool.spec.template.spec.requirements.find((r: Any) => r.key === 'karpenter.sh/capacity-type')?.values ?? [];
}
/** Karpenter durations as written here: 30s, 10m, 1h. */
function seconds(duration: string): number {
  const m = /^(\d+)([smh])$/.exec(duration);
  assert.ok(m, `duration ${duration}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

describe('capacity: scaling targets, the on-demand floor, batch priority', { skip: kubectlSkipReason() }, () => {
  for (const target of Object.keys(appTargets) as AppTarget[]) {
    it(`${target}: scales on the queue at ENGINE_INSTANCES × MAX_BATCH_SIZE texts waiting per pod`, () => {
      const objs = render(target);
      const wanted = queueTarget(objs);
      if (wanted === undefined) return; // CPU-only scaling (the cpu overlay without a queue component)
      const env = serverEnv(objs);
      const instances = Number(env.ENGINE_INSTANCES ?? defaultOf('ENGINE_INSTANCES'));
      const batch = Number(env.MAX_BATCH_SIZE ?? defaultOf('MAX_BATCH_SIZE'));
      assert.ok(Number.isInteger(instances), `ENGINE_INSTANCES is a number where the queue scales (${instances})`);
      assert.equal(wanted, instances * batch, `queue target = ${instances} × ${batch}`);
    });
  }

  it('the accelerator overlays scale on the queue (the CPU alone would never scale them out)', () => {
    for (const { target } of accelerators) assert.ok(queueTarget(render(target)), target);
  });

  for (const { target, platform, resource } of accelerators) {
    describe(`${target}: the on-demand floor`, () => {
      const floorPool = (): K8sObject => {
        const floor = findAll(render(platform), 'NodePool').filter((p) => capacityType(p).join() === 'on-demand');
        assert.equal(floor.length, 1);
        return floor[0]!;
      };

      it('rollouts replace each pod on the device its predecessor frees (no surge beyond the running set)', () => {
        const update = findOne(render(target), 'Deployment', 'sentiment').spec.strategy.rollingUpdate;
        assert.equal(String(update.maxSurge), '0');
        assert.equal(String(update.maxUnavailable), '1');
      });

      it('a rollout at minReplicas ends with the floor still full of pods (rollout model on the rendered settings)', () => {
        const objs = render(target);
        const update = findOne(objs, 'Deployment', 'sentiment').spec.strategy.rollingUpdate;
        // The device may sit on a sidecar (Triton holds the NeuronCore on inferentia), so count the whole pod.
        const spec = podSpec(objs);
        const perPod = [...(spec.initContainers ?? []), ...spec.containers]
          .map((c: Any) => Number(c.resources?.limits?.[resource] ?? 0))
          .reduce((a: number, b: number) => a + b, 0);
        assert.ok(perPod > 0, `${target}: a container of the pod holds ${resource}`);
        const pools = findAll(render(platform), 'NodePool').map((p) => ({
          name: p.metadata.name,
          weight: p.spec.weight ?? 0,
          deviceLimit: Number(p.spec.limits[resource]) / perPod,
        }));
        const floor = floorPool();
        const min = scaler(objs).min;
        for (const replicas of [min, min + 1, min + 3]) {
          const outcome = rolloutOutcome({
            replicas,
            maxSurge: Number(update.maxSurge),
            maxUnavailable: Number(update.maxUnavailable),
            pools,
          });
          assert.equal(outcome[floor.metadata.name], min, `${replicas} replicas: ${JSON.stringify(outcome)}`);
        }
        // The model is not vacuous: with a surge pod, the floor erodes at minReplicas (the rollout before this fix).
        const surged = rolloutOutcome({ replicas: min, maxSurge: 1, maxUnavailable: 0, pools });
        assert.ok(surged[floor.metadata.name]! < min, JSON.stringify(surged));
      });

      it('Karpenter keeps the floor: no expiry (it ignores budgets), one node disrupted at a time, kept while it serves', () => {
        const floor = floorPool();
        const min = scaler(render(target)).min;
        assert.equal(floor.spec.template.spec.expireAfter, 'Never');
        assert.equal(floor.spec.disruption.consolidationPolicy, 'WhenEmpty');
        const budgets: Any[] = floor.spec.disruption.budgets;
        assert.ok(budgets.length > 0 && budgets.every((b) => Number(b.nodes) >= 0 && Number(b.nodes) < min));
        // A node emptied by a rollout step is refilled at once; consolidation waits far longer than a pod's drain.
        const grace = podSpec(render(target)).terminationGracePeriodSeconds;
        assert.ok(seconds(floor.spec.disruption.consolidateAfter) > 10 * grace);
      });

      it('the PDB leaves an on-demand replica serving while one floor node drains', () => {
        const pdb = findOne(render(target), 'PodDisruptionBudget', 'sentiment');
        assert.ok(Number(pdb.spec.maxUnavailable) < scaler(render(target)).min);
      });
    });
  }

  it('docs/BATCH.md says what the PriorityClasses do: online inference does not preempt batch pods', () => {
    const online = findOne(render('platform'), 'PriorityClass', 'sentiment-online');
    const doc = readFileSync(path.join(repoRoot, 'docs/BATCH.md'), 'utf8');
    if (online.preemptionPolicy === 'Never') {
      assert.doesNotMatch(doc, /first to go|preempted by online|online inference (evicts|preempts)/i);
      assert.match(doc, /Online inference does not evict them/);
      const job = readFileSync(path.join(repoRoot, 'k8s/jobs/job.yaml'), 'utf8');
      assert.doesNotMatch(job, /[Pp]reempted by online/);
    }
  });
});
