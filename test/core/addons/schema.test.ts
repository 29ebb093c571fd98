import { describe, expect, it } from 'vitest';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { SUPPORTED_VERSIONS } from '../../../services/core/src/versions.js';
import { CNI_PLUGINS, buildAddonSteps, type TenantManifest } from '../../../services/core/src/addons/index.js';
import { referenceAddonSpec } from './reference.js';
import { validateObject } from './validate.js';

type Workload = IDaemonSet | IDeployment;

function workloads(manifests: TenantManifest[]): Workload[] {
  return manifests.filter((object) => object.kind === 'DaemonSet' || object.kind === 'Deployment') as unknown as Workload[];
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return Object.keys(selector ?? {}).length > 0 && Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);
}

function key(object: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** What the schema cannot see: references between the built objects resolve, as the cluster needs. */
function checkConsistency(manifests: TenantManifest[]): void {
  const byKey = new Map(manifests.map((object) => [key(object), object]));
  const has = (kind: string, name: string, namespace?: string): boolean => byKey.has(`${kind}/${namespace ?? ''}/${name}`);
  expect(byKey.size, 'no two objects share kind, namespace and name').toBe(manifests.length);
  const namespaces = new Set(['kube-system', ...manifests.filter((object) => object.kind === 'Namespace').map((object) => object.metadata.name)]);
  for (const object of manifests) {
    const name = key(object);
    expect(object.metadata.labels?.['app.kubernetes.io/managed-by'], name).toBe('harbormaster');
    expect(object.metadata.labels?.['app.kubernetes.io/part-of'], name).toBe('harbormaster-addons');
    expect(object.metadata.labels?.['app.kubernetes.io/name'], name).toBeTruthy();
    if (object.metadata.namespace) expect(namespaces.has(object.metadata.namespace), `${name} namespace`).toBe(true);
  }
  const pods = workloads(manifests);
  for (const workload of pods) {
    const name = `${workload.kind}/${workload.metadata?.name}`;
    const namespace = workload.metadata?.namespace;
    const template = workload.spec?.template;
    expect(matches(workload.spec?.selector.matchLabels, template?.metadata?.labels), `${name} selector`).toBe(true);
    expect(template?.metadata?.labels?.['app.kubernetes.io/name'], name).toBeTruthy();
    const podSpec = template?.spec as IPodSpec;
    if (podSpec.serviceAccountName) expect(has('ServiceAccount', podSpec.serviceAccountName, namespace), `${name} service account`).toBe(true);
    const volumes = new Map((podSpec.volumes ?? []).map((volume) => [volume.name, volume]));
    for (const volume of volumes.values()) {
      if (volume.configMap) expect(has('ConfigMap', volume.configMap.name ?? '', namespace), `${name} volume ${volume.name}`).toBe(true);
    }
    for (const container of [...(podSpec.initContainers ?? []), ...podSpec.containers]) {
      expect(container.image, `${name}/${container.name} image`).toMatch(/^[a-z0-9.-]+\/[a-z0-9./-]+:v?\d+\.\d+\.\d+/);
      for (const mount of container.volumeMounts ?? []) expect(volumes.has(mount.name), `${name}/${container.name} mount ${mount.name}`).toBe(true);
      for (const env of container.env ?? []) {
        const ref = env.valueFrom?.configMapKeyRef;
        if (ref && !ref.optional) expect(has('ConfigMap', ref.name ?? '', namespace), `${name} env ${env.name}`).toBe(true);
      }
    }
  }
  for (const object of manifests) {
    if (object.kind === 'Service') {
      const service = object as unknown as IService;
      expect(
        pods.some(
          (workload) => workload.metadata?.namespace === object.metadata.namespace && matches(service.spec?.selector, workload.spec?.template.metadata?.labels),
        ),
        key(object),
      ).toBe(true);
    }
    if (object.kind === 'PodDisruptionBudget') {
      const budget = object as unknown as IPodDisruptionBudget;
      expect(
        pods.some((workload) => matches(budget.spec?.selector?.matchLabels, workload.spec?.template.metadata?.labels)),
        key(object),
      ).toBe(true);
    }
    if (object.kind === 'ClusterRoleBinding' || object.kind === 'RoleBinding') {
      for (const subject of (object as unknown as IClusterRoleBinding).subjects ?? []) {
        if (subject.kind === 'ServiceAccount') expect(has('ServiceAccount', subject.name, subject.namespace), `${key(object)} subject`).toBe(true);
      }
    }
  }
}

describe('every built add-on object validates against the Kubernetes schemas', () => {
  for (const version of SUPPORTED_VERSIONS) {
    for (const cni of CNI_PLUGINS) {
      for (const metricsServer of [false, true]) {
        for (const mtu of [undefined, 1400]) {
          it(`${version.version} / ${cni} / metrics-server ${metricsServer ? 'on' : 'off'} / mtu ${mtu ?? 'auto'}`, () => {
            const spec = referenceAddonSpec({ cni, metricsServer }, { version: version.version, mtu });
            const manifests = buildAddonSteps(spec).flatMap((step) => step.objects.map((object) => object.manifest));
            expect(manifests.length).toBeGreaterThan(8);
            for (const object of manifests) validateObject(object);
            checkConsistency(manifests);
          });
        }
      }
    }
  }

  it('rejects objects the API server would reject (the validator is not a no-op)', () => {
    const manifests = buildAddonSteps(referenceAddonSpec({ cni: 'flannel', metricsServer: true })).flatMap((step) =>
      step.objects.map((object) => object.manifest),
    );
    const daemonSet = manifests.find((object) => object.kind === 'DaemonSet');
    const apiService = manifests.find((object) => object.kind === 'APIService');
    if (!daemonSet || !apiService) throw new Error('no DaemonSet or APIService built');
    const broken = structuredClone(daemonSet) as unknown as { spec: { template: { spec: { containers?: unknown } } } };
    delete broken.spec.template.spec.containers;
    expect(() => validateObject(broken as unknown as TenantManifest)).toThrow(/DaemonSet/);
    const badPriority = structuredClone(apiService) as unknown as { spec: { groupPriorityMinimum: unknown } };
    badPriority.spec.groupPriorityMinimum = 'high';
    expect(() => validateObject(badPriority as unknown as TenantManifest)).toThrow(/APIService/);
  });
});
