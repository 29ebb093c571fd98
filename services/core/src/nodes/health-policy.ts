// What the node health checker concludes from one round of observations: each node's
// conditions and phase, and which nodes to remediate. Pure, so every rule is a table test.
//
// The rules follow Cluster API's MachineHealthCheck where it has one:
// - a node is judged unhealthy by its conditions (Node Ready, Lease freshness, SSH); it is
//   remediated only once it has stayed unhealthy for unhealthyTimeoutSeconds, so Unhealthy is
//   an observation and the timeout is what stops a flapping node from being replaced;
// - a machine that has not become healthy within startupTimeoutSeconds of its creation is
//   unhealthy with reason StartupTimeout and due for remediation at once (it already waited);
// - remediation short-circuits for the whole pool when more nodes are unhealthy than
//   maxUnhealthyPercent allows: maxUnhealthy = floor(percent × counted nodes / 100) over the
//   nodes that exist (CAPI's ExpectedMachines), not the desired replicas, and remediation is
//   allowed while unhealthy ≤ maxUnhealthy. A node already being replaced still counts as
//   unhealthy, so two remediations in flight use up two of the budget.
// One deliberate difference: CAPI counts machines that have not started yet as not healthy.
// Here a node inside its startup window counts neither way, so a pool's first boot or a
// scale-up does not read as an outage; it counts (as unhealthy) once its startup timeout passes.
import { setCondition, type Condition, type NodePhase } from '../state/phases.js';

export const NODE_CONDITION = {
  ready: 'Ready',
  leaseFresh: 'LeaseFresh',
  sshReachable: 'SshReachable',
} as const;

export const POOL_CONDITION = {
  remediationAllowed: 'RemediationAllowed',
} as const;

/** The kubelet renews its Lease every 10 s; node-monitor-grace-period (40 s) is when the node lifecycle controller gives up on it. */
export const LEASE_STALE_AFTER_MS = 40_000;
/**
 * A failed SSH probe shows in SshReachable at once but counts against the node only once SSH
 * has been failing this long: one probe lost on a busy machine is not a sick node, just as one
 * missed Lease renewal is not. A changed host key is not transient and counts at once.
 */
export const SSH_FAILURE_GRACE_MS = 30_000;

export const STARTUP_TIMEOUT_REASON = 'StartupTimeout';
export const TOO_MANY_UNHEALTHY_REASON = 'TooManyUnhealthy';

export interface HealthCheckSettings {
  startupTimeoutSeconds: number;
  unhealthyTimeoutSeconds: number;
  maxUnhealthyPercent: number;
}

export type ConditionStatus = Condition['status'];

export interface SshProbeOutcome {
  ok: boolean;
  /** SshProbeSucceeded, SshProbeFailed, SshTimeout, HostKeyMismatch… */
  reason: string;
  message: string;
}

/** What this round saw of one node. */
export interface NodeObservation {
  /** The Node object's Ready condition; null when there is no Node of that name. */
  node: { ready: { status: ConditionStatus; reason: string; message: string; lastHeartbeatTime: Date | null } | null } | null;
  /** renewTime of the node's Lease in kube-node-lease; null when there is no Lease. */
  leaseRenewTime: Date | null;
  /** null when the node was not probed (no address yet, no pool key). */
  ssh: SshProbeOutcome | null;
}

export interface NodeHealthInput {
  id: string;
  name: string;
  phase: NodePhase;
  phaseReason: string;
  createdAt: Date;
  unhealthySince: Date | null;
  lastHeartbeatAt: Date | null;
  conditions: readonly Condition[];
  observation: NodeObservation;
}

export type NodeTransition = 'Unhealthy' | 'Recovered' | 'Replacing';

export interface NodeHealthDecision {
  id: string;
  name: string;
  previousPhase: NodePhase;
  phase: NodePhase;
  phaseReason: string;
  unhealthySince: Date | null;
  lastHeartbeatAt: Date | null;
  conditions: Condition[];
  /** Set when the phase changes this round; each one is a timeline event. */
  transition?: NodeTransition;
  /** Unhealthy for long enough, but the short-circuit holds remediation back. */
  heldBack: boolean;
  /** Why the node is unhealthy (empty when it is healthy). */
  problem: string;
}

export interface PoolHealthInput {
  settings: HealthCheckSettings;
  poolConditions: readonly Condition[];
  /**
   * False when the tenant API could not be listed this round. Nothing is then concluded from
   * the Node and Lease (they are Unknown), no phase changes and nothing is remediated: a
   * control-plane outage is not a reason to replace workers.
   */
  apiReachable: boolean;
  nodes: readonly NodeHealthInput[];
  now: Date;
}

export interface RemediationBudget {
  /** Nodes counted: Ready, Unhealthy and Replacing (CAPI's ExpectedMachines). */
  counted: number;
  unhealthy: number;
  maxUnhealthy: number;
  allowed: boolean;
}

export interface PoolHealthDecision {
  nodes: NodeHealthDecision[];
  budget: RemediationBudget;
  /** The pool's conditions with RemediationAllowed set (unchanged when the API was unreachable). */
  poolConditions: Condition[];
  /** 'False' or 'True' when RemediationAllowed changed status this round. */
  remediationAllowedChangedTo?: 'True' | 'False';
  /** Ids of nodes moved to Replacing this round. */
  remediate: string[];
}

const STARTING: readonly NodePhase[] = ['Provisioning', 'Joining'];
const JUDGED: readonly NodePhase[] = ['Provisioning', 'Joining', 'Ready', 'Unhealthy', 'Replacing'];

type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}

function readyCondition(input: NodeHealthInput, apiReachable: boolean): ConditionInput {
  const type = NODE_CONDITION.ready;
  if (!apiReachable) return { type, status: 'Unknown', reason: 'TenantAPIUnreachable', message: 'the tenant API could not be read' };
  const { node } = input.observation;
  if (!node) {
    return STARTING.includes(input.phase)
      ? { type, status: 'Unknown', reason: 'NodeNotRegistered', message: `no Node ${input.name} registered yet` }
      : { type, status: 'False', reason: 'NodeNotFound', message: `the Node ${input.name} no longer exists` };
  }
  if (!node.ready) return { type, status: 'Unknown', reason: 'NoReadyCondition', message: `the Node ${input.name} reports no Ready condition` };
  const { status, reason, message } = node.ready;
  return { type, status, reason: reason || (status === 'True' ? 'KubeletReady' : 'NodeNotReady'), message: message || `Node Ready is ${status}` };
}

function leaseCondition(input: NodeHealthInput, apiReachable: boolean, now: Date): ConditionInput {
  const type = NODE_CONDITION.leaseFresh;
  if (!apiReachable) return { type, status: 'Unknown', reason: 'TenantAPIUnreachable', message: 'the tenant API could not be read' };
  const renewed = input.observation.leaseRenewTime;
  if (!renewed) {
    if (STARTING.includes(input.phase) && !input.observation.node) return { type, status: 'Unknown', reason: 'NodeNotRegistered', message: 'no Lease yet' };
    // A real kubelet creates its Lease only on the lease controller's next round once its Node
    // exists, up to 10 s after registering. Until then, as for the node lifecycle controller, the
    // Node's own status heartbeat is what says the kubelet is alive.
    const posted = input.observation.node?.ready?.lastHeartbeatTime;
    const postedAge = posted ? now.getTime() - posted.getTime() : undefined;
    return postedAge !== undefined && postedAge <= LEASE_STALE_AFTER_MS
      ? { type, status: 'True', reason: 'NodeStatusFresh', message: `no Lease yet; node status posted ${seconds(postedAge)} s ago` }
      : { type, status: 'False', reason: 'LeaseNotFound', message: `no Lease kube-node-lease/${input.name}` };
  }
  const age = now.getTime() - renewed.getTime();
  return age <= LEASE_STALE_AFTER_MS
    ? { type, status: 'True', reason: 'LeaseRenewed', message: `renewed ${seconds(age)} s ago` }
    : { type, status: 'False', reason: 'LeaseStale', message: `last renewed ${seconds(age)} s ago (stale after ${LEASE_STALE_AFTER_MS / 1000} s)` };
}

function sshCondition(input: NodeHealthInput): ConditionInput {
  const type = NODE_CONDITION.sshReachable;
  const { ssh } = input.observation;
  if (!ssh) return { type, status: 'Unknown', reason: 'NotProbed', message: 'not probed (no address or no pool key yet)' };
  return { type, status: ssh.ok ? 'True' : 'False', reason: ssh.reason, message: ssh.message };
}

/**
 * Healthy means Ready and a fresh Lease, and SSH not failing for longer than its grace (an
 * unprobed node is not held against it).
 */
function failingOf(conditions: readonly Condition[], now: Date): Condition[] {
  return conditions.filter((condition) => {
    if (condition.type !== NODE_CONDITION.sshReachable) return condition.status !== 'True';
    if (condition.status !== 'False') return false;
    return condition.reason === 'HostKeyMismatch' || now.getTime() - new Date(condition.lastTransitionTime).getTime() >= SSH_FAILURE_GRACE_MS;
  });
}

function latest(...dates: Array<Date | null>): Date | null {
  const times = dates.filter((date): date is Date => date !== null).map((date) => date.getTime());
  return times.length > 0 ? new Date(Math.max(...times)) : null;
}

function evaluateNode(input: NodeHealthInput, settings: HealthCheckSettings, apiReachable: boolean, now: Date): NodeHealthDecision {
  const observed = [readyCondition(input, apiReachable), leaseCondition(input, apiReachable, now), sshCondition(input)];
  let conditions = [...input.conditions];
  for (const condition of observed) conditions = setCondition(conditions, condition, now);
  conditions.sort((a, b) => a.type.localeCompare(b.type));
  // In observation order (Ready, Lease, SSH): the first failing one names the phase reason.
  const current = observed
    .map((seen) => conditions.find((condition) => condition.type === seen.type))
    .filter((condition): condition is Condition => condition !== undefined);
  const failing = failingOf(current, now);
  const problem = failing.map((condition) => `${condition.type} ${condition.status} (${condition.reason}): ${condition.message}`).join('; ');
  const heartbeat = latest(input.lastHeartbeatAt, input.observation.leaseRenewTime, input.observation.node?.ready?.lastHeartbeatTime ?? null);
  const decision: NodeHealthDecision = {
    id: input.id,
    name: input.name,
    previousPhase: input.phase,
    phase: input.phase,
    phaseReason: input.phaseReason,
    unhealthySince: input.unhealthySince,
    lastHeartbeatAt: heartbeat,
    conditions,
    heldBack: false,
    problem,
  };
  if (!apiReachable) return decision;
  const healthy = failing.length === 0;
  switch (input.phase) {
    case 'Provisioning':
    case 'Joining': {
      // A node that registered and is healthy is the pool reconciler's to mark Ready.
      const timedOut = now.getTime() - input.createdAt.getTime() >= settings.startupTimeoutSeconds * 1000;
      if (timedOut && !healthy) {
        decision.phase = 'Unhealthy';
        decision.phaseReason = STARTUP_TIMEOUT_REASON;
        decision.unhealthySince = now;
        decision.transition = 'Unhealthy';
        decision.problem = `not healthy ${settings.startupTimeoutSeconds} s after creation (${input.phase}): ${problem}`;
      }
      return decision;
    }
    case 'Ready':
      if (!healthy) {
        decision.phase = 'Unhealthy';
        decision.phaseReason = failing[0].reason;
        decision.unhealthySince = now;
        decision.transition = 'Unhealthy';
      }
      return decision;
    case 'Unhealthy':
      if (healthy) {
        decision.phase = 'Ready';
        decision.phaseReason = 'HealthChecksPassing';
        decision.unhealthySince = null;
        decision.transition = 'Recovered';
      } else {
        // A node that never started keeps StartupTimeout: it stays due for remediation at once.
        if (input.phaseReason !== STARTUP_TIMEOUT_REASON) decision.phaseReason = failing[0].reason;
        decision.unhealthySince = input.unhealthySince ?? now;
      }
      return decision;
    default:
      return decision;
  }
}

/** Why a healthy node is replaced: a user's replace-node request, or a pool's rolling update. */
export const PLANNED_REPLACEMENT = { requested: 'ReplacementRequested', rollingUpdate: 'RollingUpdate' } as const;
const PLANNED_REPLACEMENT_REASONS: readonly string[] = Object.values(PLANNED_REPLACEMENT);

/** Unhealthy, or being replaced because it was: a planned replacement of a healthy node is neither. */
export function countsAsUnhealthy(node: { phase: NodePhase; phaseReason: string }): boolean {
  return node.phase === 'Unhealthy' || (node.phase === 'Replacing' && !PLANNED_REPLACEMENT_REASONS.includes(node.phaseReason));
}

/** CAPI's short-circuit: floor(percent of the counted nodes), remediation allowed while unhealthy ≤ that. */
export function remediationBudget(nodes: ReadonlyArray<{ phase: NodePhase; phaseReason: string }>, maxUnhealthyPercent: number): RemediationBudget {
  const counted = nodes.filter(({ phase }) => phase === 'Ready' || phase === 'Unhealthy' || phase === 'Replacing').length;
  const unhealthy = nodes.filter(countsAsUnhealthy).length;
  const maxUnhealthy = Math.floor((maxUnhealthyPercent * counted) / 100);
  return { counted, unhealthy, maxUnhealthy, allowed: unhealthy <= maxUnhealthy };
}

function dueForRemediation(decision: NodeHealthDecision, settings: HealthCheckSettings, now: Date): boolean {
  if (decision.phase !== 'Unhealthy') return false;
  if (decision.phaseReason === STARTUP_TIMEOUT_REASON) return true;
  const since = decision.unhealthySince ?? now;
  return now.getTime() - since.getTime() >= settings.unhealthyTimeoutSeconds * 1000;
}

export function evaluatePoolHealth(input: PoolHealthInput): PoolHealthDecision {
  const { settings, now, apiReachable } = input;
  const nodes = input.nodes.filter((node) => JUDGED.includes(node.phase)).map((node) => evaluateNode(node, settings, apiReachable, now));
  const budget = remediationBudget(nodes, settings.maxUnhealthyPercent);
  if (!apiReachable) return { nodes, budget, poolConditions: [...input.poolConditions], remediate: [] };

  const remediate: string[] = [];
  for (const node of nodes) {
    if (!dueForRemediation(node, settings, now)) continue;
    if (!budget.allowed) {
      node.heldBack = true;
      continue;
    }
    node.phase = 'Replacing';
    node.transition = 'Replacing';
    remediate.push(node.id);
  }

  const previous = input.poolConditions.find((condition) => condition.type === POOL_CONDITION.remediationAllowed);
  const summary = `${budget.unhealthy} of ${budget.counted} node(s) unhealthy; at most ${budget.maxUnhealthy} (${settings.maxUnhealthyPercent}%) may be`;
  const next: Omit<Condition, 'lastTransitionTime'> = budget.allowed
    ? { type: POOL_CONDITION.remediationAllowed, status: 'True', reason: 'WithinMaxUnhealthy', message: `${summary}; unhealthy nodes are replaced` }
    : {
        type: POOL_CONDITION.remediationAllowed,
        status: 'False',
        reason: TOO_MANY_UNHEALTHY_REASON,
        message: `${summary}; remediation is short-circuited until enough nodes recover`,
      };
  const poolConditions = setCondition(input.poolConditions, next, now).sort((a, b) => a.type.localeCompare(b.type));
  // The first evaluation of a healthy pool is not news; losing or regaining the budget is.
  const remediationAllowedChangedTo =
    previous?.status !== next.status && (previous !== undefined || next.status === 'False') ? (next.status as 'True' | 'False') : undefined;
  return { nodes, budget, poolConditions, ...(remediationAllowedChangedTo ? { remediationAllowedChangedTo } : {}), remediate };
}
