// What the controller-manager and scheduler Deployments share: both reach the apiserver only
// through a kubeconfig, run one active replica through leader election and serve HTTPS health.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { CONFIG_HASH_ANNOTATION, containerSecurity, podEnv, componentLabels, httpProbe, metadata, selectorLabels, type ComponentName } from './common.js';
import { KUBECONFIG_DIR, KUBECONFIG_PATH } from './secrets.js';
import type { ResolvedSpec } from './spec.js';

export function kubeconfigFlags(): Record<string, string> {
  return { kubeconfig: KUBECONFIG_PATH, 'authentication-kubeconfig': KUBECONFIG_PATH, 'authorization-kubeconfig': KUBECONFIG_PATH };
}

export interface ControllerDeploymentInput {
  component: ComponentName;
  image: string;
  args: string[];
  healthPort: number;
  kubeconfigSecret: string;
  extraMounts?: Array<{ volume: IVolume; mountPath: string }>;
  secretsHash: string;
  resources: IContainer['resources'];
}

export function buildControllerDeployment(spec: ResolvedSpec, input: ControllerDeploymentInput): IDeployment {
  const labels = componentLabels(spec, input.component);
  const extraMounts = input.extraMounts ?? [];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(spec, input.component, labels),
    spec: {
      replicas: 1,
      selector: { matchLabels: selectorLabels(spec, input.component) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...labels }, annotations: { [CONFIG_HASH_ANNOTATION]: input.secretsHash } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            {
              name: input.component,
              image: input.image,
              command: [input.component],
              args: input.args,
              env: podEnv(),
              ports: [{ name: 'https', containerPort: input.healthPort, protocol: 'TCP' }],
              resources: input.resources,
              livenessProbe: httpProbe('/healthz', input.healthPort, 'HTTPS', {
                periodSeconds: 10,
                failureThreshold: 8,
                timeoutSeconds: 15,
                initialDelaySeconds: 10,
              }),
              readinessProbe: httpProbe('/healthz', input.healthPort, 'HTTPS', { periodSeconds: 5, failureThreshold: 3 }),
              securityContext: containerSecurity(),
              volumeMounts: [
                { name: 'kubeconfig', mountPath: KUBECONFIG_DIR, readOnly: true },
                ...extraMounts.map(({ volume, mountPath }) => ({ name: volume.name, mountPath, readOnly: true })),
              ],
            },
          ],
          volumes: [{ name: 'kubeconfig', secret: { secretName: input.kubeconfigSecret, defaultMode: 0o400 } }, ...extraMounts.map(({ volume }) => volume)],
        },
      },
    },
  };
}
