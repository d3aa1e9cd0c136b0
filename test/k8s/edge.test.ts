// The edge from the internet: Envoy Gateway's EnvoyProxy (referenced by the GatewayClass) makes the Gateway's Service
// an internet-facing NLB with IP targets, or an internal one with k8s/platform/components/internal-nlb; and the
// https listener's certificate path is complete: cert-manager's annotation names an Issuer in the same render whose
// HTTP-01 solver attaches to this Gateway's plain-HTTP listener, where nothing outranks the challenge path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoyProxyErrors } from './envoy-proxy-shape.js';
import {
  appTargets,
  type AppTarget,
  findAll,
  findOne,
  type K8sObject,
  kubectlSkipReason,
  render,
} from './kustomize.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are YAML of any shape
type Any = any;

const lb = 'service.beta.kubernetes.io/aws-load-balancer-';
const letsEncrypt = [
  'https://acme-v02.api.letsencrypt.org/directory',
  'https://acme-staging-v02.api.letsencrypt.org/directory',
];

/** The EnvoyProxy the GatewayClass points at, in the given platform render. */
function classProxy(platform: K8sObject[]): K8sObject {
  const ref = findOne(platform, 'GatewayClass', 'envoy-gateway').spec.parametersRef;
  assert.deepEqual([ref?.group, ref?.kind], ['gateway.envoyproxy.io', 'EnvoyProxy'], 'parametersRef is an EnvoyProxy');
  assert.ok(ref.namespace, 'a GatewayClass parametersRef must name the namespace');
  const proxy = findOne(platform, 'EnvoyProxy', ref.name);
  assert.equal(proxy.metadata.namespace, ref.namespace);
  return proxy;
}

describe('edge: the Gateway from the internet, and its certificate', { skip: kubectlSkipReason() }, () => {
  it('the GatewayClass makes every Gateway an internet-facing NLB with IP targets (AWS Load Balancer Controller)', () => {
    const service = classProxy(render('platform')).spec.provider.kubernetes.envoyService;
    assert.equal(service.type, 'LoadBalancer');
    assert.equal(service.annotations[`${lb}type`], 'external', 'the AWS Load Balancer Controller takes the Service');
    assert.equal(service.annotations[`${lb}scheme`], 'internet-facing', 'the controller defaults to internal');
    assert.equal(service.annotations[`${lb}nlb-target-type`], 'ip');
    assert.match(service.annotations[`${lb}target-group-attributes`] ?? '', /preserve_client_ip\.enabled=true/);
    assert.ok(['Local', 'Cluster'].includes(service.externalTrafficPolicy));
  });

  it('internal-nlb changes the scheme to internal and nothing else', () => {
    const open = classProxy(render('platform'));
    const internal = classProxy(render('platform+internal-nlb'));
    assert.equal(internal.spec.provider.kubernetes.envoyService.annotations[`${lb}scheme`], 'internal');
    const withoutScheme = (p: K8sObject): Any => {
      const copy = structuredClone(p);
      delete copy.spec.provider.kubernetes.envoyService.annotations[`${lb}scheme`];
      return copy;
    };
    assert.deepEqual(withoutScheme(internal), withoutScheme(open));
  });

  it('the EnvoyProxy check is strict: a misspelt field or a wrong enum value fails it', () => {
    const proxy = classProxy(render('platform'));
    assert.deepEqual(envoyProxyErrors(proxy), []);
    const misspelt = structuredClone(proxy);
    misspelt.spec.provider.kubernetes.envoyService.annotation =
      misspelt.spec.provider.kubernetes.envoyService.annotations;
    assert.match(envoyProxyErrors(misspelt).join(), /envoyService\.annotation: unknown field/);
    const badPolicy = structuredClone(proxy);
    badPolicy.spec.provider.kubernetes.envoyService.externalTrafficPolicy = 'local';
    assert.match(envoyProxyErrors(badPolicy).join(), /externalTrafficPolicy: local not one of/);
  });

  for (const target of Object.keys(appTargets) as AppTarget[]) {
    it(`${target}: the https listener's certificate is issued over HTTP-01 through this Gateway, or the edge is the ALB`, () => {
      const objs = render(target);
      const gateway = findAll(objs, 'Gateway')[0];
      if (!gateway) {
        // The ALB Ingress terminates TLS with an ACM certificate: no Gateway, so no issuer for one.
        assert.equal(findAll(objs, 'Issuer').length, 0, 'no issuer left without its Gateway');
        findOne(objs, 'Ingress', 'sentiment');
        return;
      }
      const listeners: Any[] = gateway.spec.listeners;
      const https = listeners.filter((l) => l.protocol === 'HTTPS');
      assert.ok(https.length > 0);
      for (const l of https) {
        assert.ok(l.hostname, `listener ${l.name}: cert-manager issues only for listeners with a hostname`);
        assert.ok(l.tls.certificateRefs.every((r: Any) => (r.kind ?? 'Secret') === 'Secret' && r.name));
      }
      const issuerName = gateway.metadata.annotations?.['cert-manager.io/issuer'];
      assert.ok(issuerName, 'the Gateway names a namespaced issuer for cert-manager');
      const issuer = findOne(objs, 'Issuer', issuerName);
      assert.equal(issuer.metadata.namespace, gateway.metadata.namespace);
      const acme = issuer.spec.acme;
      assert.ok(letsEncrypt.includes(acme.server), `ACME server ${acme.server}`);
      assert.ok(acme.email && acme.privateKeySecretRef?.name, 'account e-mail and key Secret');
      const solvers: Any[] = acme.solvers;
      assert.ok(solvers.length > 0);
      for (const solver of solvers) {
        const parents: Any[] = solver.http01?.gatewayHTTPRoute?.parentRefs ?? [];
        assert.ok(parents.length > 0, 'an HTTP-01 solver through the Gateway');
        for (const ref of parents) {
          assert.deepEqual([ref.kind ?? 'Gateway', ref.name], ['Gateway', gateway.metadata.name]);
          const listener = listeners.find((l) => l.name === ref.sectionName);
          assert.ok(listener, `listener ${ref.sectionName}`);
          assert.deepEqual([listener.protocol, listener.port], ['HTTP', 80], "Let's Encrypt validates on port 80");
          for (const l of https)
            assert.equal(listener.hostname, l.hostname, 'the challenge host is the certificate host');
        }
      }
    });

    it(`${target}: on the plain-HTTP listener, nothing outranks cert-manager's Exact challenge path`, () => {
      const objs = render(target);
      const gateway = findAll(objs, 'Gateway')[0];
      if (!gateway) return;
      const httpListeners = new Set(
        gateway.spec.listeners.filter((l: Any) => l.protocol === 'HTTP').map((l: Any) => l.name),
      );
      for (const route of findAll(objs, 'HTTPRoute')) {
        if (!route.spec.parentRefs.some((r: Any) => httpListeners.has(r.sectionName))) continue;
        for (const rule of route.spec.rules) {
          for (const match of rule.matches ?? []) {
            // An Exact or RegularExpression match, or any header/method/query match, could take the challenge.
            assert.deepEqual(Object.keys(match), ['path'], `${route.metadata.name}: path matches only`);
            assert.equal(match.path.type, 'PathPrefix', `${route.metadata.name}: prefix matches only`);
          }
        }
      }
      // The solver pod (labelled by cert-manager, not by us) must stay reachable: no policy of ours selects every pod.
      for (const policy of findAll(objs, 'NetworkPolicy'))
        assert.ok(Object.keys(policy.spec.podSelector.matchLabels ?? {}).length > 0, policy.metadata.name);
    });
  }

  it("HTTP-01 needs Let's Encrypt to reach the Gateway: the default edge is internet-facing where overlays use it", () => {
    const usesHttp01 = (Object.keys(appTargets) as AppTarget[]).some((t) =>
      findAll(render(t), 'Issuer').some((i) => i.spec.acme?.solvers?.some((s: Any) => s.http01)),
    );
    assert.ok(usesHttp01);
    const service = classProxy(render('platform')).spec.provider.kubernetes.envoyService;
    assert.equal(service.annotations[`${lb}scheme`], 'internet-facing');
  });
});
