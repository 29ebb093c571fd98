// The shape of one control-plane component and of one step of the apply sequence. A component
// carries everything that is specific to it: its Secrets, its seed objects, the network flows it
// needs, the client certificates it asks for and how its readiness is read, so adding one is a
// builder file plus an entry in sequence.ts. The worker applies steps in order and knows no
// component by name.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { ClientCertificate, ClusterPki } from '../pki/cluster-pki.js';
import type { ResolvedSpec } from './spec.js';

export type SeedObject = INamespace | ISecret | IConfigMap | IService | IPodDisruptionBudget | INetworkPolicy | IStatefulSet | IDeployment;

/**
 * How the worker reads an awaited object's readiness (it maps each kind to a reader in one
 * table, since some readings need I/O):
 * - `statefulSetQuorum`: a majority of the StatefulSet's replicas ready, as etcd needs;
 * - `deploymentRolledOut`: every replica runs the current template and is ready;
 * - `apiserverReadyz`: rolled out, and `/readyz` answers through the exposed endpoint with the
 *   admin credentials (nothing in the seed changes when it starts answering, so it is polled).
 */
export type ReadinessKind = 'statefulSetQuorum' | 'deploymentRolledOut' | 'apiserverReadyz';

/** The object whose state says a component is ready, and the cluster condition reporting it. */
export interface AwaitedObject {
  kind: 'StatefulSet' | 'Deployment';
  name: string;
  readiness: ReadinessKind;
  /** Condition type on the cluster, e.g. `EtcdReady`; the reader supplies reason and message. */
  condition: string;
}

export interface ComponentDefinition {
  /**
   * Client certificates (signed by the cluster CA) it needs beyond the built-in leaves of
   * pki/cluster-pki.ts; its `secrets` read them from the PKI by name.
   */
  clientCertificates?: readonly ClientCertificate[];
  /**
   * Secrets only this component mounts. They are applied with the other Secrets before any
   * workload, and their hash goes into its pod template so a rotated certificate rolls it.
   */
  secrets(spec: ResolvedSpec, pki: ClusterPki): ISecret[];
  /** Its seed objects, given the hash of its secrets. */
  objects(spec: ResolvedSpec, secretsHash: string): SeedObject[];
  /**
   * Flows it needs beyond the namespace's frame (default deny, DNS, the apiserver's own
   * policies); see network-policies.ts for helpers.
   */
  networkPolicies?(spec: ResolvedSpec): INetworkPolicy[];
  /** What the next step waits for; a component without it is applied and not waited on. */
  awaits?: AwaitedObject;
}

/** One apply group of the sequence: its components are independent of each other. */
export interface ControlPlaneStep {
  /** Names the apply group; the worker's events say `Applied<Name>`, e.g. `AppliedEtcd`. */
  name: string;
  /** The cluster's phase reason while the step is not ready, e.g. `WaitingForEtcd`. */
  waitReason: string;
  components: readonly ComponentDefinition[];
}

/** `namespace`, `config`, `network-policies`, then the step names of sequence.ts. */
export type ApplyGroupName = string;

/** A step as built for one cluster: what the worker applies, then awaits. */
export interface ApplyGroup {
  name: ApplyGroupName;
  objects: SeedObject[];
  /** What must be ready before the next group is applied; empty when nothing is awaited. */
  awaits: AwaitedObject[];
  /** The cluster's phase reason while `awaits` is not ready. */
  waitReason?: string;
  /** Part of the frame (frame.ts): a pass applies it before the PKI exists, from buildFrame. */
  frame?: true;
}
