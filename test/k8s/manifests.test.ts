// Renders every overlay with `kubectl kustomize`, validates every object against the Kubernetes and CRD
// schemas, and checks the wiring between objects and against the server contract.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  render, renderTargets, findAll, findOne, selects, parseQuantity, parseNginxSize, kubectlSkipReason,
  type K8sObject, type RenderTarget,
} from './kustomize.js';
import { serverContract } from './server-contract.js';
import { unknownFieldErrors } from './strict-fields.js';

const skip = kubectlSkipReason();
const targets = Object.keys(renderTargets) as RenderTarget[];

// apiVersion -> module prefix of the package holding its schemas. Anything else fails: an object we
// cannot validate is an object we do not ship.
const schemaModules: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'scheduling.k8s.io/v1': 'kubernetes-models/scheduling.k8s.io/v1',
  'karpenter.sh/v1': '@kubernetes-models/karpenter/karpenter.sh/v1',
  'karpenter.k8s.aws/v1': '@kubernetes-models/karpenter/karpenter.k8s.aws/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};
const clusterScoped = new Set(['Namespace', 'PriorityClass', 'NodePool', 'EC2NodeClass']);

async function validateAgainstSchema(obj: K8sObject): Promise<void> {
  const prefix = schemaModules[obj.apiVersion];
  assert.ok(prefix, `${obj.kind}/${obj.metadata.name}: no schema package for apiVersion ${obj.apiVersion}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`${prefix}/${obj.kind}`)) as Record<string, unknown>;
  } catch {
    assert.fail(`${obj.kind}/${obj.metadata.name}: ${prefix} has no kind ${obj.kind}`);
  }
  const Model = mod[obj.kind] as new (data: unknown) => { validate(): void };
  assert.equal(typeof Model, 'function', `${prefix}/${obj.kind} exports no model`);
  try {
    new Model(obj).validate();
  } catch (err) {
    assert.fail(`${obj.kind}/${obj.metadata.name} (${obj.apiVersion}) is invalid: ${(err as Error).message}`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function podSpec(objs: K8sObject[]): Any {
  return findOne(objs, 'Deployment', 'sentiment').spec.template.spec;
}
function server(objs: K8sObject[]): Any {
  const c = podSpec(objs).containers.find((x: Any) => x.name === 'server');
  assert.ok(c, 'Deployment has a container named server');
  return c;
}
/** The server settings as the pod sees them: the referenced ConfigMap(s) plus explicit env. */
function serverEnv(objs: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const src of server(objs).envFrom ?? []) {
    if (!src.configMapRef) continue;
    Object.assign(env, findOne(objs, 'ConfigMap', src.configMapRef.name).data);
  }
  for (const e of server(objs).env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  return env;
}
function containerPort(objs: K8sObject[], port: string | number): number {
  const ports: Any[] = server(objs).ports ?? [];
  const p = typeof port === 'number' ? ports.find((x) => x.containerPort === port) : ports.find((x) => x.name === port);
  assert.ok(p, `port ${port} is declared on the server container`);
  return p.containerPort;
}
function allContainers(spec: Any): Any[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}
function nodePools(objs: K8sObject[]): K8sObject[] {
  return findAll(objs, 'NodePool');
}

describe('kubernetes manifests', { skip }, () => {
  for (const target of targets) {
    describe(`${target} (${renderTargets[target]})`, () => {
      let objs: K8sObject[] = [];
      before(() => {
        objs = render(target);
      });

      it('renders and every object validates against its schema', async (t) => {
        assert.ok(objs.length > 0);
        for (const obj of objs) await validateAgainstSchema(obj);
        const kinds = objs.map((o) => o.kind).sort().join(', ');
        t.diagnostic(`${target}: ${objs.length} objects validated: ${kinds}`);
      });

      it('has no unknown fields (strict: misspelt fields would be dropped by the API server)', () => {
        const errors = unknownFieldErrors(objs, schemaModules);
        assert.deepEqual(errors, [], errors.join('\n'));
      });

      it('has unique names and the right namespaces', () => {
        const seen = new Set<string>();
        for (const o of objs) {
          const key = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
          assert.ok(!seen.has(key), `duplicate ${key}`);
          seen.add(key);
          if (clusterScoped.has(o.kind)) {
            assert.equal(o.metadata.namespace, undefined, `cluster-scoped ${o.kind}/${o.metadata.name} has a namespace`);
          } else {
            assert.ok(o.metadata.namespace, `${o.kind}/${o.metadata.name} has no namespace`);
          }
        }
      });

      it('uses only current API versions (Karpenter v1, no v1alpha5 Provisioner)', () => {
        for (const o of objs) {
          assert.notEqual(o.kind, 'Provisioner', 'karpenter.sh/v1alpha5 Provisioner is gone; use NodePool');
          assert.ok(!/v1alpha5|v1beta1/.test(o.apiVersion), `${o.kind} uses ${o.apiVersion}`);
        }
      });

      it('pins images by tag and never uses :latest', () => {
        const spec = podSpec(objs);
        for (const c of allContainers(spec)) {
          const image: string = c.image;
          const afterSlash = image.slice(image.lastIndexOf('/') + 1);
          assert.ok(afterSlash.includes(':') || image.includes('@sha256:'), `${c.name}: image ${image} has no tag`);
          assert.ok(!/:latest$/.test(image), `${c.name}: image ${image} uses :latest`);
          assert.ok(image.includes('/'), `${c.name}: image ${image} has no registry (set it in the overlay's images:)`);
        }
      });

      it('runs nothing as root, with a locked-down security context', () => {
        const spec = podSpec(objs);
        assert.equal(spec.securityContext?.runAsNonRoot, true, 'pod runAsNonRoot');
        assert.ok(spec.securityContext?.runAsUser > 0, 'pod runAsUser is a non-zero uid');
        assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault');
        assert.equal(spec.automountServiceAccountToken, false, 'pod automountServiceAccountToken');
        assert.notEqual(spec.hostNetwork, true);
        assert.notEqual(spec.hostPID, true);
        for (const c of allContainers(spec)) {
          const sc = c.securityContext ?? {};
          assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}: allowPrivilegeEscalation`);
          assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}: readOnlyRootFilesystem`);
          assert.notEqual(sc.privileged, true, `${c.name}: privileged`);
          assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${c.name}: drops all capabilities`);
          assert.equal(sc.capabilities?.add, undefined, `${c.name}: adds no capability`);
          assert.notEqual(sc.runAsUser, 0, `${c.name}: runAsUser 0`);
        }
        // The read-only root needs a writable scratch dir: /tmp on an emptyDir.
        const tmp = server(objs).volumeMounts?.find((m: Any) => m.mountPath === '/tmp');
        assert.ok(tmp, '/tmp is mounted');
        assert.ok(spec.volumes.find((v: Any) => v.name === tmp.name)?.emptyDir, '/tmp is an emptyDir');
        const sa = findOne(objs, 'ServiceAccount', spec.serviceAccountName);
        assert.equal(sa.automountServiceAccountToken, false, 'ServiceAccount automountServiceAccountToken');
        const ns = findOne(objs, 'Namespace', 'sentiment');
        assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
      });

      it('probes hit real server routes on the server port', () => {
        const c = server(objs);
        const env = serverEnv(objs);
        const port = Number(env.PORT ?? serverContract.defaultPort);
        assert.equal(containerPort(objs, 'http'), port, 'containerPort http equals the server PORT');
        const probes = { livenessProbe: serverContract.livenessPath, readinessProbe: serverContract.readinessPath };
        for (const [probe, expected] of Object.entries(probes)) {
          assert.equal(c[probe]?.httpGet?.path, expected, `${probe} path`);
        }
        assert.ok(c.startupProbe?.httpGet, 'startupProbe is set');
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          const get = c[probe].httpGet;
          assert.ok((serverContract.routes.GET as readonly string[]).includes(get.path), `${probe} path ${get.path} is a GET route`);
          assert.equal(containerPort(objs, get.port), port, `${probe} port`);
        }
      });

      it('drains within terminationGracePeriodSeconds', () => {
        const spec = podSpec(objs);
        const env = serverEnv(objs);
        const preStop = server(objs).lifecycle?.preStop;
        assert.ok(preStop, 'preStop hook is set (lets endpoints/Ingress stop routing before SIGTERM)');
        const preStopSeconds = preStop.sleep?.seconds ?? 0;
        assert.ok(preStopSeconds > 0, 'preStop waits');
        const shutdownS = Number(env.SHUTDOWN_TIMEOUT_MS ?? serverContract.defaults.SHUTDOWN_TIMEOUT_MS) / 1000;
        assert.ok(
          spec.terminationGracePeriodSeconds > preStopSeconds + shutdownS,
          `terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} > preStop ${preStopSeconds} + drain ${shutdownS}`,
        );
      });

      it('sets requests and limits, threads within the CPU limit', () => {
        const r = server(objs).resources;
        for (const res of ['cpu', 'memory']) {
          assert.ok(r?.requests?.[res], `requests.${res}`);
          assert.ok(r?.limits?.[res], `limits.${res}`);
          assert.ok(parseQuantity(r.requests[res]) <= parseQuantity(r.limits[res]), `${res} request <= limit`);
        }
        const env = serverEnv(objs);
        assert.ok(Number(env.INTRA_OP_THREADS) >= 1);
        assert.ok(
          Number(env.INTRA_OP_THREADS) <= parseQuantity(r.limits.cpu),
          `INTRA_OP_THREADS ${env.INTRA_OP_THREADS} <= cpu limit ${r.limits.cpu}`,
        );
      });

      it('configures the server only with settings it knows', () => {
        const env = serverEnv(objs);
        for (const key of Object.keys(env)) {
          const known = [...serverContract.envVars, ...serverContract.otelEnvVars] as readonly string[];
          assert.ok(known.includes(key), `unknown server setting ${key}`);
        }
        assert.ok((serverContract.devices as readonly string[]).includes(env.DEVICE!), `DEVICE=${env.DEVICE}`);
      });

      it('references objects that exist (ConfigMap, ServiceAccount, PriorityClasses, volumes)', () => {
        const spec = podSpec(objs);
        const online = findOne(objs, 'PriorityClass', spec.priorityClassName);
        const batch = findOne(objs, 'PriorityClass', 'sentiment-batch');
        assert.ok(batch.value < online.value, 'batch jobs get a lower priority than online inference');
        assert.equal(batch.globalDefault, false);
        assert.equal(online.globalDefault, false);
        const volumes = new Set(spec.volumes.map((v: Any) => v.name));
        for (const c of allContainers(spec)) {
          for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `${c.name} mounts unknown volume ${m.name}`);
        }
        for (const v of spec.volumes) {
          if (v.persistentVolumeClaim) findOne(objs, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
          if (v.configMap) findOne(objs, 'ConfigMap', v.configMap.name);
        }
      });

      it('spreads pods and selects them consistently', () => {
        const dep = findOne(objs, 'Deployment', 'sentiment');
        const podLabels = dep.spec.template.metadata.labels;
        assert.ok(selects(dep.spec.selector.matchLabels, podLabels), 'Deployment selector matches its pods');
        assert.equal(dep.spec.replicas, undefined, 'replicas is left to the HPA');
        const tsc: Any[] = dep.spec.template.spec.topologySpreadConstraints ?? [];
        const keys = tsc.map((c) => c.topologyKey);
        assert.ok(keys.includes('topology.kubernetes.io/zone') && keys.includes('kubernetes.io/hostname'));
        for (const c of tsc) assert.ok(selects(c.labelSelector.matchLabels, podLabels), 'spread selector matches pods');
      });

      it('Service selects the pods and targets the server port', () => {
        const dep = findOne(objs, 'Deployment', 'sentiment');
        const svc = findOne(objs, 'Service', 'sentiment');
        assert.ok(selects(svc.spec.selector, dep.spec.template.metadata.labels), 'Service selector matches pod labels');
        assert.equal(svc.metadata.namespace, dep.metadata.namespace);
        for (const p of svc.spec.ports) containerPort(objs, p.targetPort);
      });

      it('Ingress routes the API and docs to a real Service port, with the server body limit', () => {
        const ing = findOne(objs, 'Ingress', 'sentiment');
        const svc = findOne(objs, 'Service', 'sentiment');
        const paths: Any[] = ing.spec.rules.flatMap((r: Any) => r.http.paths);
        const routed = paths.map((p) => p.path);
        assert.ok(routed.includes('/analyze'), '/analyze is routed');
        assert.ok(routed.includes('/docs'), '/docs is routed');
        for (const p of paths) {
          const all = [...serverContract.routes.GET, ...serverContract.routes.POST] as string[];
          assert.ok(all.includes(p.path), `Ingress path ${p.path} is a server route`);
          assert.ok(!['/metrics', '/healthz', '/readyz'].includes(p.path), `${p.path} must stay in-cluster`);
          assert.equal(p.backend.service.name, svc.metadata.name);
          const port = p.backend.service.port;
          assert.ok(
            svc.spec.ports.some((sp: Any) => (port.name ? sp.name === port.name : sp.port === port.number)),
            `Ingress backend port ${JSON.stringify(port)} exists on the Service`,
          );
        }
        const env = serverEnv(objs);
        const limit = Number(env.BODY_LIMIT_BYTES ?? serverContract.defaults.BODY_LIMIT_BYTES);
        const annotation = ing.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size'];
        assert.ok(annotation, 'body-size annotation is set');
        assert.equal(parseNginxSize(annotation), limit, 'Ingress body size equals BODY_LIMIT_BYTES');
        const readTimeout = Number(ing.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']);
        assert.ok(readTimeout * 1000 > Number(env.REQUEST_TIMEOUT_MS), 'nginx waits longer than the server deadline');
      });

      it('ServiceMonitor scrapes /metrics on a real Service port', () => {
        const sm = findOne(objs, 'ServiceMonitor', 'sentiment');
        const svc = findOne(objs, 'Service', 'sentiment');
        assert.ok(selects(sm.spec.selector.matchLabels, svc.metadata.labels), 'ServiceMonitor selects the Service');
        const nsOk = sm.spec.namespaceSelector?.matchNames?.includes(svc.metadata.namespace) ?? sm.metadata.namespace === svc.metadata.namespace;
        assert.ok(nsOk, 'ServiceMonitor looks in the Service namespace');
        for (const ep of sm.spec.endpoints) {
          assert.ok(svc.spec.ports.some((p: Any) => p.name === ep.port), `endpoint port ${ep.port} is a Service port name`);
          assert.equal(ep.path, serverContract.metricsPath);
        }
        findOne(objs, 'PrometheusRule', 'sentiment');
        const dash = findOne(objs, 'ConfigMap', 'sentiment-grafana-dashboard');
        assert.equal(dash.metadata.labels?.grafana_dashboard, '1');
      });

      it('NetworkPolicy admits only the ingress controller and Prometheus, on the server port', () => {
        const np = findOne(objs, 'NetworkPolicy', 'sentiment');
        const dep = findOne(objs, 'Deployment', 'sentiment');
        assert.ok(selects(np.spec.podSelector.matchLabels, dep.spec.template.metadata.labels), 'policy selects the pods');
        assert.ok(np.spec.policyTypes.includes('Ingress'));
        const peers = np.spec.ingress.map((r: Any) => r.from.map((f: Any) => f.podSelector?.matchLabels?.['app.kubernetes.io/name']).join());
        assert.deepEqual([...peers].sort(), ['ingress-nginx', 'prometheus']);
        for (const rule of np.spec.ingress) {
          for (const f of rule.from) assert.ok(f.namespaceSelector && f.podSelector, 'each peer names namespace and pods');
          for (const p of rule.ports) containerPort(objs, p.port);
        }
      });

      it('HPA and PDB target the Deployment', () => {
        const dep = findOne(objs, 'Deployment', 'sentiment');
        const hpa = findOne(objs, 'HorizontalPodAutoscaler', 'sentiment');
        assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name });
        assert.ok(hpa.spec.minReplicas >= 2, 'at least two replicas for availability');
        assert.ok(hpa.spec.maxReplicas >= hpa.spec.minReplicas);
        assert.ok(hpa.spec.metrics.some((m: Any) => m.type === 'Resource' && m.resource.name === 'cpu'), 'scales on CPU');
        const pdb = findOne(objs, 'PodDisruptionBudget', 'sentiment');
        assert.ok(selects(pdb.spec.selector.matchLabels, dep.spec.template.metadata.labels), 'PDB selects the pods');
        if (pdb.spec.minAvailable !== undefined) {
          assert.ok(Number(pdb.spec.minAvailable) < hpa.spec.minReplicas, 'PDB does not block every eviction');
        } else {
          assert.ok(Number(pdb.spec.maxUnavailable) >= 1, 'PDB allows one eviction at a time');
        }
      });
    });
  }

  describe('overlay specifics', () => {
    it('cpu requests no accelerator and provisions no nodes', () => {
      const objs = render('cpu');
      const r = server(objs).resources;
      for (const k of [...Object.keys(r.limits), ...Object.keys(r.requests)]) {
        assert.ok(['cpu', 'memory', 'ephemeral-storage'].includes(k), `cpu overlay requests ${k}`);
      }
      assert.equal(nodePools(objs).length, 0);
      assert.equal(serverEnv(objs).DEVICE, 'cpu');
    });

    for (const [target, device, resource, families] of [
      ['gpu', 'cuda', 'nvidia.com/gpu', ['g4dn', 'g5', 'g6']],
      ['inferentia', 'cpu', 'aws.amazon.com/neuron', ['inf1', 'inf2']],
    ] as const) {
      it(`${target} requests ${resource} and lands on its own Karpenter v1 NodePool`, () => {
        const objs = render(target);
        const spec = podSpec(objs);
        const r = server(objs).resources;
        assert.ok(Number(r.limits[resource]) >= 1, `limits.${resource}`);
        assert.equal(serverEnv(objs).DEVICE, device);

        const pools = nodePools(objs);
        assert.equal(pools.length, 1);
        const pool = pools[0]!;
        assert.equal(pool.apiVersion, 'karpenter.sh/v1');
        assert.equal(spec.nodeSelector?.['karpenter.sh/nodepool'], pool.metadata.name, 'nodeSelector names the NodePool');
        const ref = pool.spec.template.spec.nodeClassRef;
        const nodeClass = findOne(objs, 'EC2NodeClass', ref.name);
        assert.equal(nodeClass.apiVersion, 'karpenter.k8s.aws/v1');
        assert.equal(ref.group, 'karpenter.k8s.aws');
        assert.equal(ref.kind, 'EC2NodeClass');
        assert.ok(nodeClass.spec.amiSelectorTerms.some((t: Any) => t.alias?.startsWith('al2023@')), 'AL2023 accelerated AMI');
        assert.equal(nodeClass.spec.metadataOptions?.httpTokens, 'required', 'IMDSv2 only');

        // Every taint of the pool is tolerated by the pod, otherwise nothing schedules there.
        for (const taint of pool.spec.template.spec.taints ?? []) {
          const tolerated = (spec.tolerations ?? []).some(
            (t: Any) =>
              t.key === taint.key &&
              (t.effect === undefined || t.effect === taint.effect) &&
              (t.operator === 'Exists' || t.value === taint.value),
          );
          assert.ok(tolerated, `pod tolerates taint ${taint.key}=${taint.value}:${taint.effect}`);
        }
        const req = (key: string): string[] =>
          pool.spec.template.spec.requirements.find((x: Any) => x.key === key && x.operator === 'In')?.values ?? [];
        assert.deepEqual([...req('karpenter.k8s.aws/instance-family')].sort(), [...families]);
        assert.ok(req('karpenter.sh/capacity-type').includes('spot'), 'spot allowed');
        assert.equal(pool.spec.disruption.consolidationPolicy, 'WhenEmptyOrUnderutilized', 'consolidation, not ttlSecondsAfterEmpty');
        assert.ok(pool.spec.limits?.[resource], `NodePool caps total ${resource}`);
      });
    }

    it('inferentia keeps the article toleration aiml=true:NoSchedule', () => {
      const spec = podSpec(render('inferentia'));
      assert.ok(
        spec.tolerations.some((t: Any) => t.key === 'aiml' && t.value === 'true' && t.effect === 'NoSchedule' && t.operator === 'Equal'),
      );
    });

    it('gpu runs the CUDA image', () => {
      assert.match(server(render('gpu')).image, /cuda/);
      assert.doesNotMatch(server(render('cpu')).image, /cuda/);
    });

    it('model-volume component mounts the PVC read-only and points MODEL_DIR into it', () => {
      const objs = render('cpu+components');
      const spec = podSpec(objs);
      const vol = spec.volumes.find((v: Any) => v.persistentVolumeClaim);
      assert.ok(vol, 'a PVC volume');
      findOne(objs, 'PersistentVolumeClaim', vol.persistentVolumeClaim.claimName);
      const mount = server(objs).volumeMounts.find((m: Any) => m.name === vol.name);
      assert.equal(mount.readOnly, true);
      const modelDir = serverEnv(objs).MODEL_DIR!;
      assert.ok(modelDir.startsWith(mount.mountPath + '/'), `MODEL_DIR ${modelDir} is on the volume ${mount.mountPath}`);
      assert.equal(serverEnv(render('cpu')).MODEL_DIR, undefined, 'without the component the baked-in model is used');
    });

    it('takes API keys from an optional Secret, so the service starts with or without it', () => {
      for (const target of targets) {
        const ref = (server(render(target)).env ?? []).find((e: Any) => e.name === 'API_KEYS')?.valueFrom?.secretKeyRef;
        assert.deepEqual(ref, { name: 'sentiment-api-keys', key: 'keys', optional: true }, target);
      }
    });

    it('tracing component sets an OTLP endpoint and allows egress to the collector on its OTLP ports only', () => {
      const objs = render('cpu+components');
      const endpoint = new URL(serverEnv(objs).OTEL_EXPORTER_OTLP_ENDPOINT!);
      const np = findOne(objs, 'NetworkPolicy', 'sentiment-tracing-egress');
      const dep = findOne(objs, 'Deployment', 'sentiment');
      assert.ok(selects(np.spec.podSelector.matchLabels, dep.spec.template.metadata.labels), 'policy selects the pods');
      assert.deepEqual(np.spec.policyTypes, ['Egress']);
      assert.equal(np.spec.ingress, undefined, 'admits nothing more');
      const ports = np.spec.egress.flatMap((rule: Any) => rule.ports.map((p: Any) => p.port));
      assert.ok(ports.includes(Number(endpoint.port)), `egress allows the endpoint's port ${endpoint.port}`);
      for (const rule of np.spec.egress) for (const peer of rule.to) assert.ok(peer.namespaceSelector && peer.podSelector, 'a named peer, not anywhere');
      const base = render('cpu');
      assert.equal(serverEnv(base).OTEL_EXPORTER_OTLP_ENDPOINT, undefined, 'without the component tracing is off');
      assert.equal(findAll(base, 'NetworkPolicy').length, 1, 'and no egress beyond DNS is allowed');
    });

    it('queue-depth-hpa component adds the sentiment_queue_depth Pods metric', () => {
      const hpa = findOne(render('cpu+components'), 'HorizontalPodAutoscaler', 'sentiment');
      const m = hpa.spec.metrics.find((x: Any) => x.type === 'Pods');
      assert.equal(m?.pods.metric.name, 'sentiment_queue_depth');
      assert.ok((serverContract.metrics.gauge as readonly string[]).includes(m.pods.metric.name));
      assert.equal(m.pods.target.type, 'AverageValue');
    });
  });
});
