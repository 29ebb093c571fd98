// Assembles a tenant control plane from the per-component builders, grouped in apply order.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ensureClusterPki, type ClusterPki } from '../pki/cluster-pki.js';
import type { KeyAlgorithm } from '../pki/keys.js';
import { buildApiserverDeployment, buildApiserverPdb } from './apiserver.js';
import { baseLabels, configHash } from './common.js';
import { buildControllerManagerDeployment } from './controller-manager.js';
import { buildEtcdPdb, buildEtcdService, buildEtcdStatefulSet } from './etcd.js';
import { buildExternalApiserverService, buildInternalApiserverService } from './expose.js';
import { buildNetworkPolicies } from './network-policies.js';
import { buildSchedulerDeployment } from './scheduler.js';
import { buildSecrets } from './secrets.js';
import { pkiSpecFor, resolveSpec, type ControlPlaneSpec } from './spec.js';

export * from './spec.js';
export { SECRET, PKI_DIR, ETCD_PKI_DIR, KUBECONFIG_PATH } from './secrets.js';
export { INTERNAL_APISERVER_SERVICE, EXTERNAL_APISERVER_SERVICE } from './expose.js';
export { etcdQuorum } from './etcd.js';

export type SeedObject =
  | INamespace
  | ISecret
  | IConfigMap
  | IService
  | IPodDisruptionBudget
  | INetworkPolicy
  | IStatefulSet
  | IDeployment;

export type ApplyGroupName = 'namespace' | 'config' | 'network-policies' | 'etcd' | 'apiserver' | 'controllers';

export interface ApplyGroup {
  name: ApplyGroupName;
  objects: SeedObject[];
}

export interface ControlPlaneObjects {
  namespace: string;
  /**
   * Apply a group, then wait as the group requires before the next (etcd quorum before the
   * apiserver, the apiserver before the controllers); objects inside a group are independent.
   */
  groups: ApplyGroup[];
}

export function allObjects(objects: ControlPlaneObjects): SeedObject[] {
  return objects.groups.flatMap((group) => group.objects);
}

export function buildControlPlane(input: ControlPlaneSpec, pki: ClusterPki): ControlPlaneObjects {
  const spec = resolveSpec(input);
  const secrets = buildSecrets(spec, pki);
  const namespace: INamespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: spec.namespace, labels: { ...baseLabels(spec), 'pod-security.kubernetes.io/enforce': 'baseline' } },
  };
  return {
    namespace: spec.namespace,
    groups: [
      { name: 'namespace', objects: [namespace] },
      {
        name: 'config',
        objects: [
          secrets.etcdCerts,
          secrets.apiserverCerts,
          secrets.controllerManagerCerts,
          secrets.controllerManagerKubeconfig,
          secrets.schedulerKubeconfig,
          secrets.adminKubeconfig,
          secrets.viewerKubeconfig,
        ],
      },
      { name: 'network-policies', objects: buildNetworkPolicies(spec) },
      {
        name: 'etcd',
        objects: [buildEtcdService(spec), buildEtcdPdb(spec), buildEtcdStatefulSet(spec, configHash([secrets.etcdCerts]))],
      },
      {
        name: 'apiserver',
        objects: [
          buildInternalApiserverService(spec),
          buildExternalApiserverService(spec),
          buildApiserverPdb(spec),
          buildApiserverDeployment(spec, configHash([secrets.apiserverCerts])),
        ],
      },
      {
        name: 'controllers',
        objects: [
          buildControllerManagerDeployment(spec, configHash([secrets.controllerManagerCerts, secrets.controllerManagerKubeconfig])),
          buildSchedulerDeployment(spec, configHash([secrets.schedulerKubeconfig])),
        ],
      },
    ],
  };
}

export interface RenderedCluster {
  pki: ClusterPki;
  objects: ControlPlaneObjects;
}

/** PKI plus manifests from nothing: what a new cluster costs, for benchmarks (ECDSA vs RSA). */
export async function renderCluster(
  spec: ControlPlaneSpec,
  options: { keyAlgorithm: KeyAlgorithm; now?: Date; existing?: ClusterPki } = { keyAlgorithm: 'ecdsa' },
): Promise<RenderedCluster> {
  const { pki } = await ensureClusterPki(options.existing, pkiSpecFor(spec, options.keyAlgorithm), options.now ?? new Date());
  return { pki, objects: buildControlPlane(spec, pki) };
}
