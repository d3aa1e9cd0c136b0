import { envoyProxyErrors } from './envoy-proxy-shape.js';

// apiVersion -> the kubernetes-models package whose classes validate it: one map for every manifest test, so an object
// kind that no test can validate is an object we do not ship.
export const schemaModules: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'scheduling.k8s.io/v1': 'kubernetes-models/scheduling.k8s.io/v1',
  'karpenter.sh/v1': '@kubernetes-models/karpenter/karpenter.sh/v1',
  'karpenter.k8s.aws/v1': '@kubernetes-models/karpenter/karpenter.k8s.aws/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
  'gateway.networking.k8s.io/v1': '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'cert-manager.io/v1': '@kubernetes-models/cert-manager/cert-manager.io/v1',
};

/** apiVersions with no schema package, checked by a focused structural check instead (see each module). */
export const structuralChecks: Record<string, (obj: unknown) => string[]> = {
  'gateway.envoyproxy.io/v1alpha1': envoyProxyErrors,
};
