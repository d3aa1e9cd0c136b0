// A small model of a Deployment rollout on Karpenter pools of one-device nodes, to check that the rendered rollout
// settings keep the on-demand floor: the Deployment controller (maxSurge / maxUnavailable), the scheduler (a pod
// binds to a free device on a node that exists before any new node is ready), Karpenter (a pod still pending
// launches a node from the heaviest pool with room under its device limit, ready a few steps later) and the floor's
// WhenEmpty consolidation (a node still empty after the rollout is removed). It counts what decides the outcome,
// not timings: a terminating pod frees its device one step later, a new node is ready three steps later.

export interface Pool {
  name: string;
  weight: number;
  deviceLimit: number;
}
export interface RolloutInput {
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
  pools: Pool[];
}
interface Node {
  pool: string;
  readyAt: number;
  pod?: Pod;
}
interface Pod {
  version: 'old' | 'new';
  state: 'pending' | 'starting' | 'ready' | 'terminating';
  node?: Node;
  changedAt: number;
}

const nodeLaunchSteps = 3;

/** Pods per pool once the rollout has finished and emptied nodes are gone. */
export function rolloutOutcome(input: RolloutInput): Record<string, number> {
  const byWeight = [...input.pools].sort((a, b) => b.weight - a.weight);
  const nodes: Node[] = [];
  const pods: Pod[] = [];
  // Before: the HPA's replicas fill the heaviest pools first, as Karpenter launched them.
  for (let i = 0; i < input.replicas; i++) {
    const pool = byWeight.find((p) => nodes.filter((n) => n.pool === p.name).length < p.deviceLimit)!;
    const pod: Pod = { version: 'old', state: 'ready', changedAt: 0 };
    const node: Node = { pool: pool.name, readyAt: 0, pod };
    pod.node = node;
    nodes.push(node);
    pods.push(pod);
  }
  for (let step = 1; step < 200; step++) {
    for (const pod of pods.filter((p) => p.state === 'terminating' && p.changedAt < step)) {
      if (pod.node) pod.node.pod = undefined;
      pods.splice(pods.indexOf(pod), 1);
    }
    for (const pod of pods.filter((p) => p.state === 'starting' && p.changedAt < step)) pod.state = 'ready';
    const live = pods.filter((p) => p.state !== 'terminating');
    const newPods = live.filter((p) => p.version === 'new');
    const oldPods = live.filter((p) => p.version === 'old');
    if (oldPods.length === 0 && newPods.length === input.replicas && newPods.every((p) => p.state === 'ready')) break;
    for (let n = newPods.length; n < input.replicas && live.length < input.replicas + input.maxSurge; n++) {
      const pod: Pod = { version: 'new', state: 'pending', changedAt: step };
      pods.push(pod);
      live.push(pod);
    }
    const ready = (): number => pods.filter((p) => p.state === 'ready').length;
    for (const old of oldPods) {
      if (ready() - (old.state === 'ready' ? 1 : 0) < input.replicas - input.maxUnavailable) break;
      old.state = 'terminating';
      old.changedAt = step;
    }
    for (const pod of pods.filter((p) => p.state === 'pending')) {
      const free = nodes.find((n) => !n.pod && n.readyAt <= step);
      if (free) {
        free.pod = pod;
        pod.node = free;
        pod.state = 'starting';
        pod.changedAt = step;
      } else if (!nodes.some((n) => !n.pod && n.readyAt > step)) {
        const pool = byWeight.find((p) => nodes.filter((n) => n.pool === p.name).length < p.deviceLimit);
        if (pool) nodes.push({ pool: pool.name, readyAt: step + nodeLaunchSteps });
      }
    }
  }
  const outcome: Record<string, number> = Object.fromEntries(input.pools.map((p) => [p.name, 0]));
  for (const node of nodes) if (node.pod) outcome[node.pool]!++;
  return outcome;
}
