// Reading workload status the way `kubectl rollout status` does: a status only counts once
// the controller has observed the current generation.
import type { KubernetesObject } from '@kubernetes/client-node';

interface WorkloadStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
}

interface Workload extends KubernetesObject {
  spec?: { replicas?: number };
  status?: WorkloadStatus;
}

export interface Readiness {
  ready: boolean;
  /** Human-readable state, e.g. "2/3 ready, 3 updated". */
  message: string;
}

function statusOf(object: KubernetesObject | undefined): { wanted: number; generation: number; status: WorkloadStatus } | undefined {
  if (!object) return undefined;
  const workload = object as Workload;
  return { wanted: workload.spec?.replicas ?? 1, generation: workload.metadata?.generation ?? 0, status: workload.status ?? {} };
}

/** A Deployment is rolled out when every replica runs the current template and is ready. */
export function deploymentRolledOut(object: KubernetesObject | undefined): Readiness {
  const facts = statusOf(object);
  if (!facts) return { ready: false, message: 'missing' };
  const { wanted, generation, status } = facts;
  const message = `${status.readyReplicas ?? 0}/${wanted} ready, ${status.updatedReplicas ?? 0} updated`;
  if ((status.observedGeneration ?? 0) < generation) return { ready: false, message: `generation ${generation} not observed yet (${message})` };
  if ((status.updatedReplicas ?? 0) < wanted) return { ready: false, message: `rolling out (${message})` };
  if ((status.replicas ?? 0) > wanted) return { ready: false, message: `old replicas terminating (${message})` };
  if ((status.readyReplicas ?? 0) < wanted) return { ready: false, message };
  return { ready: true, message };
}

/** A Deployment serves once it has its minimum availability (its `Available` condition). */
export function deploymentAvailable(object: KubernetesObject | undefined): Readiness {
  const facts = statusOf(object);
  if (!facts) return { ready: false, message: 'missing' };
  const { wanted, status } = facts;
  const conditions =
    (object as KubernetesObject & { status?: { conditions?: Array<{ type: string; status: string; message?: string }> } }).status?.conditions ?? [];
  const available = conditions.find((condition) => condition.type === 'Available');
  const message = `${status.availableReplicas ?? 0}/${wanted} available`;
  if (available?.status === 'True' && (status.availableReplicas ?? 0) > 0) return { ready: true, message };
  return { ready: false, message: available?.message ? `${message}: ${available.message}` : message };
}

interface DaemonSetStatus {
  observedGeneration?: number;
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberReady?: number;
}

/**
 * A DaemonSet is rolled out when every node it should run on runs the current template and is
 * available, as `kubectl rollout status` reads it; with no eligible node there is nothing to
 * run, which the caller may read as not ready.
 */
export function daemonSetRolledOut(object: KubernetesObject | undefined): Readiness & { desired: number } {
  if (!object) return { ready: false, desired: 0, message: 'missing' };
  const status: DaemonSetStatus = (object as KubernetesObject & { status?: DaemonSetStatus }).status ?? {};
  const desired = status.desiredNumberScheduled ?? 0;
  const message = `${status.numberAvailable ?? 0}/${desired} nodes available, ${status.updatedNumberScheduled ?? 0} updated`;
  if ((status.observedGeneration ?? 0) < (object.metadata?.generation ?? 0))
    return { ready: false, desired, message: `generation not observed yet (${message})` };
  if ((status.updatedNumberScheduled ?? 0) < desired) return { ready: false, desired, message: `rolling out (${message})` };
  if ((status.numberAvailable ?? 0) < desired) return { ready: false, desired, message };
  return { ready: true, desired, message };
}

/**
 * etcd serves as soon as a quorum of members is ready; a missing minority is reported but
 * does not make the store unavailable.
 */
export function statefulSetQuorum(object: KubernetesObject | undefined, quorum: number): Readiness & { full: boolean } {
  const facts = statusOf(object);
  if (!facts) return { ready: false, full: false, message: 'missing' };
  const { wanted, generation, status } = facts;
  const ready = status.readyReplicas ?? 0;
  const message = `${ready}/${wanted} members ready (quorum ${quorum})`;
  if ((status.observedGeneration ?? 0) < generation) return { ready: false, full: false, message: `generation ${generation} not observed yet (${message})` };
  // The apiserver omits zero counts, so a missing updatedReplicas means no member is updated yet.
  const full = ready >= wanted && (status.updatedReplicas ?? 0) >= wanted;
  return { ready: ready >= quorum, full, message };
}
