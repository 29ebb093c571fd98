// Pieces every add-on builder shares. Each call returns fresh objects, so no two built objects
// share a mutable part.
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IAPIService } from 'kubernetes-models/apiregistration.k8s.io/v1/APIService';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { ISubject } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Subject';
import type { AddonObject, AddonSpec, OwnershipPolicy, TenantManifest } from './addon.js';
import { DomainError } from '../model/errors.js';
import type { AddonImages } from '../versions.js';

/** The kinds add-ons apply, typed by kubernetes-models. */
export type AddonModel =
  | INamespace
  | IServiceAccount
  | IConfigMap
  | IService
  | IClusterRole
  | IClusterRoleBinding
  | IRole
  | IRoleBinding
  | IDaemonSet
  | IDeployment
  | IPodDisruptionBudget
  | IAPIService;

export const KUBE_SYSTEM = 'kube-system';
export const NAME_LABEL = 'app.kubernetes.io/name';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';

/** What every object of an add-on carries; selectors keep the upstream labels, which other tools look for. */
export function addonLabels(addon: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, [NAME_LABEL]: addon, [MANAGED_BY_LABEL]: 'harbormaster', [PART_OF_LABEL]: 'harbormaster-addons' };
}

export interface Meta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export function meta(addon: string, name: string, namespace?: string, extraLabels: Record<string, string> = {}): Meta {
  return { name, ...(namespace === undefined ? {} : { namespace }), labels: addonLabels(addon, extraLabels) };
}

/** The applied shape of a typed object; the name is what server-side apply addresses it by. */
export function toManifest(object: AddonModel): TenantManifest {
  const name = object.metadata?.name;
  // eslint-disable-next-line no-restricted-syntax -- every builder names its objects; a nameless one is a bug in a builder
  if (!name) throw new Error(`an add-on ${object.kind} has no name`);
  const { apiVersion, kind, metadata, ...rest } = object;
  const labels = metadata?.labels;
  // apiVersion, kind and metadata first, as kubectl shows objects and the golden files read best.
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      ...(metadata?.namespace === undefined ? {} : { namespace: metadata.namespace }),
      ...(labels === undefined ? {} : { labels: { ...labels } }),
      ...(metadata?.annotations === undefined ? {} : { annotations: { ...metadata.annotations } }),
    },
    ...rest,
  };
}

export function enforced(object: AddonModel): AddonObject {
  return { manifest: toManifest(object), ownership: 'enforced' satisfies OwnershipPolicy };
}

export function userEditable(object: AddonModel): AddonObject {
  return { manifest: toManifest(object), ownership: 'userEditable' satisfies OwnershipPolicy };
}

/** The image of an add-on the version table carries; validation refuses a selection it does not. */
export function requireImage(spec: AddonSpec, image: keyof AddonImages): string {
  const reference = spec.version.addonImages[image];
  if (!reference) {
    throw new DomainError('precondition', 'addon_unsupported', `Kubernetes ${spec.version.version} has no ${image} image in the version table`);
  }
  return reference;
}

const RBAC_API = 'rbac.authorization.k8s.io';

export function serviceAccountSubject(name: string, namespace: string = KUBE_SYSTEM): ISubject {
  return { kind: 'ServiceAccount', name, namespace };
}

export function userSubject(name: string): ISubject {
  return { kind: 'User', apiGroup: RBAC_API, name };
}

export function groupSubject(name: string): ISubject {
  return { kind: 'Group', apiGroup: RBAC_API, name };
}

export function serviceAccount(addon: string, name: string, namespace: string = KUBE_SYSTEM, extraLabels: Record<string, string> = {}): IServiceAccount {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(addon, name, namespace, extraLabels) };
}

export function clusterRole(addon: string, name: string, rules: IPolicyRule[], extraLabels: Record<string, string> = {}): IClusterRole {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(addon, name, undefined, extraLabels), rules };
}

export function clusterRoleBinding(addon: string, name: string, clusterRoleName: string, subjects: ISubject[]): IClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(addon, name),
    roleRef: { apiGroup: RBAC_API, kind: 'ClusterRole', name: clusterRoleName },
    subjects,
  };
}

export function role(addon: string, name: string, namespace: string, rules: IPolicyRule[]): IRole {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(addon, name, namespace), rules };
}

export function roleBinding(
  addon: string,
  name: string,
  namespace: string,
  roleRef: { kind: 'Role' | 'ClusterRole'; name: string },
  subjects: ISubject[],
): IRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(addon, name, namespace),
    roleRef: { apiGroup: RBAC_API, ...roleRef },
    subjects,
  };
}

export function configMap(addon: string, name: string, namespace: string, data: Record<string, string>, extraLabels: Record<string, string> = {}): IConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(addon, name, namespace, extraLabels), data };
}

export function hostPathVolume(name: string, path: string, type?: 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate'): IVolume {
  return { name, hostPath: { path, ...(type === undefined ? {} : { type }) } };
}

export function fieldEnv(name: string, fieldPath: string): IEnvVar {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

/** The pod template labels: the upstream selector plus the add-on's own. */
export function podLabels(addon: string, selector: Record<string, string>): Record<string, string> {
  return addonLabels(addon, selector);
}

/** Nodes are Linux only; upstream manifests pin it the same way. */
export const LINUX_NODES = { 'kubernetes.io/os': 'linux' };
