// The model server beside the service (k8s/components/triton): the inferentia overlay (Triton on the Neuron
// runtime), and the optional CPU and GPU uses of the component, rendered with `kubectl kustomize`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findAll, findOne, kubectlSkipReason, render, selects, type AppTarget, type K8sObject } from './kustomize.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

const skip = kubectlSkipReason();

function podSpec(objs: K8sObject[]): Any {
  return findOne(objs, 'Deployment', 'sentiment').spec.template.spec;
}
function named(list: Any[] | undefined, name: string): Any {
  const found = (list ?? []).find((c: Any) => c.name === name);
  assert.ok(found, `a container named ${name}`);
  return found;
}
function configData(objs: K8sObject[]): Record<string, string> {
  return findOne(objs, 'ConfigMap').data;
}
function envOf(container: Any): Record<string, Any> {
  return Object.fromEntries((container.env ?? []).map((e: Any) => [e.name, e.value ?? e.valueFrom]));
}
/** The port a probe or URL names, as a number: by name from the container's ports, or as given. */
function portOf(container: Any, port: string | number): number {
  if (typeof port === 'number') return port;
  const declared = (container.ports ?? []).find((p: Any) => p.name === port);
  assert.ok(declared, `${container.name} declares port ${port}`);
  return declared.containerPort;
}

const withTriton: { target: AppTarget; accelerator: string | undefined; runtime: string; image: RegExp }[] = [
  { target: 'inferentia', accelerator: 'aws.amazon.com/neuron', runtime: 'neuron', image: /sentiment-triton-neuron:/ },
  { target: 'gpu+triton', accelerator: 'nvidia.com/gpu', runtime: 'onnxruntime-cuda', image: /sentiment-triton-cuda:/ },
  { target: 'cpu+triton', accelerator: undefined, runtime: 'onnxruntime-cpu', image: /\/sentiment-triton:/ },
];

describe('model server beside the service (k8s/components/triton)', { skip }, () => {
  for (const { target, accelerator, runtime, image } of withTriton) {
    describe(target, () => {
      const objs = (): K8sObject[] => render(target);

      it('runs two long-running containers: the service, and Triton as a native sidecar started before it', () => {
        const spec = podSpec(objs());
        assert.deepEqual(
          spec.containers.map((c: Any) => c.name),
          ['server'],
        );
        const sidecars = (spec.initContainers ?? []).filter((c: Any) => c.restartPolicy === 'Always');
        assert.deepEqual(
          sidecars.map((c: Any) => c.name),
          ['triton'],
          'Triton is an init container with restartPolicy Always: the server starts after its startupProbe passes',
        );
        const triton = sidecars[0];
        assert.match(triton.image, image);
        const env = envOf(triton);
        if (runtime !== 'onnxruntime-cpu') assert.equal(env.TRITON_RUNTIME, runtime);
        else assert.equal(env.TRITON_RUNTIME, undefined, 'the CPU image runs config.pbtxt default (onnxruntime-cpu)');
      });

      it('the service is ENGINE=remote on localhost, at the port Triton serves gRPC on', () => {
        const config = configData(objs());
        assert.equal(config.ENGINE, 'remote');
        const url = new URL(config.REMOTE_ENGINE_URL ?? '');
        assert.equal(url.protocol, 'grpc:');
        assert.equal(url.hostname, '127.0.0.1');
        const triton = named(podSpec(objs()).initContainers, 'triton');
        assert.equal(Number(url.port), Number(envOf(triton).TRITON_GRPC_PORT));
        assert.equal(portOf(triton, 'triton-grpc'), Number(url.port));
        for (const inProcessOnly of ['INTRA_OP_THREADS', 'INTER_OP_THREADS'])
          assert.equal(config[inProcessOnly], undefined, `${inProcessOnly} is the in-process engine's`);
      });

      it("probes Triton's own health routes on its HTTP port: ready for startup and readiness, live for liveness", () => {
        const triton = named(podSpec(objs()).initContainers, 'triton');
        const httpPort = Number(envOf(triton).TRITON_HTTP_PORT);
        for (const [probe, path] of [
          ['startupProbe', '/v2/health/ready'],
          ['readinessProbe', '/v2/health/ready'],
          ['livenessProbe', '/v2/health/live'],
        ] as const) {
          assert.equal(triton[probe]?.httpGet?.path, path, `${probe} path`);
          assert.equal(portOf(triton, triton[probe].httpGet.port), httpPort, `${probe} port is TRITON_HTTP_PORT`);
        }
        const budget = triton.startupProbe.periodSeconds * triton.startupProbe.failureThreshold;
        assert.ok(budget >= 300, `startupProbe allows ${budget}s for the model to load`);
      });

      it("a PodMonitor scrapes Triton's metrics port, which the NetworkPolicy opens to Prometheus", () => {
        const rendered = objs();
        const monitor = findOne(rendered, 'PodMonitor', 'sentiment-triton');
        const deployment = findOne(rendered, 'Deployment', 'sentiment');
        assert.ok(
          selects(monitor.spec.selector.matchLabels, deployment.spec.template.metadata.labels),
          'the PodMonitor selects the pods',
        );
        assert.deepEqual(monitor.spec.namespaceSelector.matchNames, [deployment.metadata.namespace]);
        // The same release label as the app's ServiceMonitor, where the overlay has one: one Prometheus selects both.
        const serviceMonitor = findAll(rendered, 'ServiceMonitor').find((m) => m.metadata.name === 'sentiment');
        if (serviceMonitor !== undefined)
          assert.equal(monitor.metadata.labels?.release, serviceMonitor.metadata.labels?.release);
        const triton = named(podSpec(rendered).initContainers, 'triton');
        const [endpoint] = monitor.spec.podMetricsEndpoints;
        assert.equal(endpoint.path, '/metrics');
        assert.equal(portOf(triton, endpoint.port), Number(envOf(triton).TRITON_METRICS_PORT));
        const policy = findOne(rendered, 'NetworkPolicy', 'sentiment');
        const prometheusRule = policy.spec.ingress.find((rule: Any) =>
          rule.from.some((f: Any) => f.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus'),
        );
        assert.ok(
          prometheusRule.ports.some((p: Any) => p.port === portOf(triton, endpoint.port)),
          'Prometheus may reach the metrics port',
        );
        for (const closed of ['triton-grpc', 'triton-http']) {
          const number = portOf(triton, closed);
          assert.ok(
            policy.spec.ingress.every((rule: Any) => rule.ports.every((p: Any) => p.port !== number)),
            `${closed} stays inside the pod`,
          );
        }
      });

      it('the accelerator is on the Triton container only; both containers have Guaranteed resources', () => {
        const spec = podSpec(objs());
        const triton = named(spec.initContainers, 'triton');
        const server = named(spec.containers, 'server');
        for (const c of [triton, server]) {
          assert.deepEqual(c.resources.requests.cpu, c.resources.limits.cpu, `${c.name}: cpu requests = limits`);
          assert.deepEqual(c.resources.requests.memory, c.resources.limits.memory, `${c.name}: memory`);
        }
        const accelerators = ['aws.amazon.com/neuron', 'nvidia.com/gpu'];
        for (const name of accelerators) {
          assert.equal(server.resources.limits[name], undefined, `the server holds no ${name}`);
          if (name !== accelerator) assert.equal(triton.resources.limits[name], undefined, `triton holds no ${name}`);
        }
        if (accelerator !== undefined) {
          assert.equal(String(triton.resources.limits[accelerator]), '1');
          assert.equal(String(triton.resources.requests[accelerator]), '1');
          assert.doesNotMatch(server.image, /cuda/, 'the server runs the CPU image');
        }
      });
    });
  }

  describe('inferentia: the Neuron compile step', () => {
    const objs = (): K8sObject[] => render('inferentia');

    it('compiles before Triton starts, into the cache volume Triton loads from, for the shapes the service pads to', () => {
      const spec = podSpec(objs());
      const names = spec.initContainers.map((c: Any) => c.name);
      assert.ok(names.indexOf('neuron-compile') >= 0, 'a neuron-compile init container');
      assert.ok(names.indexOf('neuron-compile') < names.indexOf('triton'), 'it runs before the Triton sidecar starts');
      const compile = named(spec.initContainers, 'neuron-compile');
      const triton = named(spec.initContainers, 'triton');
      assert.equal(compile.restartPolicy, undefined, 'runs to completion');
      assert.match(compile.image, /sentiment-triton-neuron:/);
      assert.match(compile.command.join(' '), /neuron\.py$/);
      // The same cache directory, on the same volume, in both.
      const cacheOf = (c: Any): [string, string] => {
        const dir = envOf(c).TRITON_NEURON_CACHE;
        const mount = c.volumeMounts.find((m: Any) => dir === m.mountPath);
        assert.ok(mount, `${c.name}: TRITON_NEURON_CACHE ${dir} is a mounted volume`);
        return [dir, mount.name];
      };
      assert.deepEqual(cacheOf(compile), cacheOf(triton));
      const volume = spec.volumes.find((v: Any) => v.name === cacheOf(triton)[1]);
      const claim = findOne(objs(), 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
      assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany'], 'shared by the pods on every node');
      // One BATCH_SHAPES for the service, the compile step and Triton: the ConfigMap's.
      const config = findOne(objs(), 'ConfigMap');
      assert.match(config.data.BATCH_SHAPES, /^\d+x\d+(,\d+x\d+)*$/);
      for (const c of [compile, triton]) {
        assert.deepEqual(envOf(c).BATCH_SHAPES, {
          configMapKeyRef: { name: config.metadata.name, key: 'BATCH_SHAPES' },
        });
      }
      assert.equal(compile.resources.limits['aws.amazon.com/neuron'], undefined, 'compiling needs no Neuron device');
    });

    it('lands on inf2 only (torch-neuronx compiles for NeuronCore-v2)', () => {
      const terms = podSpec(objs()).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms;
      assert.deepEqual(terms, [
        { matchExpressions: [{ key: 'karpenter.k8s.aws/instance-family', operator: 'In', values: ['inf2'] }] },
      ]);
    });

    it('holds no PersistentVolumeClaim but the compile cache', () => {
      assert.deepEqual(
        findAll(objs(), 'PersistentVolumeClaim').map((c) => c.metadata.name),
        ['sentiment-neuron-cache'],
      );
    });
  });
});
