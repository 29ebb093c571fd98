// Lifecycle phases and the transitions the reconcilers may make. Anything else is a bug,
// so `transition` throws rather than silently writing an impossible state.
export const CLUSTER_PHASES = ['Provisioning', 'Running', 'Updating', 'Deleting', 'Failed', 'Deleted'] as const;
export type ClusterPhase = (typeof CLUSTER_PHASES)[number];

export const NODE_PHASES = ['Provisioning', 'Joining', 'Ready', 'Unhealthy', 'Replacing', 'Deleting', 'Deleted'] as const;
export type NodePhase = (typeof NODE_PHASES)[number];

export const OPERATION_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'superseded'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

const CLUSTER_TRANSITIONS: Record<ClusterPhase, readonly ClusterPhase[]> = {
  Provisioning: ['Provisioning', 'Running', 'Failed', 'Deleting'],
  Running: ['Running', 'Updating', 'Provisioning', 'Failed', 'Deleting'],
  Updating: ['Updating', 'Running', 'Failed', 'Deleting'],
  Failed: ['Failed', 'Provisioning', 'Running', 'Updating', 'Deleting'],
  Deleting: ['Deleting', 'Deleted'],
  Deleted: ['Deleted'],
};

const NODE_TRANSITIONS: Record<NodePhase, readonly NodePhase[]> = {
  Provisioning: ['Provisioning', 'Joining', 'Ready', 'Unhealthy', 'Replacing', 'Deleting'],
  Joining: ['Joining', 'Ready', 'Unhealthy', 'Replacing', 'Deleting'],
  Ready: ['Ready', 'Unhealthy', 'Replacing', 'Deleting'],
  Unhealthy: ['Unhealthy', 'Ready', 'Replacing', 'Deleting'],
  Replacing: ['Replacing', 'Deleting'],
  Deleting: ['Deleting', 'Deleted'],
  Deleted: ['Deleted'],
};

export class IllegalTransitionError extends Error {
  constructor(entity: string, from: string, to: string) {
    super(`${entity} cannot move from ${from} to ${to}`);
  }
}

export function canTransitionCluster(from: ClusterPhase, to: ClusterPhase): boolean {
  return CLUSTER_TRANSITIONS[from].includes(to);
}

export function transitionCluster(from: ClusterPhase, to: ClusterPhase): ClusterPhase {
  if (!canTransitionCluster(from, to)) throw new IllegalTransitionError('cluster', from, to);
  return to;
}

export function transitionNode(from: NodePhase, to: NodePhase): NodePhase {
  if (!NODE_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError('node', from, to);
  return to;
}

export function isTerminalOperation(status: OperationStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'superseded';
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** Sets a condition, keeping lastTransitionTime when the status did not change. */
export function setCondition(conditions: readonly Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const existing = conditions.find((condition) => condition.type === next.type);
  const lastTransitionTime = existing?.status === next.status ? existing.lastTransitionTime : now.toISOString();
  return [...conditions.filter((condition) => condition.type !== next.type), { ...next, lastTransitionTime }];
}
