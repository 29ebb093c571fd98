// kube-scheduler's default profile, cut down to what add-ons and user workloads use: the filter
// plugins NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
// PodTopologySpread (DoNotSchedule) and InterPodAffinity (required terms), in the real plugin
// order, so an unschedulable pod gets the same PodScheduled=False message a real cluster shows.
// Scoring: the preferred pod (anti-)affinity terms (InterPodAffinity), then "fewest pods" (a
// stand-in for LeastAllocated and spreading).
import type {
  V1Affinity,
  V1LabelSelector,
  V1Node,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1Pod,
  V1PodAffinityTerm,
  V1Taint,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';
import { kubeTime, namespacedKey, typed } from './workload-support.js';

export function tolerates(tolerations: V1Toleration[], taint: V1Taint): boolean {
  return tolerations.some((toleration) => {
    if (toleration.effect && toleration.effect !== taint.effect) return false;
    // An empty key with Exists tolerates every taint (the "tolerate everything" toleration).
    if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
    return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
  });
}

/** The first NoSchedule/NoExecute taint the pod does not tolerate (FindMatchingUntoleratedTaint). */
export function untoleratedTaint(node: V1Node, tolerations: V1Toleration[]): V1Taint | undefined {
  return (node.spec?.taints ?? []).find((taint) => (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(tolerations, taint));
}

function requirementMatches(requirement: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const actual = Number.parseInt(value, 10);
      const bound = Number.parseInt(values[0], 10);
      if (!Number.isInteger(actual) || !Number.isInteger(bound)) return false;
      return requirement.operator === 'Gt' ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

function termMatches(term: V1NodeSelectorTerm, node: V1Node): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // An empty term selects no node.
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  return (
    expressions.every((requirement) => requirementMatches(requirement, labels[requirement.key])) &&
    fields.every((requirement) => requirement.key === 'metadata.name' && requirementMatches(requirement, node.metadata?.name))
  );
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution node affinity (the NodeAffinity filter). */
export function nodeMatchesPod(node: V1Node, pod: V1Pod): boolean {
  const labels = node.metadata?.labels ?? {};
  if (Object.entries(pod.spec?.nodeSelector ?? {}).some(([key, value]) => labels[key] !== value)) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return !required || required.nodeSelectorTerms.some((term) => termMatches(term, node));
}

export function labelSelectorMatches(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  if (Object.entries(selector.matchLabels ?? {}).some(([key, value]) => labels[key] !== value)) return false;
  return (selector.matchExpressions ?? []).every((expression) => {
    const value = labels[expression.key];
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        return value !== undefined && values.includes(value);
      case 'NotIn':
        return value === undefined || !values.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return false;
    }
  });
}

// Quantities: cpu in millicores, everything else in units.
const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(quantity: string | number | undefined): number {
  if (quantity === undefined) return 0;
  if (typeof quantity === 'number') return quantity;
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(quantity.trim());
  if (!match) return 0;
  const multiplier = SUFFIXES[match[2]];
  return multiplier === undefined ? 0 : Number(match[1]) * multiplier;
}

type Resources = Record<'cpu' | 'memory', number>;

/** The pod's effective request: its containers' sum, or its largest init container if that is more. */
export function podRequests(pod: V1Pod): Resources {
  const of = (requests: Record<string, string> | undefined): Resources => ({
    cpu: Math.round(parseQuantity(requests?.cpu) * 1000),
    memory: parseQuantity(requests?.memory),
  });
  const total: Resources = { cpu: 0, memory: 0 };
  for (const container of pod.spec?.containers ?? []) {
    const requests = of(container.resources?.requests);
    total.cpu += requests.cpu;
    total.memory += requests.memory;
  }
  for (const container of pod.spec?.initContainers ?? []) {
    const requests = of(container.resources?.requests);
    total.cpu = Math.max(total.cpu, requests.cpu);
    total.memory = Math.max(total.memory, requests.memory);
  }
  return total;
}

function hostPorts(pod: V1Pod): string[] {
  const ports: string[] = [];
  for (const container of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const port of container.ports ?? []) {
      // A hostNetwork pod's container ports are its host ports.
      const hostPort = port.hostPort ?? (pod.spec?.hostNetwork ? port.containerPort : undefined);
      if (hostPort) ports.push(`${port.protocol ?? 'TCP'}/${hostPort}`);
    }
  }
  return ports;
}

function podTerminal(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

function affinityTerms(affinity: V1Affinity | undefined, kind: 'podAffinity' | 'podAntiAffinity'): V1PodAffinityTerm[] {
  return affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
}

/** Whether `other` is selected by a term of `owner` (namespaces default to the owner's own). */
function termSelects(term: V1PodAffinityTerm, owner: V1Pod, other: V1Pod): boolean {
  const namespaces = term.namespaces?.length ? term.namespaces : [owner.metadata?.namespace ?? 'default'];
  // An empty namespaceSelector means every namespace; label-selected namespaces are not modelled.
  const allNamespaces = term.namespaceSelector !== undefined && Object.keys(term.namespaceSelector).length === 0;
  if (!allNamespaces && !namespaces.includes(other.metadata?.namespace ?? 'default')) return false;
  return labelSelectorMatches(term.labelSelector, other.metadata?.labels ?? {});
}

/**
 * The InterPodAffinity score of a node for the pod's preferred terms: each pod in the node's
 * topology domain that a preferred affinity term selects adds the term's weight, one that a
 * preferred anti-affinity term selects takes it away (so kubeadm's CoreDNS, which only prefers
 * other nodes, still spreads its two replicas).
 */
function preferredAffinityScore(pod: V1Pod, state: NodeState, states: Map<string, NodeState>): number {
  let score = 0;
  const weighted: Array<{ sign: 1 | -1; weight: number; term: V1PodAffinityTerm }> = [
    ...(pod.spec?.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((entry) => ({
      sign: 1 as const,
      weight: entry.weight,
      term: entry.podAffinityTerm,
    })),
    ...(pod.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((entry) => ({
      sign: -1 as const,
      weight: entry.weight,
      term: entry.podAffinityTerm,
    })),
  ];
  for (const { sign, weight, term } of weighted) {
    const domain = state.node.metadata?.labels?.[term.topologyKey];
    if (domain === undefined) continue;
    for (const other of states.values()) {
      if (other.node.metadata?.labels?.[term.topologyKey] !== domain) continue;
      score += sign * weight * other.pods.filter((candidate) => candidate !== pod && termSelects(term, pod, candidate)).length;
    }
  }
  return score;
}

const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
const REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";
const REASON_SPREAD = "node(s) didn't match pod topology spread constraints";
const REASON_SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)";
const REASON_POD_AFFINITY = "node(s) didn't match pod affinity rules";
const REASON_POD_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
const REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
const RESOURCE_REASONS = new Set(['Insufficient cpu', 'Insufficient memory', 'Too many pods']);

interface NodeState {
  node: V1Node;
  pods: V1Pod[];
}

/**
 * The default scheduler for pods whose schedulerName is ours: binds each pending pod to the
 * feasible node with the fewest pods, or reports why none fits (PodScheduled=False,
 * Unschedulable) and tries again when nodes or pods change.
 */
export class Scheduler {
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly queue: WorkQueue;
  /**
   * Pods bound here that the informer has not yet reported bound (the scheduler cache's assumed
   * pods): without them two replicas scheduled back to back would both see an empty node.
   */
  private readonly assumed = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly schedulerName = 'default-scheduler',
  ) {
    this.queue = new WorkQueue((key) => this.schedule(key), logger, 'scheduler');
    this.pods = new Informer(
      client,
      '/api/v1/pods',
      (event, object) => {
        const pod = typed<V1Pod>(object);
        const key = namespacedKey(pod.metadata?.namespace, pod.metadata?.name);
        if (event === 'deleted' || pod.spec?.nodeName) this.assumed.delete(key);
        if (event !== 'deleted' && this.pending(pod)) this.queue.add(key);
        // A pod going away frees resources, ports and anti-affinity domains.
        if (event === 'deleted' || pod.metadata?.deletionTimestamp || podTerminal(pod)) this.requeuePending();
      },
      logger,
    );
    this.nodes = new Informer(client, '/api/v1/nodes', () => this.requeuePending(), logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pods.run(signal), this.nodes.run(signal), this.queue.run(signal)]);
  }

  private requeuePending(): void {
    for (const object of this.pods.items()) {
      const pod = typed<V1Pod>(object);
      if (this.pending(pod)) this.queue.add(namespacedKey(pod.metadata?.namespace, pod.metadata?.name));
    }
  }

  private pending(pod: V1Pod): boolean {
    const key = namespacedKey(pod.metadata?.namespace, pod.metadata?.name);
    return (
      !pod.spec?.nodeName &&
      !this.assumed.has(key) &&
      (pod.spec?.schedulerName ?? 'default-scheduler') === this.schedulerName &&
      !pod.metadata?.deletionTimestamp &&
      !podTerminal(pod)
    );
  }

  private nodeOf(pod: V1Pod): string | undefined {
    return pod.spec?.nodeName ?? this.assumed.get(namespacedKey(pod.metadata?.namespace, pod.metadata?.name));
  }

  private async schedule(key: string): Promise<void> {
    await Promise.all([this.pods.hasSynced(), this.nodes.hasSynced()]);
    const cached = this.pods.get(key);
    if (!cached) return;
    const pod = typed<V1Pod>(cached);
    if (!this.pending(pod)) return;
    const states = new Map<string, NodeState>();
    for (const object of this.nodes.items()) {
      const node = typed<V1Node>(object);
      states.set(node.metadata?.name ?? '', { node, pods: [] });
    }
    for (const object of this.pods.items()) {
      const other = typed<V1Pod>(object);
      const nodeName = this.nodeOf(other);
      if (!nodeName || podTerminal(other)) continue;
      states.get(nodeName)?.pods.push(other);
    }
    const reasons = new Map<string, number>();
    const feasible: NodeState[] = [];
    for (const state of states.values()) {
      const failed = this.filter(pod, state, states);
      if (failed.length === 0) feasible.push(state);
      for (const reason of failed) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    if (feasible.length === 0) {
      await this.reportUnschedulable(pod, this.fitError(states.size, reasons));
      return;
    }
    const scores = new Map(feasible.map((state) => [state, preferredAffinityScore(pod, state, states)]));
    feasible.sort(
      (a, b) =>
        (scores.get(b) ?? 0) - (scores.get(a) ?? 0) ||
        a.pods.length - b.pods.length ||
        (a.node.metadata?.name ?? '').localeCompare(b.node.metadata?.name ?? ''),
    );
    const target = feasible[0].node.metadata?.name ?? '';
    try {
      await this.client.request('POST', `/api/v1/namespaces/${pod.metadata?.namespace}/pods/${pod.metadata?.name}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod.metadata?.name, namespace: pod.metadata?.namespace, uid: pod.metadata?.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: target },
      });
      this.assumed.set(key, target);
      this.logger.info(`scheduler: bound ${key} to ${target}`);
    } catch (error) {
      // Bound by someone else or deleted meanwhile: the informer event settles it.
      if (!isStatus(error, 409) && !isStatus(error, 404)) throw error;
    }
  }

  /** The reasons this node does not fit, from the first filter plugin that rejects it. */
  private filter(pod: V1Pod, state: NodeState, states: Map<string, NodeState>): string[] {
    const { node } = state;
    const tolerations = pod.spec?.tolerations ?? [];
    if (
      node.spec?.unschedulable &&
      !tolerations.some((toleration) => tolerates([toleration], { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }))
    )
      return [REASON_UNSCHEDULABLE];
    const taint = untoleratedTaint(node, tolerations);
    if (taint) return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`];
    if (!nodeMatchesPod(node, pod)) return [REASON_AFFINITY];
    const wanted = hostPorts(pod);
    if (wanted.length > 0) {
      const used = new Set(state.pods.flatMap(hostPorts));
      if (wanted.some((port) => used.has(port))) return [REASON_PORTS];
    }
    const resources = this.resourceReasons(pod, state);
    if (resources.length > 0) return resources;
    const spread = this.spreadReason(pod, state, states);
    if (spread) return [spread];
    const affinity = this.interPodAffinityReason(pod, state, states);
    return affinity ? [affinity] : [];
  }

  /** NodeResourcesFit against status.allocatable; a resource the Node does not report is not limited. */
  private resourceReasons(pod: V1Pod, state: NodeState): string[] {
    const allocatable = state.node.status?.allocatable;
    if (!allocatable) return [];
    const reasons: string[] = [];
    if (allocatable.pods !== undefined && state.pods.length + 1 > parseQuantity(allocatable.pods)) reasons.push('Too many pods');
    const wanted = podRequests(pod);
    const used: Resources = { cpu: 0, memory: 0 };
    for (const other of state.pods) {
      const requests = podRequests(other);
      used.cpu += requests.cpu;
      used.memory += requests.memory;
    }
    if (allocatable.cpu !== undefined && wanted.cpu > 0 && used.cpu + wanted.cpu > Math.round(parseQuantity(allocatable.cpu) * 1000))
      reasons.push('Insufficient cpu');
    if (allocatable.memory !== undefined && wanted.memory > 0 && used.memory + wanted.memory > parseQuantity(allocatable.memory))
      reasons.push('Insufficient memory');
    return reasons;
  }

  /** PodTopologySpread, DoNotSchedule constraints: the skew after placing here stays within maxSkew. */
  private spreadReason(pod: V1Pod, state: NodeState, states: Map<string, NodeState>): string | undefined {
    const constraints = (pod.spec?.topologySpreadConstraints ?? []).filter(
      (constraint: V1TopologySpreadConstraint) => constraint.whenUnsatisfiable === 'DoNotSchedule',
    );
    const labels = state.node.metadata?.labels ?? {};
    if (constraints.some((constraint) => labels[constraint.topologyKey] === undefined)) return REASON_SPREAD_LABEL;
    for (const constraint of constraints) {
      const counts = new Map<string, number>();
      for (const other of states.values()) {
        const domain = other.node.metadata?.labels?.[constraint.topologyKey];
        // nodeAffinityPolicy Honor: only nodes the pod could go to are domains.
        if (domain === undefined || !nodeMatchesPod(other.node, pod)) continue;
        const matching = other.pods.filter(
          (candidate) =>
            candidate.metadata?.namespace === pod.metadata?.namespace &&
            !candidate.metadata?.deletionTimestamp &&
            labelSelectorMatches(constraint.labelSelector, candidate.metadata?.labels ?? {}),
        ).length;
        counts.set(domain, (counts.get(domain) ?? 0) + matching);
      }
      const domain = labels[constraint.topologyKey];
      const minimum = (constraint.minDomains ?? 1) > counts.size ? 0 : Math.min(...counts.values());
      const self = labelSelectorMatches(constraint.labelSelector, pod.metadata?.labels ?? {}) ? 1 : 0;
      if ((counts.get(domain) ?? 0) + self - minimum > constraint.maxSkew) return REASON_SPREAD;
    }
    return undefined;
  }

  /** InterPodAffinity, required terms, in the plugin's order: the pod's affinity, its anti-affinity, existing pods' anti-affinity against it. */
  private interPodAffinityReason(pod: V1Pod, state: NodeState, states: Map<string, NodeState>): string | undefined {
    const labels = state.node.metadata?.labels ?? {};
    const placed = [...states.values()].flatMap((other) => other.pods.map((candidate) => ({ pod: candidate, labels: other.node.metadata?.labels ?? {} })));
    const sameDomain = (key: string, otherLabels: Record<string, string>): boolean => labels[key] !== undefined && otherLabels[key] === labels[key];
    for (const term of affinityTerms(pod.spec?.affinity, 'podAffinity')) {
      const matches = placed.filter((existing) => termSelects(term, pod, existing.pod));
      // The first pod of a group that selects itself may go anywhere, or it could never start.
      if (matches.length === 0 && termSelects(term, pod, pod)) continue;
      if (!matches.some((existing) => sameDomain(term.topologyKey, existing.labels))) return REASON_POD_AFFINITY;
    }
    for (const term of affinityTerms(pod.spec?.affinity, 'podAntiAffinity')) {
      if (placed.some((existing) => sameDomain(term.topologyKey, existing.labels) && termSelects(term, pod, existing.pod))) return REASON_POD_ANTI_AFFINITY;
    }
    for (const existing of placed) {
      for (const term of affinityTerms(existing.pod.spec?.affinity, 'podAntiAffinity')) {
        if (sameDomain(term.topologyKey, existing.labels) && termSelects(term, existing.pod, pod)) return REASON_EXISTING_ANTI_AFFINITY;
      }
    }
    return undefined;
  }

  /** FitError.Error(): "0/N nodes are available: <count> <reason>, .... preemption: ...". */
  private fitError(nodeCount: number, reasons: Map<string, number>): string {
    if (nodeCount === 0) return 'no nodes available to schedule pods';
    const histogram = [...reasons.entries()].map(([reason, count]) => `${count} ${reason}`).sort();
    const resourceBound = [...reasons.keys()].some((reason) => RESOURCE_REASONS.has(reason));
    const preemption = resourceBound ? 'No preemption victims found for incoming pod' : 'Preemption is not helpful for scheduling';
    return `0/${nodeCount} nodes are available: ${histogram.join(', ')}. preemption: 0/${nodeCount} nodes are available: ${nodeCount} ${preemption}.`;
  }

  private async reportUnschedulable(pod: V1Pod, message: string): Promise<void> {
    const conditions = pod.status?.conditions ?? [];
    const current = conditions.find((condition) => condition.type === 'PodScheduled');
    if (current?.status === 'False' && current.reason === 'Unschedulable' && current.message === message) return;
    const condition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime: current?.status === 'False' && current.lastTransitionTime ? current.lastTransitionTime : kubeTime(),
    };
    const status = {
      ...(pod.status ?? {}),
      phase: pod.status?.phase ?? 'Pending',
      conditions: [...conditions.filter((c) => c.type !== 'PodScheduled'), condition],
    };
    try {
      await this.client.request('PUT', `/api/v1/namespaces/${pod.metadata?.namespace}/pods/${pod.metadata?.name}/status`, { ...pod, status });
      this.logger.info(`scheduler: ${namespacedKey(pod.metadata?.namespace, pod.metadata?.name)} unschedulable: ${message}`);
    } catch (error) {
      // A newer pod (or none) is on its way through the informer, which queues it again.
      if (!isStatus(error, 409) && !isStatus(error, 404)) throw error;
    }
  }
}
