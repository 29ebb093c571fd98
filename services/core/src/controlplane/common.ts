// Pieces every component builder shares. Each call returns fresh objects, so no two built
// objects share a mutable part.
import { createHash } from 'node:crypto';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IIoK8sApimachineryPkgApisMetaV1ObjectMeta as ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { applyFlagOverrides, type ControlPlaneComponent } from '../versions.js';
import type { ResolvedSpec } from './spec.js';

/** A component's name, e.g. `kube-apiserver`: its `app.kubernetes.io/name` label and selector. */
export type ComponentName = string;

export const NAME_LABEL = 'app.kubernetes.io/name';
export const CLUSTER_ID_LABEL = 'harbormaster.dev/cluster-id';
export const CONFIG_HASH_ANNOTATION = 'harbormaster.dev/config-hash';

export function baseLabels(spec: ResolvedSpec): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'harbormaster', [CLUSTER_ID_LABEL]: spec.clusterId };
}

/** `role` (`app.kubernetes.io/component`) defaults to the name without Kubernetes' `kube-` prefix. */
export function componentLabels(spec: ResolvedSpec, component: ComponentName, role: string = component.replace(/^kube-/, '')): Record<string, string> {
  return { [NAME_LABEL]: component, 'app.kubernetes.io/component': role, ...baseLabels(spec) };
}

/** Selectors stay minimal: a Deployment's selector is immutable, labels may grow. */
export function selectorLabels(spec: ResolvedSpec, component: ComponentName): Record<string, string> {
  return { [NAME_LABEL]: component, [CLUSTER_ID_LABEL]: spec.clusterId };
}

/** The majority of `members`: what a quorum-based store (etcd) needs to serve. */
export function quorumOf(members: number): number {
  return Math.floor(members / 2) + 1;
}

export function metadata(spec: ResolvedSpec, name: string, labels: Record<string, string> = baseLabels(spec)): ObjectMeta {
  // Copies: callers may patch one object's labels without touching another's.
  return { name, namespace: spec.namespace, labels: { ...labels } };
}

export function resources(cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string): IResourceRequirements {
  return { requests: { cpu: cpuRequest, memory: memoryRequest }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}

/** The downward-API variables the `$(POD_NAME)` and `$(POD_IP)` flag arguments expand. */
export function podEnv(): IEnvVar[] {
  return [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  ];
}

export function httpProbe(
  path: string,
  port: number,
  scheme: 'HTTP' | 'HTTPS',
  timing: { periodSeconds: number; failureThreshold: number; timeoutSeconds?: number; initialDelaySeconds?: number },
): IProbe {
  return {
    httpGet: { path, port, scheme },
    periodSeconds: timing.periodSeconds,
    failureThreshold: timing.failureThreshold,
    timeoutSeconds: timing.timeoutSeconds ?? 5,
    ...(timing.initialDelaySeconds === undefined ? {} : { initialDelaySeconds: timing.initialDelaySeconds }),
  };
}

export function containerSecurity(): IContainer['securityContext'] {
  return { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } };
}

/** Spreads replicas of one component over seed nodes when the seed has enough of them. */
export function spreadOverNodes(spec: ResolvedSpec, component: ComponentName): IAffinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(spec, component) } },
        },
      ],
    },
  };
}

/** `--flag=value` arguments in a stable order, after the version table's per-minor overrides. */
export function flagArguments(spec: ResolvedSpec, component: ControlPlaneComponent, flags: Record<string, string>): string[] {
  const baseline = Object.entries(flags).map(([name, value]) => `--${name}=${value}`);
  return applyFlagOverrides(baseline, spec.version.flags[component]);
}

/** A hash of the secrets a pod mounts, so a rotated certificate rolls the pods that use it. */
export function configHash(secrets: readonly ISecret[]): string {
  const hash = createHash('sha256');
  for (const secret of secrets) {
    hash.update(secret.metadata?.name ?? '');
    for (const [key, value] of Object.entries(secret.data ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      hash.update(`\0${key}\0${value}`);
    }
  }
  return hash.digest('hex').slice(0, 16);
}
