// Renders every overlay with `kubectl kustomize`, validates every object against the Kubernetes and CRD
// schemas, and checks the wiring between objects and against the server contract.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  render,
  renderTargets,
  appTargets,
  findAll,
  findOne,
  selects,
  parseQuantity,
  kubectlSkipReason,
  type K8sObject,
  type AppTarget,
  type RenderTarget,
} from './kustomize.js';
import { schemaModules, structuralChecks } from './schema-modules.js';
import { serverContract } from './server-contract.js';
import { unknownFieldErrors } from './strict-fields.js';
import { podSpec, scaler, server, serverEnv } from './rendered-app.js';
import { imageComponentEntries, renderedImage } from './image-pins.js';

const skip = kubectlSkipReason();
const targets = Object.keys(renderTargets) as RenderTarget[];
const apps = Object.keys(appTargets) as AppTarget[];

const clusterScoped = new Set(['Namespace', 'PriorityClass', 'NodePool', 'EC2NodeClass', 'GatewayClass']);
const appNamespace = 'sentiment';

async function validateAgainstSchema(obj: K8sObject): Promise<void> {
  const structural = structuralChecks[obj.apiVersion];
  if (structural) {
    assert.deepEqual(structural(obj), [], `${obj.kind}/${obj.metadata.name} (${obj.apiVersion})`);
    return;
  }
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

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

function containerPort(objs: K8sObject[], port: string | number): number {
  const ports: Any[] = server(objs).ports ?? [];
  const p = typeof port === 'number' ? ports.find((x) => x.containerPort === port) : ports.find((x) => x.name === port);
  assert.ok(p, `port ${port} is declared on the server container`);
  return p.containerPort;
}
/** A container of the pod by name, init containers (native sidecars) included. */
function containerNamed(objs: K8sObject[], name: string): Any {
  const c = allContainers(podSpec(objs)).find((x: Any) => x.name === name);
  assert.ok(c, `the pod has a container named ${name}`);
  return c;
}
function allContainers(spec: Any): Any[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}
function nodePools(objs: K8sObject[]): K8sObject[] {
  return findAll(objs, 'NodePool');
}
/** The labels every node of a pool carries: its template's, and each requirement that allows exactly one value. */
function poolNodeLabels(pool: K8sObject): Record<string, string> {
  const labels: Record<string, string> = { ...(pool.spec.template.metadata?.labels ?? {}) };
  for (const r of pool.spec.template.spec.requirements ?? [])
    if (r.operator === 'In' && r.values?.length === 1) labels[r.key] = r.values[0];
  return labels;
}
/** Does a toleration list admit this taint? (Kubernetes' ToleratesTaint.) */
function tolerates(tolerations: Any[] | undefined, taint: Any): boolean {
  return (tolerations ?? []).some(
    (t: Any) =>
      (t.key === taint.key || (t.key === undefined && t.operator === 'Exists')) &&
      (t.effect === undefined || t.effect === taint.effect) &&
      (t.operator === 'Exists' || t.value === taint.value),
  );
}
const recommendedPodLabels = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
];

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
        const kinds = objs
          .map((o) => o.kind)
          .sort()
          .join(', ');
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
            assert.equal(
              o.metadata.namespace,
              undefined,
              `cluster-scoped ${o.kind}/${o.metadata.name} has a namespace`,
            );
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
    });
  }

  for (const target of apps) {
    describe(`app: ${target}`, () => {
      let objs: K8sObject[] = [];
      let platform: K8sObject[] = [];
      before(() => {
        objs = render(target);
        platform = render('platform');
      });

      it("holds only namespaced objects of the app namespace (cluster-scoped ones are the platform's)", () => {
        for (const o of objs) {
          assert.ok(
            !clusterScoped.has(o.kind),
            `${o.kind}/${o.metadata.name} is cluster-scoped: it belongs in k8s/platform`,
          );
          assert.equal(o.metadata.namespace, appNamespace, `${o.kind}/${o.metadata.name} is outside ${appNamespace}`);
        }
      });

      it('pins images by tag or digest, never :latest, with registry, tag and digest from k8s/components/image', () => {
        const allowed = new Set(imageComponentEntries().map(renderedImage));
        const spec = podSpec(objs);
        for (const c of allContainers(spec)) {
          const image: string = c.image;
          const afterSlash = image.slice(image.lastIndexOf('/') + 1);
          assert.ok(afterSlash.includes(':') || image.includes('@sha256:'), `${c.name}: image ${image} has no tag`);
          assert.ok(!/:latest$/.test(image), `${c.name}: image ${image} uses :latest`);
          assert.ok(image.includes('/'), `${c.name}: image ${image} has no registry (set it in k8s/components/image)`);
        }
        assert.ok(
          allowed.has(server(objs).image),
          `server image ${server(objs).image} is one of k8s/components/image's`,
        );
      });

      it('carries the recommended app.kubernetes.io labels on the pods', () => {
        const labels = findOne(objs, 'Deployment', 'sentiment').spec.template.metadata.labels;
        for (const l of recommendedPodLabels) assert.ok(labels[l], `pod label ${l}`);
      });

      it('runs nothing as root, with a locked-down security context', () => {
        const spec = podSpec(objs);
        assert.equal(spec.securityContext?.runAsNonRoot, true, 'pod runAsNonRoot');
        assert.ok(spec.securityContext?.runAsUser >= 10000, 'pod runAsUser is a uid >= 10000');
        assert.ok(spec.securityContext?.runAsGroup >= 10000, 'pod runAsGroup is a gid >= 10000');
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
        // The namespace (the platform's) enforces it.
        const ns = findOne(platform, 'Namespace', appNamespace);
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
          assert.ok(
            (serverContract.routes.GET as readonly string[]).includes(get.path),
            `${probe} path ${get.path} is a GET route`,
          );
          assert.equal(containerPort(objs, get.port), port, `${probe} port`);
        }
      });

      it('drains within terminationGracePeriodSeconds, after the edge has stopped routing to the pod', () => {
        const spec = podSpec(objs);
        const env = serverEnv(objs);
        const preStop = server(objs).lifecycle?.preStop;
        assert.ok(preStop, 'preStop hook is set (lets the edge stop routing before SIGTERM)');
        const preStopSeconds = preStop.sleep?.seconds ?? 0;
        assert.ok(preStopSeconds > 0, 'preStop waits');
        const shutdownS = Number(env.SHUTDOWN_TIMEOUT_MS ?? serverContract.defaults.SHUTDOWN_TIMEOUT_MS) / 1000;
        assert.ok(
          spec.terminationGracePeriodSeconds > preStopSeconds + shutdownS,
          `terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} > preStop ${preStopSeconds} + drain ${shutdownS}`,
        );
        // An ALB keeps sending to a target until its deregistration delay is over: preStop must cover it.
        const ing = findAll(objs, 'Ingress')[0];
        const dereg = /deregistration_delay\.timeout_seconds=(\d+)/.exec(
          ing?.metadata.annotations?.['alb.ingress.kubernetes.io/target-group-attributes'] ?? '',
        );
        if (ing) {
          assert.ok(dereg, 'the ALB Ingress sets its deregistration delay');
          assert.ok(
            preStopSeconds >= Number(dereg[1]),
            `preStop ${preStopSeconds}s covers the ALB's deregistration ${dereg[1]}s`,
          );
        }
      });

      it('sets requests and limits, threads within the CPU limit', () => {
        const r = server(objs).resources;
        for (const res of ['cpu', 'memory']) {
          assert.ok(r?.requests?.[res], `requests.${res}`);
          assert.ok(r?.limits?.[res], `limits.${res}`);
          assert.ok(parseQuantity(r.requests[res]) <= parseQuantity(r.limits[res]), `${res} request <= limit`);
        }
        const env = serverEnv(objs);
        if (env.ENGINE === 'remote') {
          // The model server decides its threads; ENGINE=remote refuses the in-process engine's.
          assert.equal(env.INTRA_OP_THREADS, undefined, 'no INTRA_OP_THREADS with ENGINE=remote');
          assert.equal(env.INTER_OP_THREADS, undefined, 'no INTER_OP_THREADS with ENGINE=remote');
          return;
        }
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

      it("references objects that exist (ConfigMap, ServiceAccount, the platform's PriorityClasses, volumes)", () => {
        const spec = podSpec(objs);
        const online = findOne(platform, 'PriorityClass', spec.priorityClassName);
        const batch = findOne(platform, 'PriorityClass', 'sentiment-batch');
        assert.ok(batch.value < online.value, 'batch jobs get a lower priority than online inference');
        assert.equal(online.preemptionPolicy, 'Never', 'online inference never evicts other pods');
        assert.equal(batch.globalDefault, false);
        assert.equal(online.globalDefault, false);
        const volumes = new Set(spec.volumes.map((v: Any) => v.name));
        for (const c of allContainers(spec)) {
          for (const m of c.volumeMounts ?? [])
            assert.ok(volumes.has(m.name), `${c.name} mounts unknown volume ${m.name}`);
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
        assert.equal(dep.spec.replicas, undefined, 'replicas is left to the autoscaler');
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

      it('the edge (Gateway API by default, or the Ingress) routes only the API and docs to a real Service port, over TLS', () => {
        const svc = findOne(objs, 'Service', 'sentiment');
        const env = serverEnv(objs);
        const publicRoutes = [...serverContract.routes.GET, ...serverContract.routes.POST] as string[];
        const checkPath = (p: string): void => {
          assert.ok(publicRoutes.includes(p), `edge path ${p} is a server route`);
          assert.ok(!['/metrics', '/healthz', '/readyz'].includes(p), `${p} must stay in-cluster`);
        };
        const ingresses = findAll(objs, 'Ingress');
        const gateways = findAll(objs, 'Gateway');
        assert.equal(ingresses.length + gateways.length, 1, 'exactly one edge: a Gateway or an Ingress');
        if (gateways[0]) {
          const gw = gateways[0];
          findOne(render('platform'), 'GatewayClass', gw.spec.gatewayClassName);
          const routes = findAll(objs, 'HTTPRoute');
          const listener = (name: string): Any => gw.spec.listeners.find((l: Any) => l.name === name);
          let routed: string[] = [];
          for (const route of routes) {
            for (const ref of route.spec.parentRefs) {
              assert.equal(ref.name, gw.metadata.name, `${route.metadata.name} attaches to the Gateway`);
              assert.ok(listener(ref.sectionName), `${route.metadata.name}: listener ${ref.sectionName} exists`);
            }
            const onHttps = route.spec.parentRefs.every((r: Any) => listener(r.sectionName).protocol === 'HTTPS');
            for (const rule of route.spec.rules) {
              if (!rule.backendRefs) {
                // Plain HTTP only ever redirects to HTTPS.
                assert.ok(
                  rule.filters?.some((f: Any) => f.requestRedirect?.scheme === 'https'),
                  `${route.metadata.name}: redirect to https`,
                );
                continue;
              }
              assert.ok(onHttps, `${route.metadata.name} serves the API on an HTTPS listener only`);
              for (const m of rule.matches) checkPath(m.path.value);
              routed = routed.concat(rule.matches.map((m: Any) => m.path.value));
              for (const b of rule.backendRefs) {
                assert.equal(b.name, svc.metadata.name);
                assert.ok(
                  svc.spec.ports.some((sp: Any) => sp.port === b.port),
                  `backend port ${b.port} exists on the Service`,
                );
              }
              const timeoutS = Number(/^(\d+)s$/.exec(rule.timeouts?.request ?? '')?.[1]);
              assert.ok(
                timeoutS * 1000 > Number(env.REQUEST_TIMEOUT_MS),
                'the proxy waits longer than the server deadline',
              );
            }
          }
          assert.ok(routed.includes('/analyze') && routed.includes('/docs'), '/analyze and /docs are routed');
          for (const l of gw.spec.listeners.filter((x: Any) => x.protocol === 'HTTPS')) {
            assert.equal(l.tls?.mode, 'Terminate');
            assert.ok(l.tls?.certificateRefs?.length > 0, `listener ${l.name} has a certificate`);
          }
        } else {
          const ing = ingresses[0]!;
          const paths: Any[] = ing.spec.rules.flatMap((r: Any) => r.http.paths);
          const routed = paths.map((p) => p.path);
          assert.ok(routed.includes('/analyze') && routed.includes('/docs'), '/analyze and /docs are routed');
          for (const p of paths) {
            checkPath(p.path);
            assert.equal(p.backend.service.name, svc.metadata.name);
            const port = p.backend.service.port;
            assert.ok(
              svc.spec.ports.some((sp: Any) => (port.name ? sp.name === port.name : sp.port === port.number)),
              `Ingress backend port ${JSON.stringify(port)} exists on the Service`,
            );
          }
          const hosts = ing.spec.rules.map((r: Any) => r.host);
          const tlsHosts = (ing.spec.tls ?? []).flatMap((t: Any) => t.hosts);
          for (const h of hosts) assert.ok(tlsHosts.includes(h), `TLS covers ${h}`);
          const idle = /idle_timeout\.timeout_seconds=(\d+)/.exec(
            ing.metadata.annotations?.['alb.ingress.kubernetes.io/load-balancer-attributes'] ?? '',
          );
          assert.ok(
            idle && Number(idle[1]) * 1000 > Number(env.REQUEST_TIMEOUT_MS),
            'the ALB waits longer than the server deadline',
          );
        }
      });

      it('ServiceMonitor scrapes /metrics on a real Service port', () => {
        const sm = findOne(objs, 'ServiceMonitor', 'sentiment');
        const svc = findOne(objs, 'Service', 'sentiment');
        assert.ok(selects(sm.spec.selector.matchLabels, svc.metadata.labels), 'ServiceMonitor selects the Service');
        const nsOk =
          sm.spec.namespaceSelector?.matchNames?.includes(svc.metadata.namespace) ??
          sm.metadata.namespace === svc.metadata.namespace;
        assert.ok(nsOk, 'ServiceMonitor looks in the Service namespace');
        for (const ep of sm.spec.endpoints) {
          assert.ok(
            svc.spec.ports.some((p: Any) => p.name === ep.port),
            `endpoint port ${ep.port} is a Service port name`,
          );
          assert.equal(ep.path, serverContract.metricsPath);
        }
        findOne(objs, 'PrometheusRule', 'sentiment');
      });

      it("NetworkPolicy admits only the edge's data path and Prometheus, on the numeric server port", () => {
        const np = findOne(objs, 'NetworkPolicy', 'sentiment');
        const dep = findOne(objs, 'Deployment', 'sentiment');
        assert.ok(
          selects(np.spec.podSelector.matchLabels, dep.spec.template.metadata.labels),
          'policy selects the pods',
        );
        assert.ok(np.spec.policyTypes.includes('Ingress'));
        const port = containerPort(objs, 'http');
        const scrapesPrometheus = (rule: Any): boolean =>
          rule.from.some((f: Any) => f.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus');
        // A Triton sidecar (k8s/components/triton) adds its metrics port for Prometheus only.
        const tritonMetrics = dep.spec.template.spec.initContainers
          ?.flatMap((c: Any) => c.ports ?? [])
          .find((p: Any) => p.name === 'triton-metrics')?.containerPort;
        for (const rule of np.spec.ingress) {
          const allowed = scrapesPrometheus(rule) && tritonMetrics !== undefined ? [port, tritonMetrics] : [port];
          assert.deepEqual(
            rule.ports.map((p: Any) => p.port),
            allowed,
            'numeric ports (named ports have had bugs in policy engines)',
          );
        }
        const peers: Any[] = np.spec.ingress.flatMap((r: Any) => r.from);
        const prometheus = peers.filter((f) => f.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus');
        assert.equal(prometheus.length, 1, 'Prometheus may scrape');
        const edge = peers.filter((f) => !prometheus.includes(f));
        assert.equal(edge.length, 1, 'one edge peer');
        const gw = findAll(objs, 'Gateway')[0];
        if (gw) {
          // Envoy Gateway's proxy pods for this Gateway, in its namespace.
          assert.equal(edge[0].namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'], 'envoy-gateway-system');
          assert.equal(
            edge[0].podSelector?.matchLabels?.['gateway.envoyproxy.io/owning-gateway-name'],
            gw.metadata.name,
          );
          assert.equal(
            edge[0].podSelector?.matchLabels?.['gateway.envoyproxy.io/owning-gateway-namespace'],
            gw.metadata.namespace,
          );
        } else {
          // The ALB (target-type ip) connects from its ENIs in the VPC: an address block, not pods.
          const ing = findOne(objs, 'Ingress', 'sentiment');
          assert.equal(ing.metadata.annotations?.['alb.ingress.kubernetes.io/target-type'], 'ip');
          assert.ok(edge[0].ipBlock?.cidr, 'the ALB peer is the VPC address block');
        }
      });

      it('the autoscaler and PDB target the Deployment', () => {
        const dep = findOne(objs, 'Deployment', 'sentiment');
        const s = scaler(objs);
        assert.deepEqual(
          { apiVersion: s.target.apiVersion, kind: s.target.kind, name: s.target.name },
          { apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name },
        );
        assert.ok(s.min >= 2, 'at least two replicas for availability');
        assert.ok(s.max >= s.min);
        assert.ok(s.metrics.includes('cpu'), 'scales on CPU');
        const pdb = findOne(objs, 'PodDisruptionBudget', 'sentiment');
        assert.ok(selects(pdb.spec.selector.matchLabels, dep.spec.template.metadata.labels), 'PDB selects the pods');
        if (pdb.spec.minAvailable !== undefined) {
          assert.ok(Number(pdb.spec.minAvailable) < s.min, 'PDB does not block every eviction');
        } else {
          assert.ok(Number(pdb.spec.maxUnavailable) >= 1, 'PDB allows one eviction at a time');
        }
      });
    });
  }

  describe('platform (k8s/platform)', () => {
    it('PriorityClasses: online above batch, neither preempts', () => {
      const objs = render('platform');
      const online = findOne(objs, 'PriorityClass', 'sentiment-online');
      const batch = findOne(objs, 'PriorityClass', 'sentiment-batch');
      assert.ok(online.value > batch.value);
      assert.equal(online.preemptionPolicy, 'Never', "PreemptLowerPriority could evict other teams' pods");
      assert.equal(batch.preemptionPolicy, 'Never');
    });

    it("holds the dashboard and the accelerator exporters' ServiceMonitors, in the monitoring namespace", () => {
      const objs = render('platform');
      const dash = findOne(objs, 'ConfigMap', 'sentiment-grafana-dashboard');
      assert.equal(dash.metadata.namespace, 'monitoring');
      assert.equal(dash.metadata.labels?.grafana_dashboard, '1');
      for (const name of ['dcgm-exporter', 'neuron-monitor']) {
        const sm = findOne(objs, 'ServiceMonitor', name);
        assert.equal(sm.metadata.namespace, 'monitoring');
        assert.ok(sm.spec.namespaceSelector?.matchNames?.length > 0, `${name}: looks in the exporter's namespace`);
        assert.equal(sm.metadata.labels?.release, 'kube-prometheus-stack');
      }
      // An app overlay holds none of these.
      for (const app of apps) {
        assert.equal(findAll(render(app), 'ConfigMap').filter((c) => c.metadata.namespace !== appNamespace).length, 0);
      }
    });
  });

  describe('overlay specifics: scheduling facts', () => {
    it('cpu requests no accelerator and selects no accelerator nodes', () => {
      const objs = render('cpu');
      const r = server(objs).resources;
      for (const k of [...Object.keys(r.limits), ...Object.keys(r.requests)]) {
        assert.ok(['cpu', 'memory', 'ephemeral-storage'].includes(k), `cpu overlay requests ${k}`);
      }
      assert.equal(nodePools(objs).length, 0);
      assert.deepEqual(podSpec(objs).nodeSelector, { 'kubernetes.io/arch': 'amd64' }, "only the images' architecture");
      assert.equal(serverEnv(objs).DEVICE, 'cpu');
    });

    for (const { target, platformTarget, device, resource, holder, families, nodeLabels, taint } of [
      {
        target: 'gpu',
        platformTarget: 'platform/karpenter/gpu',
        device: 'cuda',
        resource: 'nvidia.com/gpu',
        // The container that owns the accelerator: the server's in-process CUDA engine.
        holder: 'server',
        families: ['g4dn', 'g5', 'g6'],
        // The NVIDIA device plugin chart's default node affinity needs this label, or it never runs there.
        nodeLabels: { 'nvidia.com/gpu.present': 'true' },
        taint: { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' },
      },
      {
        target: 'inferentia',
        platformTarget: 'platform/karpenter/inferentia',
        device: 'cpu',
        resource: 'aws.amazon.com/neuron',
        // The Triton sidecar with the Neuron runtime; the server (ENGINE=remote) holds none.
        holder: 'triton',
        families: ['inf1', 'inf2'],
        nodeLabels: {},
        // The taint the Neuron device plugin tolerates (not the article's aiml=true, which kept it off the node).
        taint: { key: 'aws.amazon.com/neuron', value: 'true', effect: 'NoSchedule' },
      },
    ] as const) {
      describe(`${target} on ${platformTarget}`, () => {
        const app = (): K8sObject[] => render(target);
        const pools = (): K8sObject[] => nodePools(render(platformTarget));

        it(`requests one ${resource} on the ${holder} container (requests = limits) and runs DEVICE=${device}`, () => {
          const r = containerNamed(app(), holder).resources;
          assert.equal(String(r.limits[resource]), '1', `limits.${resource}`);
          assert.equal(String(r.requests[resource]), '1', `requests.${resource}`);
          for (const k of ['cpu', 'memory'])
            assert.equal(parseQuantity(r.requests[k]), parseQuantity(r.limits[k]), `${k}: Guaranteed QoS`);
          assert.equal(serverEnv(app()).DEVICE, device);
        });

        it('every pool labels its nodes for the pods and the device plugin, taints them, and the pods tolerate it', () => {
          const spec = podSpec(app());
          assert.ok(spec.nodeSelector && Object.keys(spec.nodeSelector).length > 0, 'pods select accelerator nodes');
          assert.equal(
            spec.nodeSelector['karpenter.sh/nodepool'],
            undefined,
            'pods select a label both pools share, not one pool',
          );
          assert.ok(pools().length >= 2);
          for (const pool of pools()) {
            const name = pool.metadata.name;
            const labels = pool.spec.template.metadata?.labels ?? {};
            assert.ok(
              selects(spec.nodeSelector, poolNodeLabels(pool)),
              `${name}: its nodes match the pods' nodeSelector`,
            );
            for (const [k, v] of Object.entries(nodeLabels))
              assert.equal(labels[k], v, `${name}: node label ${k}=${v}`);
            const taints: Any[] = pool.spec.template.spec.taints ?? [];
            assert.ok(
              taints.some((t) => t.key === taint.key && t.value === taint.value && t.effect === taint.effect),
              `${name}: taints ${taint.key}=${taint.value}:${taint.effect}`,
            );
            assert.ok(!taints.some((t) => t.key === 'aiml'), `${name}: no aiml taint (no device plugin tolerates it)`);
            for (const t of taints)
              assert.ok(
                tolerates(spec.tolerations, t),
                `pods tolerate ${name}'s taint ${t.key}=${t.value}:${t.effect}`,
              );
          }
        });

        it("pools: Karpenter v1, the instance families, AL2023, IMDSv2, a drain bound above the pods' grace period", () => {
          const spec = podSpec(app());
          for (const pool of pools()) {
            const name = pool.metadata.name;
            assert.equal(pool.apiVersion, 'karpenter.sh/v1');
            const req = (key: string): string[] =>
              pool.spec.template.spec.requirements.find((x: Any) => x.key === key && x.operator === 'In')?.values ?? [];
            assert.deepEqual([...req('karpenter.k8s.aws/instance-family')].sort(), [...families], name);
            const ref = pool.spec.template.spec.nodeClassRef;
            const nodeClass = findOne(render(platformTarget), 'EC2NodeClass', ref.name);
            assert.equal(ref.group, 'karpenter.k8s.aws');
            assert.equal(ref.kind, 'EC2NodeClass');
            assert.ok(
              nodeClass.spec.amiSelectorTerms.some((t: Any) => t.alias?.startsWith('al2023@')),
              'AL2023 accelerated AMI',
            );
            assert.equal(nodeClass.spec.metadataOptions?.httpTokens, 'required', 'IMDSv2 only');
            const tgp = /^(\d+)m$/.exec(pool.spec.template.spec.terminationGracePeriod ?? '');
            assert.ok(tgp, `${name}: terminationGracePeriod in minutes`);
            assert.ok(
              Number(tgp[1]) * 60 > spec.terminationGracePeriodSeconds,
              `${name}: node drain bound > pod grace period`,
            );
            assert.ok(pool.spec.limits?.[resource], `${name}: caps total ${resource}`);
            assert.ok(['WhenEmpty', 'WhenEmptyOrUnderutilized'].includes(pool.spec.disruption.consolidationPolicy));
          }
        });

        it('spot above an on-demand floor of minReplicas, which Karpenter fills first', () => {
          const all = pools();
          const capacity = (p: K8sObject): string[] =>
            p.spec.template.spec.requirements.find((x: Any) => x.key === 'karpenter.sh/capacity-type')?.values ?? [];
          const floor = all.filter((p) => capacity(p).length === 1 && capacity(p)[0] === 'on-demand');
          const spot = all.filter((p) => capacity(p).includes('spot'));
          assert.equal(floor.length, 1, 'one on-demand-only pool');
          assert.ok(spot.length >= 1, 'a pool allows spot');
          for (const s of spot) assert.ok(floor[0]!.spec.weight > (s.spec.weight ?? 0), 'the floor pool weighs more');
          const perPod = Number(containerNamed(app(), holder).resources.limits[resource]);
          assert.equal(
            Number(floor[0]!.spec.limits[resource]),
            scaler(app()).min * perPod,
            "the floor holds exactly minReplicas pods' devices",
          );
        });

        it('scales on the queue as well as CPU (CPU stays low when the accelerator does the work)', () => {
          const s = scaler(app());
          assert.ok(s.metrics.includes('sentiment_queue_depth'), `metrics: ${s.metrics.join(', ')}`);
          assert.ok((serverContract.metrics.gauge as readonly string[]).includes('sentiment_queue_depth'));
        });

        it('gives a rollout time for node launch, a large image pull and the startup probe', () => {
          const dep = findOne(app(), 'Deployment', 'sentiment');
          const probe = server(app()).startupProbe;
          const startupBudget = probe.periodSeconds * probe.failureThreshold;
          assert.ok(dep.spec.progressDeadlineSeconds >= 1200, 'progressDeadlineSeconds >= 1200');
          assert.ok(dep.spec.progressDeadlineSeconds > startupBudget, 'more than the startup probe alone');
        });
      });
    }

    it('inferentia is marked experimental', () => {
      for (const o of render('inferentia')) {
        assert.equal(
          o.metadata.annotations?.['sentiment.example.com/status'],
          'experimental',
          `${o.kind}/${o.metadata.name}`,
        );
      }
    });

    it('gpu runs the CUDA image, cpu and inferentia the CPU image', () => {
      assert.match(server(render('gpu')).image, /cuda/);
      assert.doesNotMatch(server(render('cpu')).image, /cuda/);
      assert.doesNotMatch(server(render('inferentia')).image, /cuda/);
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
      assert.ok(
        modelDir.startsWith(mount.mountPath + '/'),
        `MODEL_DIR ${modelDir} is on the volume ${mount.mountPath}`,
      );
      assert.equal(serverEnv(render('cpu')).MODEL_DIR, undefined, 'without the component the baked-in model is used');
    });

    it('takes API keys from an optional Secret, so the service starts with or without it', () => {
      for (const target of apps) {
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
      for (const rule of np.spec.egress)
        for (const peer of rule.to) assert.ok(peer.namespaceSelector && peer.podSelector, 'a named peer, not anywhere');
      const base = render('cpu');
      assert.equal(serverEnv(base).OTEL_EXPORTER_OTLP_ENDPOINT, undefined, 'without the component tracing is off');
      assert.equal(findAll(base, 'NetworkPolicy').length, 1, 'and no egress beyond DNS is allowed');
    });

    it('grpc component serves GRPC_PORT on a named container port, in the Service as h2c, open to labelled namespaces', () => {
      const objs = render('cpu+components');
      const port = Number(serverEnv(objs).GRPC_PORT);
      const container = server(objs);
      const named = (container.ports ?? []).find((p: Any) => p.name === 'grpc');
      assert.equal(named?.containerPort, port, 'the container port is GRPC_PORT');
      const service = findOne(objs, 'Service', 'sentiment').spec.ports.find((p: Any) => p.name === 'grpc');
      assert.deepEqual([service?.targetPort, service?.appProtocol], ['grpc', 'kubernetes.io/h2c']);
      const np = findOne(objs, 'NetworkPolicy', 'sentiment-grpc-ingress');
      const dep = findOne(objs, 'Deployment', 'sentiment');
      assert.ok(selects(np.spec.podSelector.matchLabels, dep.spec.template.metadata.labels), 'policy selects the pods');
      assert.deepEqual(
        np.spec.ingress.flatMap((rule: Any) => rule.ports.map((p: Any) => p.port)),
        [port],
        'it opens the gRPC port only',
      );
      for (const rule of np.spec.ingress)
        for (const peer of rule.from) assert.ok(peer.namespaceSelector, 'named peers');
      const base = render('cpu');
      assert.equal(serverEnv(base).GRPC_PORT, undefined, 'without the component gRPC is off');
      assert.equal(findOne(base, 'Service', 'sentiment').spec.ports.length, 1);
    });

    it('queue-depth-hpa component adds the sentiment_queue_depth Pods metric', () => {
      const hpa = findOne(render('cpu+components'), 'HorizontalPodAutoscaler', 'sentiment');
      const m = hpa.spec.metrics.find((x: Any) => x.type === 'Pods');
      assert.equal(m?.pods.metric.name, 'sentiment_queue_depth');
      assert.ok((serverContract.metrics.gauge as readonly string[]).includes(m.pods.metric.name));
      assert.equal(m.pods.target.type, 'AverageValue');
    });

    it('keda-queue-depth replaces the HPA with a ScaledObject on the same signals and target', () => {
      const objs = render('cpu+keda');
      assert.equal(findAll(objs, 'HorizontalPodAutoscaler').length, 0, 'KEDA creates its own HPA; two would fight');
      const so = findOne(objs, 'ScaledObject', 'sentiment');
      const hpaComponent = findOne(render('cpu+components'), 'HorizontalPodAutoscaler', 'sentiment');
      const pods = hpaComponent.spec.metrics.find((x: Any) => x.type === 'Pods');
      const prom = so.spec.triggers.find((t: Any) => t.type === 'prometheus');
      assert.equal(prom.metricType, 'AverageValue');
      assert.equal(Number(prom.metadata.threshold), Number(pods.pods.target.averageValue), 'same queue target per pod');
      assert.match(prom.metadata.query, /sentiment_queue_depth\{[^}]*namespace="sentiment"/);
      assert.equal(so.spec.minReplicaCount, hpaComponent.spec.minReplicas);
    });
  });
});
