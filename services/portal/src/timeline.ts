// Turns what the event stream delivers (the cluster snapshot, timeline events) plus the node
// pools into the milestones the progress timeline shows. Conditions are the truth for the
// control plane (they survive a reconnect); events add the time and the failure reasons.
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

const NODE_EVENT = /^Node/;
const JOINED = /\((\d+)\/(\d+) ready\)/;

function lastEvent(events: readonly ClusterEvent[], test: (event: ClusterEvent) => boolean): ClusterEvent | undefined {
  for (let i = events.length - 1; i >= 0; i -= 1) if (test(events[i])) return events[i];
  return undefined;
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
  const warning = lastEvent(events, (event) => event.type === 'Warning');
  const failureReason = [cluster?.phaseReason, warning?.message].filter(Boolean).join(': ');
  const placedEvent = lastEvent(events, (event) => event.reason === 'Placed');
  const milestones: Milestone[] = [];

  const placed = Boolean(placedEvent || cluster?.seed);
  milestones.push({
    key: 'placed',
    label: cluster?.seed?.name ? `Placed on seed ${cluster.seed.name}` : 'Placed on a seed',
    state: placed ? 'done' : 'pending',
    detail: placedEvent?.message,
    at: placedEvent?.createdAt,
  });

  for (const step of CONTROL_PLANE_STEPS) {
    const condition = cluster?.conditions.find((candidate) => candidate.type === step.condition);
    const readyEvent = lastEvent(events, (event) => event.reason === step.condition);
    const done = condition ? condition.status === 'True' : Boolean(readyEvent);
    milestones.push({
      key: step.key,
      label: step.label,
      state: done ? 'done' : 'pending',
      detail: done ? undefined : condition?.message,
      at: done ? readyEvent?.createdAt ?? condition?.lastTransitionTime : undefined,
    });
  }

  const progress = nodeProgress(pools, events);
  const nodeWarning = lastEvent(events, (event) => NODE_EVENT.test(event.reason));
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
    detail: running ? cluster?.endpoint ?? undefined : undefined,
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
