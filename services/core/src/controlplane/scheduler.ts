// kube-scheduler: needs nothing but a kubeconfig for the apiserver.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { LEAF } from '../pki/cluster-pki.js';
import { flagArguments, resources } from './common.js';
import type { ComponentDefinition } from './component.js';
import { buildControllerDeployment, kubeconfigFlags } from './controllers.js';
import { egressToApiserver } from './network-policies.js';
import { SECRET, kubeconfigSecret } from './secrets.js';
import { SCHEDULER_PORT, internalServerUrl, type ResolvedSpec } from './spec.js';

export function schedulerArguments(spec: ResolvedSpec): string[] {
  return flagArguments(spec, 'scheduler', {
    ...kubeconfigFlags(),
    'bind-address': '$(POD_IP)',
    'secure-port': String(SCHEDULER_PORT),
    'leader-elect': 'true',
    profiling: 'false',
  });
}

export function buildSchedulerDeployment(spec: ResolvedSpec, secretsHash: string): IDeployment {
  return buildControllerDeployment(spec, {
    component: 'kube-scheduler',
    image: spec.version.images.scheduler,
    args: schedulerArguments(spec),
    healthPort: SCHEDULER_PORT,
    kubeconfigSecret: SECRET.schedulerKubeconfig,
    secretsHash,
    resources: resources('50m', '128Mi', '500m', '512Mi'),
  });
}

export const scheduler: ComponentDefinition = {
  secrets: (spec, pki) => [kubeconfigSecret(spec, pki, SECRET.schedulerKubeconfig, 'scheduler', internalServerUrl(spec), LEAF.scheduler)],
  objects: (spec, secretsHash) => [buildSchedulerDeployment(spec, secretsHash)],
  networkPolicies: (spec) => [egressToApiserver(spec, 'scheduler-egress', 'kube-scheduler')],
  awaits: { kind: 'Deployment', name: 'kube-scheduler', readiness: 'deploymentRolledOut', condition: 'SchedulerReady' },
};
