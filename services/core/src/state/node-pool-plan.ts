// What a node pool has to do next to reach its replicas: which node rows to add, which nodes
// to remove and, during a rolling update, which node to replace next. Pure, so the rules
// (replacement before removal, unhealthy first, then not Ready, then newest, one rollout step at a time) are
// tested without a cloud or a tenant cluster.
import type { NodePhase } from './phases.js';

export interface PlannedNode {
  id: string;
  phase: NodePhase;
  createdAt: Date;
  /** Set on a replacement: the node it takes over from. */
  replacesNodeId: string | null;
  /** As the Node reports it ("v1.35.4"); null until it registered. */
  kubeletVersion: string | null;
  /**
   * The tenant Node's Ready condition as the health checker last read it (false for False or
   * Unknown); undefined before any reading, when the phase alone counts.
   */
  nodeReady?: boolean;
}

/** Ready for progress and convergence: the phase, and the Node's own Ready condition when read. */
const countsReady = (node: PlannedNode): boolean => node.phase === 'Ready' && node.nodeReady !== false;

export type RemovalReason = 'ScaleDown' | 'Replaced' | 'ReplacementNotNeeded';

export interface PoolPlan {
  /** New node rows to create; a replacement names the node it stands in for. */
  create: Array<{ replacesNodeId: string | null }>;
  remove: Array<{ id: string; reason: RemovalReason }>;
  /**
   * During a rollout: the node to move to Replacing now. Its replacement is planned on the next
   * pass, once the move is recorded, so a move another writer beat us to is never planned for.
   */
  replaceNext?: string;
}

export interface RolloutTarget {
  /** The kubelet version every node should report, "v" included ("v1.36.3"). */
  kubeletVersion: string;
}

export interface PoolPlanInput {
  desired: number;
  /** The pool's node rows that are not Deleted. */
  nodes: readonly PlannedNode[];
  /** False while new machines cannot be made (no tenant API yet, cluster being deleted…). */
  canCreate: boolean;
  /** Set while a rolling update is open and the control plane runs the target version. */
  rollout?: RolloutTarget;
}

export interface PoolProgress {
  desired: number;
  ready: number;
  joining: number;
  provisioning: number;
  deleting: number;
  unhealthy: number;
}

const leaving = (phase: NodePhase): boolean => phase === 'Deleting' || phase === 'Deleted';

export const isOutdated = (node: PlannedNode, rollout: RolloutTarget): boolean =>
  node.kubeletVersion !== null && node.kubeletVersion !== rollout.kubeletVersion;

/** How much a node serves now: an Unhealthy one nothing, one still coming up not yet, a Ready one fully. */
const servingRank = (node: PlannedNode): number => (node.phase === 'Unhealthy' ? 0 : node.phase === 'Ready' ? 2 : 1);

/**
 * Unhealthy first, then nodes not Ready yet, then (during a rollout) outdated, then the newest:
 * the node whose loss costs least goes first, so a scale-down never takes a Ready node while one
 * that is not Ready stays, and one in the middle of a rollout saves it work.
 */
function removalOrder(rollout: RolloutTarget | undefined): (a: PlannedNode, b: PlannedNode) => number {
  return (a, b) => {
    const serving = servingRank(a) - servingRank(b);
    if (serving !== 0) return serving;
    if (rollout) {
      const outdated = Number(isOutdated(b, rollout)) - Number(isOutdated(a, rollout));
      if (outdated !== 0) return outdated;
    }
    const age = b.createdAt.getTime() - a.createdAt.getTime();
    // Equal times (one batch on a coarse clock) still give one answer on every pass.
    return age !== 0 ? age : b.id.localeCompare(a.id);
  };
}

const oldestFirst = (a: PlannedNode, b: PlannedNode): number => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id);

/**
 * Surge 1, unavailable 0: the next outdated node (oldest first) is replaced only while nothing
 * else moves — no replacement in flight, no replaced node still draining, the pool at its size
 * and every node Ready — so the pool never has fewer Ready nodes than desired and never more
 * than one extra machine.
 */
function nextRolloutStep(counted: readonly PlannedNode[], replacing: readonly PlannedNode[], desired: number, input: PoolPlanInput): string | undefined {
  const { rollout } = input;
  if (!rollout || !input.canCreate || replacing.length > 0 || counted.length !== desired) return undefined;
  // A drain with pods to move takes passes; its machine still counts against the surge.
  if (input.nodes.some((node) => node.phase === 'Deleting')) return undefined;
  if (!counted.every((node) => node.phase === 'Ready')) return undefined;
  return [...counted].sort(oldestFirst).find((node) => isOutdated(node, rollout))?.id;
}

/**
 * A node in phase Replacing does not count towards the replicas: it stays until a replacement
 * (a counted node naming it) is Ready, so capacity never dips below what it was.
 */
export function planPool(input: PoolPlanInput): PoolPlan {
  const desired = Math.max(0, input.desired);
  const live = input.nodes.filter((node) => !leaving(node.phase));
  const replacing = live.filter((node) => node.phase === 'Replacing');
  const counted = live.filter((node) => node.phase !== 'Replacing');
  const remove: PoolPlan['remove'] = [];
  const create: PoolPlan['create'] = [];

  const excess = counted.length - desired;
  const victims = excess > 0 ? [...counted].sort(removalOrder(input.rollout)).slice(0, excess) : [];
  for (const victim of victims) remove.push({ id: victim.id, reason: 'ScaleDown' });
  const victimIds = new Set(victims.map((victim) => victim.id));
  const staying = counted.filter((node) => !victimIds.has(node.id));

  const missing = desired - staying.length;
  const unreplaced: PlannedNode[] = [];
  for (const old of replacing) {
    const replacement = staying.find((node) => node.replacesNodeId === old.id);
    if (replacement?.phase === 'Ready') remove.push({ id: old.id, reason: 'Replaced' });
    else if (!replacement) unreplaced.push(old);
  }
  if (missing > 0 && input.canCreate) {
    for (let index = 0; index < missing; index += 1) create.push({ replacesNodeId: unreplaced[index]?.id ?? null });
  }
  // A Replacing node nobody will stand in for (the pool shrank) just goes, unless the
  // replacement is only waiting until machines can be made again.
  const covered = input.canCreate ? Math.max(0, missing) : 0;
  const waiting = input.canCreate ? 0 : Math.max(0, missing);
  for (const old of unreplaced.slice(covered + waiting)) remove.push({ id: old.id, reason: 'ReplacementNotNeeded' });
  const replaceNext = create.length === 0 && remove.length === 0 ? nextRolloutStep(counted, replacing, desired, input) : undefined;
  return replaceNext ? { create, remove, replaceNext } : { create, remove };
}

/** How many of the nodes that stay are Ready at the rollout's version. */
export function nodesAtVersion(nodes: readonly PlannedNode[], rollout: RolloutTarget): number {
  return nodes.filter((node) => node.phase === 'Ready' && node.kubeletVersion === rollout.kubeletVersion).length;
}

export function poolProgress(desired: number, nodes: readonly PlannedNode[]): PoolProgress {
  const count = (...phases: NodePhase[]) => nodes.filter((node) => phases.includes(node.phase)).length;
  return {
    desired,
    ready: nodes.filter(countsReady).length,
    joining: count('Joining'),
    provisioning: count('Provisioning'),
    deleting: count('Deleting', 'Replacing'),
    unhealthy: count('Unhealthy'),
  };
}

/** Converged: exactly the desired number of nodes, all Ready, nothing joining or leaving. */
export function poolConverged(desired: number, nodes: readonly PlannedNode[]): boolean {
  const present = nodes.filter((node) => node.phase !== 'Deleted');
  return present.length === desired && present.every(countsReady);
}
