// The hub-model component (k8s/components/hub-model): an init container pulls MODEL_ID into a Hub cache volume,
// the server reads it with HF_HUB_OFFLINE=1. Rendered as an overlay would use it, validated against the schemas,
// and checked against the service's own config parser.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { findAll, findOne, kubectlSkipReason, type K8sObject, renderDir } from './kustomize.js';
import { schemaModules } from './schema-modules.js';
import { unknownFieldErrors } from './strict-fields.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

const fixture = 'test/k8s/fixtures/cpu-hub-model';

const envValue = (container: Any, name: string): Any =>
  (container.env as Any[] | undefined)?.find((e) => e.name === name);

describe('kubernetes hub-model component (k8s/components/hub-model)', { skip: kubectlSkipReason() }, () => {
  let objs: K8sObject[] = [];
  let pod: Any;
  let server: Any;
  let pull: Any;
  let configData: Record<string, string>;
  before(() => {
    objs = renderDir(fixture);
    pod = findOne(objs, 'Deployment', 'sentiment').spec.template.spec;
    server = pod.containers.find((c: Any) => c.name === 'server');
    pull = pod.initContainers?.find((c: Any) => c.name === 'pull-model');
    configData = findOne(objs, 'ConfigMap').data as Record<string, string>;
  });

  it('renders objects that validate against their schemas, with no unknown fields', async () => {
    for (const obj of objs) {
      const prefix = schemaModules[obj.apiVersion];
      assert.ok(prefix, `no schema package for ${obj.apiVersion}`);
      const mod = (await import(`${prefix}/${obj.kind}`)) as Record<
        string,
        new (
          data: unknown,
        ) => { validate(): void }
      >;
      new (mod[obj.kind] as new (data: unknown) => { validate(): void })(obj).validate();
    }
    assert.deepEqual(unknownFieldErrors(objs, schemaModules), []);
  });

  it('gives the server a valid MODEL_ID config, offline, without MODEL_DIR', () => {
    assert.ok(configData.MODEL_ID, 'MODEL_ID is set');
    assert.equal(configData.MODEL_DIR, undefined);
    const offline = envValue(server, 'HF_HUB_OFFLINE');
    assert.equal(offline?.value, '1');
    // What the server container sees parses as a config: no clash, no bad value.
    const config = loadConfig([], { ...configData, HF_HUB_OFFLINE: offline.value });
    assert.equal(config.modelId, configData.MODEL_ID);
    assert.equal(config.hfHubOffline, true);
  });

  it('pulls in an init container: same image and settings, online, token from an optional Secret', () => {
    assert.ok(pull, 'an init container named pull-model');
    assert.equal(pull.image, server.image);
    assert.deepEqual(pull.command, ['node', 'dist/src/cli/model.js', 'pull']);
    assert.deepEqual(pull.envFrom, server.envFrom);
    assert.equal(envValue(pull, 'HF_HUB_OFFLINE')?.value, '0');
    assert.deepEqual(envValue(pull, 'HF_TOKEN')?.valueFrom, {
      secretKeyRef: { name: 'hf-token', key: 'token', optional: true },
    });
    assert.equal(
      server.env.find((e: Any) => e.name === 'HF_TOKEN'),
      undefined,
      'the server never holds the token',
    );
    assert.deepEqual(pull.resources.requests, pull.resources.limits, 'requests == limits keeps the pod Guaranteed');
    assert.equal(pull.securityContext.readOnlyRootFilesystem, true);
  });

  it('mounts one Hub cache volume at HF_HOME: read-write for the pull, read-only for the server', () => {
    const home = configData.HF_HOME;
    assert.ok(home);
    const mountOf = (container: Any): Any => container.volumeMounts.find((m: Any) => m.mountPath === home);
    assert.equal(mountOf(pull)?.readOnly, undefined);
    assert.equal(mountOf(server)?.readOnly, true);
    assert.equal(mountOf(pull).name, mountOf(server).name);
    const volume = pod.volumes.find((v: Any) => v.name === mountOf(server).name);
    const claim = findOne(objs, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany']);
  });

  it('lets the pods reach the Hub over HTTPS (the base policy allows no egress)', () => {
    const labels = findOne(objs, 'Deployment', 'sentiment').spec.template.metadata.labels as Record<string, string>;
    const egress = findAll(objs, 'NetworkPolicy').filter(
      (p) =>
        Object.entries(p.spec.podSelector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v) &&
        (p.spec.egress as Any[] | undefined)?.some((rule) => rule.ports?.some((port: Any) => port.port === 443)),
    );
    assert.equal(egress.length, 1);
  });
});
