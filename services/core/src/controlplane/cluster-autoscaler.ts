// cluster-autoscaler (throwaway: demonstrates what adding a component touches).
import type { ComponentDefinition } from './component.js';
import { flagArguments, resources } from './common.js';
import { buildControllerDeployment, kubeconfigFlags } from './controllers.js';
import { egressToApiserver } from './network-policies.js';
import { kubeconfigSecret } from './secrets.js';
import { internalServerUrl } from './spec.js';

const NAME = 'cluster-autoscaler';
const KUBECONFIG_SECRET = 'cluster-autoscaler-kubeconfig';

export const clusterAutoscaler: ComponentDefinition = {
  clientCertificates: [{ name: NAME, identity: { commonName: 'harbormaster:cluster-autoscaler', organizations: [] } }],
  secrets: (spec, pki) => [kubeconfigSecret(spec, pki, KUBECONFIG_SECRET, NAME, internalServerUrl(spec), NAME)],
  objects: (spec, secretsHash) => [
    buildControllerDeployment(spec, {
      component: NAME,
      image: 'registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.0',
      args: flagArguments(spec, 'scheduler', { ...kubeconfigFlags(), 'leader-elect': 'true' }),
      healthPort: 8085,
      kubeconfigSecret: KUBECONFIG_SECRET,
      secretsHash,
      resources: resources('50m', '128Mi', '500m', '512Mi'),
    }),
  ],
  networkPolicies: (spec) => [egressToApiserver(spec, 'cluster-autoscaler-egress', NAME)],
  awaits: { kind: 'Deployment', name: NAME, readiness: 'deploymentRolledOut', condition: 'ClusterAutoscalerReady' },
};
