// Validates built objects with the kubernetes-models schema classes, the way the API server's
// OpenAPI validation would reject them.
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Endpoints, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';

interface Validatable {
  validate(): void;
}

const MODELS: Record<string, (data: never) => Validatable> = {
  'v1/Namespace': (data) => new Namespace(data),
  'v1/Secret': (data) => new Secret(data),
  'v1/ConfigMap': (data) => new ConfigMap(data),
  'v1/Service': (data) => new Service(data),
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the builders still emit v1 Endpoints, so their schema must be checked
  'v1/Endpoints': (data) => new Endpoints(data),
  'discovery.k8s.io/v1/EndpointSlice': (data) => new EndpointSlice(data),
  'apps/v1/Deployment': (data) => new Deployment(data),
  'apps/v1/StatefulSet': (data) => new StatefulSet(data),
  'policy/v1/PodDisruptionBudget': (data) => new PodDisruptionBudget(data),
  'networking.k8s.io/v1/NetworkPolicy': (data) => new NetworkPolicy(data),
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
