// Validates built add-on objects with the kubernetes-models schema classes, as
// test/core/controlplane/validate.ts does for the seed objects, plus the kinds only add-ons apply.
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { APIService } from 'kubernetes-models/apiregistration.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';

interface Validatable {
  validate(): void;
}

const MODELS: Record<string, (data: never) => Validatable> = {
  'v1/Namespace': (data) => new Namespace(data),
  'v1/ServiceAccount': (data) => new ServiceAccount(data),
  'v1/ConfigMap': (data) => new ConfigMap(data),
  'v1/Service': (data) => new Service(data),
  'apps/v1/DaemonSet': (data) => new DaemonSet(data),
  'apps/v1/Deployment': (data) => new Deployment(data),
  'policy/v1/PodDisruptionBudget': (data) => new PodDisruptionBudget(data),
  'apiregistration.k8s.io/v1/APIService': (data) => new APIService(data),
  'rbac.authorization.k8s.io/v1/Role': (data) => new Role(data),
  'rbac.authorization.k8s.io/v1/RoleBinding': (data) => new RoleBinding(data),
  'rbac.authorization.k8s.io/v1/ClusterRole': (data) => new ClusterRole(data),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': (data) => new ClusterRoleBinding(data),
};

/** Throws with the object's kind and name when the schema rejects it. */
export function validateObject(object: { apiVersion: string; kind: string; metadata?: { name?: string } }): void {
  const build = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!build) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  try {
    // A deep copy: the model classes keep a reference and must not alter the built object.
    build(structuredClone(object) as never).validate();
  } catch (error) {
    throw new Error(`${object.kind}/${object.metadata?.name ?? '?'}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
