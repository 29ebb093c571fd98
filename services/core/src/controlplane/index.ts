// Assembles a tenant control plane from the component steps in sequence.ts, grouped in apply
// order behind the frame (namespace), the Secrets and the network policies.
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { ensureClusterPki, type ClusterPki, type PkiSpec } from '../pki/cluster-pki.js';
import type { KeyAlgorithm } from '../pki/keys.js';
import { configHash } from './common.js';
import type { ApplyGroup, ComponentDefinition, SeedObject } from './component.js';
import { namespaceGroup } from './frame.js';
import { buildNetworkPolicies } from './network-policies.js';
import { buildAccessKubeconfigs } from './secrets.js';
import { CONTROL_PLANE_STEPS } from './sequence.js';
import { isIpv4, resolveSpec, type ControlPlaneSpec } from './spec.js';

export * from './spec.js';
export type { ApplyGroup, ApplyGroupName, AwaitedObject, ComponentDefinition, ControlPlaneStep, ReadinessKind, SeedObject } from './component.js';
export { CONTROL_PLANE_STEPS } from './sequence.js';
export { buildFrame, type ControlPlaneFrame } from './frame.js';
export { SECRET, PKI_DIR, ETCD_PKI_DIR, KUBECONFIG_PATH } from './secrets.js';
export { INTERNAL_APISERVER_SERVICE, EXTERNAL_APISERVER_SERVICE, KONNECTIVITY_SERVICE_PORT } from './expose.js';
export {
  KONNECTIVITY_AGENT_PORT,
  KONNECTIVITY_CONTAINER,
  KONNECTIVITY_HEALTH_PORT,
  KONNECTIVITY_SOCKET,
  EGRESS_CONFIG_PATH,
  konnectivityServerArguments,
  egressSelectorConfiguration,
} from './konnectivity.js';
export { etcdQuorum } from './etcd.js';
export { quorumOf } from './common.js';

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
  const components = CONTROL_PLANE_STEPS.flatMap((step) => step.components);
  const secrets = new Map<ComponentDefinition, ISecret[]>(components.map((component) => [component, component.secrets(spec, pki)]));
  const secretsOf = (component: ComponentDefinition): ISecret[] => secrets.get(component) ?? [];
  return {
    namespace: spec.namespace,
    groups: [
      namespaceGroup(spec),
      { name: 'config', objects: [...components.flatMap(secretsOf), ...buildAccessKubeconfigs(spec, pki)], awaits: [] },
      { name: 'network-policies', objects: buildNetworkPolicies(spec, components), awaits: [] },
      ...CONTROL_PLANE_STEPS.map((step) => ({
        name: step.name,
        objects: step.components.flatMap((component) => component.objects(spec, configHash(secretsOf(component)))),
        awaits: step.components.flatMap((component) => (component.awaits ? [component.awaits] : [])),
        waitReason: step.waitReason,
      })),
    ],
  };
}

/** The PKI inputs that follow from a control-plane spec and the components of the sequence. */
export function pkiSpecFor(spec: ControlPlaneSpec, keyAlgorithm: KeyAlgorithm = 'ecdsa'): PkiSpec {
  const resolved = resolveSpec(spec);
  const hostIsIp = isIpv4(resolved.endpoint.host);
  const clients = CONTROL_PLANE_STEPS.flatMap((step) => step.components.flatMap((component) => component.clientCertificates ?? []));
  return {
    namespace: resolved.namespace,
    externalHosts: hostIsIp ? [] : [resolved.endpoint.host],
    externalIps: hostIsIp ? [resolved.endpoint.host] : [],
    serviceCidr: resolved.serviceCidr,
    tenantDnsDomain: resolved.tenantDnsDomain,
    seedDnsDomain: resolved.seedDnsDomain,
    etcdMembers: resolved.etcdMembers,
    keyAlgorithm,
    ...(clients.length > 0 ? { clients } : {}),
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
