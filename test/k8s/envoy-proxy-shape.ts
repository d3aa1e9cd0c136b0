// Envoy Gateway's EnvoyProxy (gateway.envoyproxy.io/v1alpha1) has no schema package on npm, unlike every other kind
// shipped here. This is a focused structural check of the part of it that k8s/ writes, after Envoy Gateway's API
// reference (EnvoyProxySpec.provider.kubernetes.envoyService): the fields, their types and enum values. It is strict
// like the unknown-field check of the other kinds: a field it does not know is an error, so a misspelt one (which
// the API server would drop silently) fails, and writing a new field means adding it here from the reference.

type Shape = 'string' | 'stringMap' | readonly string[] | { readonly [field: string]: Shape };

const metadata: Shape = { name: 'string', namespace: 'string', labels: 'stringMap', annotations: 'stringMap' };

const envoyProxy: Shape = {
  apiVersion: ['gateway.envoyproxy.io/v1alpha1'],
  kind: ['EnvoyProxy'],
  metadata,
  spec: {
    provider: {
      type: ['Kubernetes', 'Custom'],
      kubernetes: {
        envoyService: {
          name: 'string',
          type: ['LoadBalancer', 'ClusterIP', 'NodePort'],
          externalTrafficPolicy: ['Local', 'Cluster'],
          loadBalancerClass: 'string',
          annotations: 'stringMap',
          labels: 'stringMap',
        },
      },
    },
  },
};

function shapeErrors(value: unknown, shape: Shape, at: string): string[] {
  if (shape === 'string') return typeof value === 'string' ? [] : [`${at}: not a string`];
  if (shape === 'stringMap') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: not a map`];
    return Object.entries(value)
      .filter(([, v]) => typeof v !== 'string')
      .map(([k]) => `${at}.${k}: not a string`);
  }
  if (Array.isArray(shape))
    return shape.includes(value as string) ? [] : [`${at}: ${String(value)} not one of ${shape}`];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: not an object`];
  const fields = shape as { readonly [field: string]: Shape };
  return Object.entries(value).flatMap(([k, v]) =>
    fields[k] === undefined ? [`${at}.${k}: unknown field`] : shapeErrors(v, fields[k], `${at}.${k}`),
  );
}

/** What is wrong with a rendered EnvoyProxy, as far as the fields above go; [] when nothing is. */
export function envoyProxyErrors(obj: unknown): string[] {
  const errors = shapeErrors(obj, envoyProxy, 'EnvoyProxy');
  const provider = (obj as { spec?: { provider?: { type?: string } } }).spec?.provider;
  if (provider && provider.type === undefined) errors.push('EnvoyProxy.spec.provider.type: required');
  return errors;
}
