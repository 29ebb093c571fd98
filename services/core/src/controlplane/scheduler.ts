import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { flagArguments, resources } from './common.js';
import { buildControllerDeployment, kubeconfigFlags } from './controllers.js';
import { SECRET } from './secrets.js';
import { SCHEDULER_PORT, type ResolvedSpec } from './spec.js';

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
