// How a pass reads the readiness of what a step awaits. Core names a readiness kind per awaited
// object (component.ts); this is the one table that maps each kind to a reader, because some
// readings need I/O (the /readyz probe through the exposed endpoint).
import type { KubernetesObject } from '@kubernetes/client-node';
import { quorumOf, type ApplyGroup, type ReadinessKind } from '../../../core/src/controlplane/index.js';
import type { ClusterRow } from '../../../db/src/index.js';
import { deploymentRolledOut, probeEndpoint, statefulSetQuorum } from '../../../kube/src/index.js';
import { CONDITION, conditionsOf, type ClusterStatus } from './cluster-status.js';

export interface ReadinessContext {
  cluster: ClusterRow;
  /** The exposed endpoint's URL. */
  endpointUrl: string;
  adminKubeconfig: string;
}

interface ConditionValue {
  type: string;
  ok: boolean;
  reason: string;
  message: string;
}

interface Reading {
  ready: boolean;
  /** Reason and message of the awaited object's condition. */
  reason: string;
  message: string;
  /** What the wait reports, when it says something other than the condition. */
  waitMessage?: string;
  /** Whether a change of the (watched) seed object can end the wait; otherwise it is polled. */
  onSeedObject: boolean;
  /** Conditions this reading also sets, after the awaited object's own. */
  alsoSets?: ConditionValue[];
}

type Reader = (object: KubernetesObject | undefined, context: ReadinessContext) => Reading | Promise<Reading>;

const READERS: Record<ReadinessKind, Reader> = {
  statefulSetQuorum: (object) => {
    // The rule misreads the optional-only intersection as a no-op; without it tsc rejects `.spec` (KubernetesObject has none).
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see above
    const members = (object as (KubernetesObject & { spec?: { replicas?: number } }) | undefined)?.spec?.replicas ?? 3;
    const quorum = statefulSetQuorum(object, quorumOf(members));
    return { ready: quorum.ready, reason: quorum.ready ? 'QuorumReady' : 'QuorumNotReady', message: quorum.message, onSeedObject: true };
  },
  deploymentRolledOut: (object) => {
    const state = deploymentRolledOut(object);
    return { ready: state.ready, reason: state.ready ? 'RolledOut' : 'RollingOut', message: state.message, onSeedObject: true };
  },
  apiserverReadyz: async (object, { cluster, endpointUrl, adminKubeconfig }) => {
    const rollout = deploymentRolledOut(object);
    if (!rollout.ready) return { ready: false, reason: 'RollingOut', message: rollout.message, onSeedObject: true };
    const readyz = await probeEndpoint(adminKubeconfig);
    // Reachable belongs to the health checker and its thresholds; a pass only seeds it.
    const seedReachable = readyz.ok && !conditionsOf(cluster).some((condition) => condition.type === CONDITION.reachable);
    return {
      ready: readyz.ok,
      reason: readyz.ok ? 'ReadyzOK' : 'ReadyzFailed',
      message: readyz.ok ? `${rollout.message}; /readyz ok` : `/readyz: ${readyz.error ?? `HTTP ${readyz.status}`}`,
      waitMessage: '/readyz failed',
      // Nothing in the seed changes when /readyz starts answering: keep polling.
      onSeedObject: false,
      alsoSets: seedReachable ? [{ type: CONDITION.reachable, ok: true, reason: 'ReadyzOK', message: `GET ${endpointUrl}/readyz returned 200` }] : [],
    };
  },
};

export interface GroupWait {
  reason: string;
  message: string;
  onSeedObject: boolean;
}

/**
 * Reads every object the group awaits and sets its condition; returns what the pass waits for,
 * or undefined when the group is ready.
 */
export async function readGroup(
  group: ApplyGroup,
  applied: readonly KubernetesObject[],
  status: ClusterStatus,
  context: ReadinessContext,
): Promise<GroupWait | undefined> {
  const pending: Array<{ name: string; message: string; onSeedObject: boolean }> = [];
  for (const awaited of group.awaits) {
    const object = applied.find((candidate) => candidate.kind === awaited.kind && candidate.metadata?.name === awaited.name);
    const reading = await READERS[awaited.readiness](object, context);
    status.condition(awaited.condition, reading.ready, reading.reason, reading.message);
    for (const also of reading.alsoSets ?? []) status.condition(also.type, also.ok, also.reason, also.message);
    if (!reading.ready) pending.push({ name: awaited.name, message: reading.waitMessage ?? reading.message, onSeedObject: reading.onSeedObject });
  }
  if (pending.length === 0) return undefined;
  // With several awaited objects, the wait says which one each state is about.
  const message = group.awaits.length > 1 ? pending.map((entry) => `${entry.name}: ${entry.message}`).join('; ') : pending[0].message;
  return { reason: group.waitReason ?? `WaitingFor${group.name}`, message, onSeedObject: pending.every((entry) => entry.onSeedObject) };
}
