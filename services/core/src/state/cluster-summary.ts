// The one status model of a cluster. Every view (the cluster list, the overview, the progress
// timeline, the pool cards, the node rows) renders what this function returns, so they cannot
// disagree: there is no second place that decides whether a node is ready, whether a cluster is
// "Running" without a qualifier, or which version runs. Pure: the API feeds it database rows.
import { CONTROL_PLANE_STEPS } from '../controlplane/sequence.js';
import type { Condition } from './phases.js';

export type SummaryConditionStatus = 'True' | 'False' | 'Unknown';

export interface SummaryConditionInput {
  type: string;
  status: SummaryConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface NodeSummaryInput {
  phase: string;
  /** As the health checker last read them from the tenant; the Ready one is the tenant Node's. */
  conditions: readonly SummaryConditionInput[];
}

export interface PoolSummaryInput {
  id: string;
  name: string;
  replicas: number;
  deleting: boolean;
  conditions: readonly SummaryConditionInput[];
  /** The pool's live nodes (not deleted). */
  nodes: readonly NodeSummaryInput[];
}

export interface ClusterSummaryInput {
  phase: string;
  phaseReason: string | null;
  conditions: readonly SummaryConditionInput[];
  /** The version the cluster is asked to run (the database takes an upgrade's target at once). */
  version: string;
  /** What the components ran before the oldest open upgrade; undefined when none is open. */
  upgradingFrom?: string;
  generation: number;
  observedGeneration: number;
  deletionRequested: boolean;
  endpoint: string | null;
  seedName: string | null;
  pools: readonly PoolSummaryInput[];
}

export type ClusterState = 'Provisioning' | 'Running' | 'Upgrading' | 'Deleting' | 'Deleted' | 'Failed';

export const DEGRADED_REASONS = ['PoolProvisioningFailed', 'NetworkNotReady', 'NodesNotReady', 'AddonsNotReady', 'ControlPlaneNotReady'] as const;
export type DegradedReason = (typeof DEGRADED_REASONS)[number];

export interface SummaryQualifier {
  type: 'Degraded';
  status: 'True';
  reason: DegradedReason;
  /** A few words for a badge ("no machines", "1/3 nodes ready"). */
  short: string;
  message: string;
}

export type PoolState = 'Ready' | 'Scaling' | 'Degraded' | 'Deleting';

export interface PoolSummary {
  id: string;
  name: string;
  state: PoolState;
  /** Set when the pool is not Ready: the same reason words as the cluster's qualifiers. */
  reason: DegradedReason | 'Deleting' | null;
  message: string | null;
  /** One line for the pool card: "0/1 nodes ready · no machines — <cloud message>". */
  headline: string;
  desired: number;
  ready: number;
  /** Live nodes, ready or not. */
  nodes: number;
}

export interface AddonStatus {
  /** The condition type, e.g. `NetworkReady`. */
  condition: string;
  name: string;
  status: SummaryConditionStatus;
  reason: string;
  message: string;
}

export type TimelineStatus = 'done' | 'active' | 'pending' | 'failed' | 'skipped';

export interface TimelineStep {
  id: string;
  title: string;
  status: TimelineStatus;
  detail: string | null;
  /** When the step's condition last changed, for a done step. */
  at: string | null;
}

export interface ClusterSummary {
  state: ClusterState;
  reason: string | null;
  qualifiers: SummaryQualifier[];
  /** The one line the list and the page head show: "Running · Degraded: no machines — <cloud message>". */
  headline: string;
  versions: { current: string; target: string | null };
  nodes: { ready: number; desired: number };
  addons: AddonStatus[];
  pools: PoolSummary[];
  timeline: TimelineStep[];
}

/** The add-on conditions the worker writes on a cluster, networking first as it comes up first. */
export const ADDON_CONDITIONS = [
  { condition: 'NetworkReady', name: 'Networking' },
  { condition: 'DNSReady', name: 'DNS' },
  { condition: 'TunnelReady', name: 'Tunnel' },
  { condition: 'MetricsReady', name: 'Metrics' },
] as const;

export const POOL_CONDITION_TYPES = {
  /** False with the cloud's message when a machine request was refused for good. */
  machinesProvisioned: 'MachinesProvisioned',
  /** False while joined Nodes do not report Ready (with the kubelet's reason, e.g. NetworkPluginNotReady). */
  nodesReady: 'NodesReady',
} as const;

export const NETWORK_NOT_READY_REASON = 'NetworkPluginNotReady';

/** The kubelet reports NotReady with this text until a CNI plugin configured the node's network. */
export function isNetworkNotReadyMessage(message: string): boolean {
  return /network ?plugin|cni|NetworkReady=false|network is not ready/i.test(message);
}

const find = (conditions: readonly SummaryConditionInput[], type: string) => conditions.find((condition) => condition.type === type);

/**
 * A node counts as ready only while its phase is Ready and the tenant Node's Ready condition (as
 * last read) is not False or Unknown: a row the join marked Ready whose Node lost networking is
 * not ready, and neither is an Unhealthy one whose Node still says Ready.
 */
export function nodeIsReady(node: NodeSummaryInput): boolean {
  if (node.phase !== 'Ready') return false;
  const ready = find(node.conditions, 'Ready');
  return ready === undefined || ready.status === 'True';
}

const LEAVING_NODE_PHASES = new Set(['Deleting', 'Deleted', 'Replacing']);

export function summarizePool(pool: PoolSummaryInput): PoolSummary {
  const desired = pool.deleting ? 0 : pool.replicas;
  const ready = Math.min(pool.nodes.filter(nodeIsReady).length, pool.replicas);
  const nodes = pool.nodes.filter((node) => !LEAVING_NODE_PHASES.has(node.phase)).length;
  const base = { id: pool.id, name: pool.name, desired, ready, nodes };
  const count = `${ready}/${pool.replicas} nodes ready`;
  if (pool.deleting) return { ...base, state: 'Deleting', reason: 'Deleting', message: 'the pool is being deleted', headline: `${count} · deleting` };
  const problem = poolProblem(pool, ready, desired);
  if (!problem) return { ...base, state: 'Ready', reason: null, message: null, headline: count };
  const state: PoolState = problem.reason === 'NodesNotReady' ? 'Scaling' : 'Degraded';
  return {
    ...base,
    state,
    reason: problem.reason,
    message: problem.message,
    headline: `${count} · ${problem.short}${problem.detail ? ` — ${problem.detail}` : ''}`,
  };
}

interface Problem {
  reason: DegradedReason;
  short: string;
  message: string;
  detail: string | null;
}

function poolProblem(pool: PoolSummaryInput, ready: number, desired: number): Problem | undefined {
  const machines = find(pool.conditions, POOL_CONDITION_TYPES.machinesProvisioned);
  // A refused machine explains a missing node only while one is missing.
  if (machines?.status === 'False' && ready < desired) {
    return { reason: 'PoolProvisioningFailed', short: 'no machines', message: `pool ${pool.name}: ${machines.message}`, detail: machines.message };
  }
  const nodesReady = find(pool.conditions, POOL_CONDITION_TYPES.nodesReady);
  if (nodesReady?.status === 'False' && nodesReady.reason === NETWORK_NOT_READY_REASON && ready < desired) {
    return { reason: 'NetworkNotReady', short: 'no pod network', message: `pool ${pool.name}: ${nodesReady.message}`, detail: nodesReady.message };
  }
  if (ready < desired) {
    const detail = nodesReady?.status === 'False' ? nodesReady.message : null;
    return { reason: 'NodesNotReady', short: `${ready}/${desired} nodes ready`, message: `pool ${pool.name}: ${ready} of ${desired} nodes ready`, detail };
  }
  return undefined;
}

function clusterState(input: ClusterSummaryInput): ClusterState {
  if (input.phase === 'Deleted') return 'Deleted';
  if (input.deletionRequested || input.phase === 'Deleting') return 'Deleting';
  if (input.phase === 'Failed') return 'Failed';
  if (input.phase === 'Updating' || (input.upgradingFrom !== undefined && input.upgradingFrom !== input.version)) return 'Upgrading';
  if (input.phase === 'Running') return 'Running';
  return 'Provisioning';
}

function addonsOf(conditions: readonly SummaryConditionInput[]): AddonStatus[] {
  return ADDON_CONDITIONS.flatMap(({ condition, name }) => {
    const found = find(conditions, condition);
    return found ? [{ condition, name, status: found.status, reason: found.reason, message: found.message }] : [];
  });
}

const CONTROL_PLANE = CONTROL_PLANE_STEPS.map((step) => ({
  id: step.name,
  waitReason: step.waitReason,
  conditions: step.components.flatMap((component) => (component.awaits ? [component.awaits.condition] : [])),
}));

const CONTROL_PLANE_TITLES: Record<string, string> = { etcd: 'etcd', apiserver: 'API server', controllers: 'Controller manager and scheduler' };

function qualifiersOf(input: ClusterSummaryInput, state: ClusterState, pools: readonly PoolSummary[], addons: readonly AddonStatus[]): SummaryQualifier[] {
  if (state === 'Deleting' || state === 'Deleted') return [];
  const controlPlaneUp = state === 'Running' || state === 'Upgrading';
  const found: SummaryQualifier[] = [];
  const add = (reason: DegradedReason, short: string, message: string) => found.push({ type: 'Degraded', status: 'True', reason, short, message });
  for (const pool of pools) {
    if (pool.reason === 'PoolProvisioningFailed') add('PoolProvisioningFailed', 'no machines', pool.message ?? '');
  }
  if (!controlPlaneUp) return found;
  const network = addons.find((addon) => addon.condition === 'NetworkReady');
  if (network && network.status !== 'True') add('NetworkNotReady', 'pod network not ready', `${network.reason}: ${network.message}`);
  for (const pool of pools) {
    if (pool.reason === 'NetworkNotReady') add('NetworkNotReady', 'pod network not ready', pool.message ?? '');
  }
  const desired = pools.reduce((sum, pool) => sum + pool.desired, 0);
  const ready = pools.reduce((sum, pool) => sum + pool.ready, 0);
  // Nodes a pool failure or a missing pod network already explains are not said twice.
  if (ready < desired && pools.some((pool) => pool.reason === 'NodesNotReady'))
    add('NodesNotReady', `${ready}/${desired} nodes ready`, `${ready} of ${desired} nodes ready`);
  const otherAddons = addons.filter((addon) => addon.condition !== 'NetworkReady' && addon.status !== 'True');
  if (otherAddons.length > 0) {
    add(
      'AddonsNotReady',
      `${otherAddons.map((addon) => addon.name).join(', ')} not ready`,
      otherAddons.map((addon) => `${addon.name}: ${addon.message || addon.reason}`).join('; '),
    );
  }
  // While upgrading, a control-plane condition going False is the rollout itself, not damage.
  if (state === 'Running') {
    const down = CONTROL_PLANE.flatMap((step) => step.conditions).flatMap((type) => {
      const condition = find(input.conditions, type);
      return condition && condition.status !== 'True' ? [condition] : [];
    });
    if (down.length > 0) add('ControlPlaneNotReady', 'control plane not ready', down.map((condition) => `${condition.type}: ${condition.message}`).join('; '));
  }
  return found;
}

function headlineOf(state: ClusterState, reason: string | null, qualifiers: readonly SummaryQualifier[], versions: ClusterSummary['versions']): string {
  let head: string = state;
  if (state === 'Upgrading' && versions.target) head = `Upgrading ${versions.current} → ${versions.target}`;
  if (state === 'Failed' && reason) head = `Failed (${reason})`;
  const first = qualifiers[0];
  if (!first) return head;
  const more = qualifiers.length > 1 ? ` (+${qualifiers.length - 1} more)` : '';
  const detail = first.reason === 'PoolProvisioningFailed' || first.reason === 'NetworkNotReady' ? ` — ${first.message}` : '';
  return `${head} · Degraded: ${first.short}${detail}${more}`;
}

function timelineOf(
  input: ClusterSummaryInput,
  state: ClusterState,
  qualifiers: readonly SummaryQualifier[],
  pools: readonly PoolSummary[],
  addons: readonly AddonStatus[],
  versions: ClusterSummary['versions'],
): TimelineStep[] {
  const steps: TimelineStep[] = [];
  const step = (id: string, title: string, status: TimelineStatus, detail: string | null = null, at: string | null = null) => {
    const made: TimelineStep = { id, title, status, detail, at };
    steps.push(made);
    return made;
  };
  step('placed', input.seedName ? `Placed on seed ${input.seedName}` : 'Placed on a seed', 'done');

  if (state === 'Deleting' || state === 'Deleted') {
    // What was not reached will not be: the cluster goes, so nothing claims to be in progress but the deletion.
    step('deleting', state === 'Deleted' ? 'Deleted' : 'Deleting', state === 'Deleted' ? 'done' : 'active', input.phaseReason);
    return steps;
  }

  const upgrading = state === 'Upgrading' || (state === 'Failed' && versions.target !== null);
  // The worker's phase reason names the step it waits for, in provisioning and upgrades alike.
  const cursor = CONTROL_PLANE.findIndex((candidate) => candidate.waitReason === input.phaseReason);
  let controlPlaneDone = true;
  CONTROL_PLANE.forEach((candidate, index) => {
    const conditions = candidate.conditions.map((type) => find(input.conditions, type));
    // A Running cluster got past every step; a condition it never reported (a component added later) does not undo that.
    const allTrue = conditions.every((condition) => (condition ? condition.status === 'True' : state === 'Running'));
    const notReady = conditions.find((condition) => condition && condition.status !== 'True');
    const baseTitle = CONTROL_PLANE_TITLES[candidate.id] ?? candidate.id;
    const title = upgrading && versions.target ? `${baseTitle} at ${versions.target}` : `${baseTitle} ready`;
    // During an upgrade the conditions still say True from before: only the cursor tells progress.
    let done: boolean;
    if (cursor !== -1) done = index < cursor;
    else if (upgrading && input.phaseReason === 'UpgradeRequested') done = false;
    else done = allTrue;
    if (done) {
      step(candidate.id, title, 'done', null, conditions[conditions.length - 1]?.lastTransitionTime ?? null);
      return;
    }
    const first = controlPlaneDone;
    controlPlaneDone = false;
    const status: TimelineStatus = first ? (state === 'Failed' ? 'failed' : 'active') : 'pending';
    const detail = first ? [state === 'Failed' ? input.phaseReason : null, notReady?.message].filter(Boolean).join(': ') || null : null;
    step(candidate.id, title, status, detail);
  });
  const controlPlaneUp = controlPlaneDone && state !== 'Provisioning';

  const network = addons.find((addon) => addon.condition === 'NetworkReady');
  const poolNetwork = pools.find((pool) => pool.reason === 'NetworkNotReady');
  if (!network && !poolNetwork) {
    step('networking', 'Pod networking', 'skipped', 'no network add-on reported');
  } else if (network?.status === 'True' && !poolNetwork) {
    step('networking', 'Pod networking', 'done', null);
  } else {
    const detail = poolNetwork?.message ?? (network ? `${network.reason}: ${network.message}` : null);
    step('networking', 'Pod networking', controlPlaneUp ? 'active' : 'pending', detail);
  }

  const others = addons.filter((addon) => addon.condition !== 'NetworkReady');
  if (others.length === 0) {
    step('addons', 'Add-ons', 'skipped', 'none reported');
  } else {
    const waiting = others.filter((addon) => addon.status !== 'True');
    const title = `Add-ons (${others.map((addon) => addon.name).join(', ')})`;
    if (waiting.length === 0) step('addons', title, 'done');
    else step('addons', title, controlPlaneUp ? 'active' : 'pending', waiting.map((addon) => `${addon.name}: ${addon.message || addon.reason}`).join('; '));
  }

  const desired = pools.reduce((sum, pool) => sum + pool.desired, 0);
  const ready = pools.reduce((sum, pool) => sum + pool.ready, 0);
  const failedPool = pools.find((pool) => pool.reason === 'PoolProvisioningFailed');
  if (desired === 0) {
    step('nodes', 'Nodes ready', 'skipped', pools.length === 0 ? 'no node pool' : 'the node pools have 0 replicas');
  } else if (ready >= desired) {
    step('nodes', `Nodes ready ${ready}/${desired}`, 'done');
  } else if (failedPool) {
    step('nodes', `Nodes ready ${ready}/${desired}`, 'failed', failedPool.message);
  } else {
    const waiting = pools.find((pool) => pool.state !== 'Ready');
    step('nodes', `Nodes ready ${ready}/${desired}`, controlPlaneUp ? 'active' : 'pending', waiting?.message ?? null);
  }

  if (upgrading) {
    const title = versions.target ? `Upgrade ${versions.current} → ${versions.target}` : 'Upgrade';
    step('upgrade', title, state === 'Failed' ? 'failed' : 'active', input.phaseReason);
    return steps;
  }
  const first = qualifiers[0];
  if (state === 'Running' && !first) step('running', 'Running', 'done', input.endpoint);
  else if (state === 'Running' && first) {
    step(
      'running',
      'Running · Degraded',
      first.reason === 'PoolProvisioningFailed' ? 'failed' : 'active',
      qualifiers.map((qualifier) => qualifier.message).join('; '),
    );
  } else if (state === 'Failed') step('running', 'Running', 'failed', input.phaseReason);
  else step('running', 'Running', 'pending');
  return steps;
}

export function summarizeCluster(input: ClusterSummaryInput): ClusterSummary {
  const state = clusterState(input);
  const current = input.upgradingFrom ?? input.version;
  const versions = { current, target: current === input.version ? null : input.version };
  const pools = input.pools.map(summarizePool);
  const live = pools.filter((pool) => pool.state !== 'Deleting');
  const addons = addonsOf(input.conditions);
  const qualifiers = qualifiersOf(input, state, live, addons);
  return {
    state,
    reason: input.phaseReason,
    qualifiers,
    headline: headlineOf(state, input.phaseReason, qualifiers, versions),
    versions,
    nodes: { ready: live.reduce((sum, pool) => sum + pool.ready, 0), desired: live.reduce((sum, pool) => sum + pool.desired, 0) },
    addons,
    pools,
    timeline: timelineOf(input, state, qualifiers, live, addons, versions),
  };
}

/** Narrows the stored JSON to conditions; anything else in the column is ignored. */
export function conditionsFrom(value: unknown): Condition[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (item): item is Condition =>
      typeof item === 'object' &&
      item !== null &&
      typeof (item as { type?: unknown }).type === 'string' &&
      typeof (item as { status?: unknown }).status === 'string',
  );
}
