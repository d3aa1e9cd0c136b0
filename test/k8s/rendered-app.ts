// What the tests read from a rendered app overlay: the service's pod, its server container, the settings that
// container sees, and whatever scales it. Shared by the manifest tests.
import assert from 'node:assert/strict';
import { findAll, findOne, type K8sObject } from './kustomize.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

export function podSpec(objs: K8sObject[]): Any {
  return findOne(objs, 'Deployment', 'sentiment').spec.template.spec;
}
export function server(objs: K8sObject[]): Any {
  const c = podSpec(objs).containers.find((x: Any) => x.name === 'server');
  assert.ok(c, 'Deployment has a container named server');
  return c;
}
/** The server settings as the pod sees them: the referenced ConfigMap(s) plus explicit env. */
export function serverEnv(objs: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const src of server(objs).envFrom ?? []) {
    if (!src.configMapRef) continue;
    Object.assign(env, findOne(objs, 'ConfigMap', src.configMapRef.name).data);
  }
  for (const e of server(objs).env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  return env;
}
/** min/max replicas and target of whatever scales the Deployment: the HPA, or KEDA's ScaledObject. */
export function scaler(objs: K8sObject[]): { min: number; max: number; target: Any; metrics: string[] } {
  const hpa = findAll(objs, 'HorizontalPodAutoscaler');
  const so = findAll(objs, 'ScaledObject');
  assert.equal(hpa.length + so.length, 1, 'exactly one of HPA / KEDA ScaledObject scales the Deployment');
  if (hpa[0]) {
    const m: Any[] = hpa[0].spec.metrics;
    return {
      min: hpa[0].spec.minReplicas,
      max: hpa[0].spec.maxReplicas,
      target: hpa[0].spec.scaleTargetRef,
      metrics: m.map((x) =>
        x.type === 'Resource' ? x.resource.name : x.type === 'Pods' ? x.pods.metric.name : x.type,
      ),
    };
  }
  const spec = so[0]!.spec;
  return {
    min: spec.minReplicaCount,
    max: spec.maxReplicaCount,
    target: spec.scaleTargetRef,
    metrics: spec.triggers.map((t: Any) =>
      t.type === 'prometheus' ? /(sentiment_\w+)/.exec(t.metadata.query)?.[1] : t.type,
    ),
  };
}

/** The queue-depth target per pod of whatever scales the Deployment (HPA Pods metric or KEDA trigger), if any. */
export function queueTarget(objs: K8sObject[]): number | undefined {
  const hpa = findAll(objs, 'HorizontalPodAutoscaler')[0];
  const pods = (hpa?.spec.metrics as Any[] | undefined)?.find((m) => m.pods?.metric.name === 'sentiment_queue_depth');
  if (pods) return Number(pods.pods.target.averageValue);
  const so = findAll(objs, 'ScaledObject')[0];
  const trigger = (so?.spec.triggers as Any[] | undefined)?.find((t) =>
    /sentiment_queue_depth/.test(t.metadata?.query),
  );
  return trigger ? Number(trigger.metadata.threshold) : undefined;
}
