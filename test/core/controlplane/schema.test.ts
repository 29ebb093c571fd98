import { beforeAll, describe, expect, it } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { SUPPORTED_VERSIONS } from '../../../services/core/src/versions.js';
import { EXPOSE_STRATEGIES } from '../../../services/core/src/model/schemas.js';
import { allObjects, buildControlPlane, type SeedObject } from '../../../services/core/src/controlplane/index.js';
import { buildTenantBootstrapObjects } from '../../../services/core/src/bootstrap/tenant-objects.js';
import type { ClusterPki } from '../../../services/core/src/pki/index.js';
import { referencePki, referenceSpec } from './reference.js';
import { validateObject } from './validate.js';

type Workload = IDeployment | IStatefulSet;

function workloads(objects: SeedObject[]): Workload[] {
  return objects.filter((object): object is Workload => object.kind === 'Deployment' || object.kind === 'StatefulSet');
}

function template(workload: Workload): IPodTemplateSpec {
  const podTemplate = workload.spec?.template;
  if (!podTemplate) throw new Error(`${workload.metadata?.name} has no pod template`);
  return podTemplate;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);
}

/** An emptyDir: files its containers create at run time (a unix socket), not known beforehand. */
const RUNTIME_FILES = 'runtime';

/**
 * Files one container sees, per mount path, from the Secrets and ConfigMaps it mounts; an
 * emptyDir's mount path maps to RUNTIME_FILES.
 */
function mountedFiles(
  workload: Workload,
  container: IContainer,
  secrets: Map<string, ISecret>,
  configMaps: Map<string, IConfigMap>,
): Map<string, Set<string> | typeof RUNTIME_FILES> {
  const podSpec = template(workload).spec;
  const files = new Map<string, Set<string> | typeof RUNTIME_FILES>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = podSpec?.volumes?.find((candidate) => candidate.name === mount.name);
    if (volume?.emptyDir) {
      files.set(mount.mountPath, RUNTIME_FILES);
      continue;
    }
    const secretName = volume?.secret?.secretName;
    const configMapName = volume?.configMap?.name;
    if (secretName) {
      const secret = secrets.get(secretName);
      if (!secret) throw new Error(`${workload.metadata?.name} mounts missing Secret ${secretName}`);
      files.set(mount.mountPath, new Set(Object.keys(secret.data ?? {})));
    } else if (configMapName) {
      const configMap = configMaps.get(configMapName);
      if (!configMap) throw new Error(`${workload.metadata?.name} mounts missing ConfigMap ${configMapName}`);
      files.set(mount.mountPath, new Set(Object.keys(configMap.data ?? {})));
    }
  }
  return files;
}

/** Checks what the schema cannot: references between objects resolve, as the cluster needs. */
function checkConsistency(objects: SeedObject[], namespace: string): void {
  const secrets = new Map(objects.filter((object): object is ISecret => object.kind === 'Secret').map((secret) => [secret.metadata?.name ?? '', secret]));
  const configMaps = new Map(
    objects.filter((object): object is IConfigMap => object.kind === 'ConfigMap').map((configMap) => [configMap.metadata?.name ?? '', configMap]),
  );
  for (const object of objects) {
    const labels = object.metadata?.labels ?? {};
    expect(labels['app.kubernetes.io/managed-by'], `${object.kind}/${object.metadata?.name}`).toBe('harbormaster');
    expect(labels['harbormaster.dev/cluster-id'], `${object.kind}/${object.metadata?.name}`).toBeTruthy();
    if (object.kind !== 'Namespace') expect(object.metadata?.namespace).toBe(namespace);
  }
  const pods = workloads(objects);
  for (const workload of pods) {
    const name = `${workload.kind}/${workload.metadata?.name}`;
    const podTemplate = template(workload);
    expect(matches(workload.spec?.selector.matchLabels, podTemplate.metadata?.labels), `${name} selector`).toBe(true);
    const podLabels = podTemplate.metadata?.labels ?? {};
    expect(podLabels['app.kubernetes.io/name'], name).toBeTruthy();
    expect(podLabels['app.kubernetes.io/component'], name).toBeTruthy();
    const volumeNames = new Set((podTemplate.spec?.volumes ?? []).map((volume) => volume.name));
    const claimNames = new Set(((workload as IStatefulSet).spec?.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name));
    const replicas = workload.spec?.replicas ?? 1;
    for (const container of podTemplate.spec?.containers ?? []) {
      for (const key of ['cpu', 'memory']) {
        expect(container.resources?.requests?.[key], `${name} requests.${key}`).toBeDefined();
        expect(container.resources?.limits?.[key], `${name} limits.${key}`).toBeDefined();
      }
      expect(container.command?.length, `${name} command`).toBe(1);
      expect(container.livenessProbe?.httpGet, `${name} liveness`).toBeDefined();
      expect(container.readinessProbe?.httpGet, `${name} readiness`).toBeDefined();
      for (const mount of container.volumeMounts ?? []) {
        expect(volumeNames.has(mount.name) || claimNames.has(mount.name), `${name} mount ${mount.name}`).toBe(true);
      }
      // Every file a flag names must exist in a Secret or ConfigMap this container mounts (or in
      // an emptyDir it shares, for what a container creates), for every pod name it expands to.
      const files = mountedFiles(workload, container, secrets, configMaps);
      const podNames = workload.kind === 'StatefulSet' ? Array.from({ length: replicas }, (_, index) => `${workload.metadata?.name}-${index}`) : ['pod'];
      for (const podName of podNames) {
        for (const argument of container.args ?? []) {
          const value = argument.split('=').slice(1).join('=').replaceAll('$(POD_NAME)', podName);
          if (!value.startsWith('/etc/kubernetes/')) continue;
          const directory = value.slice(0, value.lastIndexOf('/'));
          const file = value.slice(value.lastIndexOf('/') + 1);
          const found = files.get(directory);
          expect(found === RUNTIME_FILES || found?.has(file), `${name} (${podName}) ${container.name} ${argument}`).toBe(true);
        }
      }
    }
  }
  for (const object of objects) {
    if (object.kind === 'Service' && object.spec?.selector) {
      expect(
        pods.some((workload) => matches(object.spec?.selector, template(workload).metadata?.labels)),
        `Service/${object.metadata?.name}`,
      ).toBe(true);
    }
    if (object.kind === 'PodDisruptionBudget') {
      expect(
        pods.some((workload) => matches(object.spec?.selector?.matchLabels, template(workload).metadata?.labels)),
        `PDB/${object.metadata?.name}`,
      ).toBe(true);
    }
    if (object.kind === 'NetworkPolicy') {
      const selector = object.spec?.podSelector.matchLabels;
      if (selector) {
        expect(
          pods.some((workload) => matches(selector, template(workload).metadata?.labels)),
          `NetworkPolicy/${object.metadata?.name}`,
        ).toBe(true);
      }
    }
  }
}

describe('every built object validates against the Kubernetes schemas', () => {
  let pki: ClusterPki;
  beforeAll(async () => {
    pki = await referencePki();
  });

  for (const version of SUPPORTED_VERSIONS) {
    for (const strategy of EXPOSE_STRATEGIES) {
      for (const members of [1, 3] as const) {
        it(`${version.version} / ${strategy} / ${members} etcd member(s)`, () => {
          const spec = referenceSpec(strategy, { version: version.version, etcd: { members } });
          const built = buildControlPlane(spec, pki);
          const objects = allObjects(built);
          expect(objects.length).toBeGreaterThan(15);
          for (const object of objects) validateObject(object);
          checkConsistency(objects, built.namespace);
          for (const object of buildTenantBootstrapObjects(spec, pki.ca.cluster.certPem)) validateObject(object);
        });
      }
    }
  }

  it('rejects objects the API server would reject (the validator is not a no-op)', () => {
    const objects = allObjects(buildControlPlane(referenceSpec('NodePort'), pki));
    const deployment = objects.find((object) => object.kind === 'Deployment');
    if (!deployment) throw new Error('no Deployment built');
    const broken = structuredClone(deployment) as unknown as { spec: { replicas: unknown; template: { spec: { containers: unknown } } } };
    broken.spec.replicas = 'two';
    expect(() => validateObject(broken as unknown as SeedObject)).toThrow(/Deployment/);
    const noContainers = structuredClone(deployment) as unknown as { spec: { template: { spec: { containers?: unknown } } } };
    delete noContainers.spec.template.spec.containers;
    expect(() => validateObject(noContainers as unknown as SeedObject)).toThrow();
  });
});
