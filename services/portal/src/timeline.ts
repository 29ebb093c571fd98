// Turns what the event stream delivers (the cluster snapshot, timeline events) plus the node
// pools into the milestones the progress timeline shows. Conditions are the truth for the
// control plane (they survive a reconnect); events add the time and the failure reasons.
// During an upgrade the conditions still say True from before the request, so only events
// recorded after the request count as progress there.
import type { Cluster, ClusterEvent, NodePool } from './api.js';

export type MilestoneState = 'done' | 'active' | 'pending' | 'failed' | 'skipped';

export interface Milestone {
  key: 'placed' | 'etcd' | 'apiserver' | 'controllerManager' | 'nodes' | 'running';
  label: string;
  state: MilestoneState;
  detail?: string;
  at?: string;
}

const CONTROL_PLANE_STEPS = [
  { key: 'etcd', label: 'etcd ready', condition: 'EtcdReady' },
  { key: 'apiserver', label: 'API server ready', condition: 'APIServerReady' },
  { key: 'controllerManager', label: 'Controller manager ready', condition: 'ControllerManagerReady' },
] as const;

const JOINED = /\((\d+)\/(\d+) ready\)/;
const UPGRADE_REQUESTED = /^upgrade from (\S+) to (\S+) requested$/;

export interface UpgradeInProgress {
  /** What the components ran before the first request not yet converged; undefined when its message cannot be read. */
  from?: string;
  to: string;
  /** Id of the newest UpgradeRequested event: evidence of progress must be newer than it. */
  requestEventId: number;
}

function lastEvent(events: readonly ClusterEvent[], test: (event: ClusterEvent) => boolean): ClusterEvent | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) if (test(events[i])) return events[i];
  return undefined;
}

/**
 * The upgrade the control plane is rolling towards, if any. Event ids come from one database
 * sequence, so "after the request" compares ids rather than the clocks of the api and the worker.
 */
export function upgradeInProgress(cluster: Cluster | undefined, events: readonly ClusterEvent[]): UpgradeInProgress | undefined {
  if (!cluster || cluster.observedGeneration >= cluster.generation) return undefined;
  const lastReady = lastEvent(events, (event) => event.reason === 'ControlPlaneReady');
  const requests = events.filter((event) => event.reason === 'UpgradeRequested' && event.id > (lastReady?.id ?? 0));
  if (requests.length === 0) return undefined;
  // A second request before the first converged changes the target, not what the components still run.
  const first = UPGRADE_REQUESTED.exec(requests[0].message);
  const newest = requests[requests.length - 1];
  return { from: first?.[1], to: UPGRADE_REQUESTED.exec(newest.message)?.[2] ?? cluster.version, requestEventId: newest.id };
}

/** Progress of the upgrade's control-plane steps, judged only from what happened after the request. */
function upgradeSteps(cluster: Cluster, events: readonly ClusterEvent[], upgrade: UpgradeInProgress): Milestone[] {
  const after = (...reasons: string[]) => lastEvent(events, (event) => event.id > upgrade.requestEventId && reasons.includes(event.reason));
  const conditionOf = (type: string) => cluster.conditions.find((candidate) => candidate.type === type);
  const notReadyMessage = (type: string) => {
    const condition = conditionOf(type);
    return condition?.status === 'True' ? undefined : condition?.message;
  };
  const step = (key: Milestone['key'], label: string, conditionType: string, evidence: ClusterEvent | undefined): Milestone => {
    // A condition that is False now outweighs older evidence: the worker went back to waiting on it.
    const done = Boolean(evidence) && conditionOf(conditionType)?.status !== 'False';
    return {
      key,
      label,
      state: done ? 'done' : 'pending',
      detail: done ? undefined : notReadyMessage(conditionType),
      at: done ? evidence?.createdAt : undefined,
    };
  };

  // The worker touches etcd only when the new minor pairs with another etcd release; until it
  // shows that it did, the upgrade leaves etcd as it was. Reaching the apiserver means quorum held.
  // An etcd not ready yet (an upgrade requested while still provisioning) is in play as well.
  const etcdCondition = conditionOf('EtcdReady');
  const etcdTouched = Boolean(after('AppliedEtcd', 'EtcdReadyFalse')) || cluster.phaseReason === 'WaitingForEtcd' || etcdCondition?.status !== 'True';
  const etcdBefore = lastEvent(events, (event) => event.reason === 'EtcdReady');
  const etcd: Milestone = etcdTouched
    ? step('etcd', `etcd ready for ${upgrade.to}`, 'EtcdReady', after('EtcdReady', 'AppliedApiserver', 'APIServerReady', 'AppliedControllers'))
    : { key: 'etcd', label: 'etcd ready', state: 'done', at: etcdBefore?.createdAt ?? etcdCondition.lastTransitionTime };
  // The controllers are applied only once the new apiserver rolled out and answers /readyz.
  const apiserver = step('apiserver', `API server ${upgrade.to} rolled out`, 'APIServerReady', after('APIServerReady', 'AppliedControllers'));
  // ControlPlaneReady after the request would have ended the upgrade, so this step is never done here.
  const controllerManager = step('controllerManager', `Controller manager ${upgrade.to} rolled out`, 'ControllerManagerReady', undefined);
  return [etcd, apiserver, controllerManager];
}

export function nodeProgress(pools: readonly NodePool[], events: readonly ClusterEvent[]): { ready: number; desired: number } | undefined {
  const live = pools.filter((pool) => !pool.deletionRequestedAt);
  if (live.length > 0) {
    const desired = live.reduce((sum, pool) => sum + pool.replicas, 0);
    const ready = live.reduce((sum, pool) => sum + Math.min(pool.status?.ready ?? 0, pool.replicas), 0);
    const joined = lastEvent(events, (event) => event.reason === 'NodeJoined');
    const fromEvent = joined ? JOINED.exec(joined.message) : null;
    // The event can be newer than the last pool poll; never show less than either says.
    if (fromEvent && Number(fromEvent[2]) === desired) return { ready: Math.max(ready, Math.min(Number(fromEvent[1]), desired)), desired };
    return { ready, desired };
  }
  return undefined;
}

export function deriveMilestones(cluster: Cluster | undefined, events: readonly ClusterEvent[], pools: readonly NodePool[]): Milestone[] {
  const failed = cluster?.phase === 'Failed';
  const upgrade = upgradeInProgress(cluster, events);
  // Warnings from before an upgrade request (a create that recovered, say) do not explain its failure.
  const since = upgrade?.requestEventId ?? 0;
  const warning = lastEvent(events, (event) => event.id > since && event.type === 'Warning');
  const failureReason = [cluster?.phaseReason, warning?.message].filter(Boolean).join(': ');
  const placedEvent = lastEvent(events, (event) => event.reason === 'Placed');
  const milestones: Milestone[] = [];

  const placed = Boolean(placedEvent ?? cluster?.seed);
  milestones.push({
    key: 'placed',
    label: cluster?.seed?.name ? `Placed on seed ${cluster.seed.name}` : 'Placed on a seed',
    state: placed ? 'done' : 'pending',
    detail: placedEvent?.message,
    at: placedEvent?.createdAt,
  });

  if (cluster && upgrade) {
    milestones.push(...upgradeSteps(cluster, events, upgrade));
  } else {
    for (const step of CONTROL_PLANE_STEPS) {
      const condition = cluster?.conditions.find((candidate) => candidate.type === step.condition);
      const readyEvent = lastEvent(events, (event) => event.reason === step.condition);
      const done = condition ? condition.status === 'True' : Boolean(readyEvent);
      milestones.push({
        key: step.key,
        label: step.label,
        state: done ? 'done' : 'pending',
        detail: done ? undefined : condition?.message,
        at: done ? (readyEvent?.createdAt ?? condition?.lastTransitionTime) : undefined,
      });
    }
  }

  const progress = nodeProgress(pools, events);
  const nodeWarning = lastEvent(events, (event) => event.reason.startsWith('Node'));
  if (!progress || progress.desired === 0) {
    milestones.push({ key: 'nodes', label: 'Nodes joining', state: 'skipped', detail: progress ? 'the node pools have 0 replicas' : 'no node pool' });
  } else {
    const done = progress.ready >= progress.desired;
    milestones.push({
      key: 'nodes',
      label: `Nodes joining ${progress.ready}/${progress.desired}`,
      state: done ? 'done' : nodeWarning?.type === 'Warning' ? 'failed' : 'pending',
      detail: nodeWarning?.type === 'Warning' && !done ? `${nodeWarning.reason}: ${nodeWarning.message}` : undefined,
      at: done ? lastEvent(events, (event) => event.reason === 'NodeJoined')?.createdAt : undefined,
    });
  }

  const running = cluster?.phase === 'Running';
  const runningEvent = lastEvent(events, (event) => event.reason === 'PhaseRunning' || event.reason === 'ControlPlaneReady');
  milestones.push({
    key: 'running',
    label: 'Running',
    state: running ? 'done' : 'pending',
    detail: running ? (cluster.endpoint ?? undefined) : undefined,
    at: running ? runningEvent?.createdAt : undefined,
  });

  // The first unfinished step is the one in progress, or the one that failed.
  const current = milestones.find((milestone) => milestone.key !== 'nodes' && milestone.state === 'pending');
  if (current) {
    current.state = failed ? 'failed' : 'active';
    if (failed) current.detail = failureReason || 'failed';
  }
  if (failed) {
    const runningStep = milestones[milestones.length - 1];
    runningStep.state = 'failed';
    runningStep.detail = failureReason || 'failed';
  }
  const nodes = milestones.find((milestone) => milestone.key === 'nodes');
  if (nodes?.state === 'pending' && milestones.slice(0, 4).every((milestone) => milestone.state === 'done')) nodes.state = 'active';
  return milestones;
}
