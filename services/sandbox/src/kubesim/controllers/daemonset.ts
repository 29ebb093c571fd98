// pkg/controller/daemon: one Pod of each DaemonSet on every node it should run on. As the real
// controller does since 1.12, the Pods are created unbound, pinned to their node by a required
// node affinity on metadata.name, and the scheduler binds them (so taints, ports and resources are
// judged by the scheduler as for any pod). ControllerRevisions are not kept: the
// controller-revision-hash label is a hash of the template.
import type { V1DaemonSet, V1Node, V1NodeSelectorTerm, V1Pod, V1PodSpec, V1Toleration } from '@kubernetes/client-node';
import type { KubeClient, Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';
import { nodeMatchesPod, tolerates } from './scheduler.js';
import {
  PodExpectations,
  canonicalJson,
  controllerOf,
  deleteIfPresent,
  namespaceTerminating,
  namespacedKey,
  ownerReference,
  podReady,
  randomSuffix,
  splitKey,
  templateHash,
  typed,
  writeStatus,
} from './workload-support.js';

const daemonSetPath = (namespace: string, name: string): string => `/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`;

/** util.AddOrUpdateDaemonPodTolerations: what every daemon pod tolerates besides its template's own. */
export function daemonPodTolerations(spec: V1PodSpec): V1Toleration[] {
  const defaults: V1Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
    // A host-network pod (a CNI plugin) is what makes the network available.
    ...(spec.hostNetwork ? [{ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' }] : []),
  ];
  const own = spec.tolerations ?? [];
  const same = (a: V1Toleration, b: V1Toleration): boolean =>
    a.key === b.key && (a.operator ?? 'Equal') === (b.operator ?? 'Equal') && a.effect === b.effect && (a.value ?? '') === (b.value ?? '');
  return [...own, ...defaults.filter((toleration) => !own.some((existing) => same(existing, toleration)))];
}

/** util.ReplaceDaemonSetPodNodeNameNodeAffinity: every required term also pins metadata.name. */
function pinToNode(spec: V1PodSpec, nodeName: string): V1PodSpec {
  const pin = { key: 'metadata.name', operator: 'In', values: [nodeName] };
  const existing = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const terms: V1NodeSelectorTerm[] =
    existing.length === 0
      ? [{ matchFields: [pin] }]
      : existing.map((term) => ({ ...(term.matchExpressions ? { matchExpressions: term.matchExpressions } : {}), matchFields: [pin] }));
  return {
    ...spec,
    affinity: {
      ...(spec.affinity ?? {}),
      nodeAffinity: { ...(spec.affinity?.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
    },
  };
}

/** The node a daemon pod belongs to: where it is bound, or where its affinity pins it. */
function daemonPodNode(pod: V1Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    const field = term.matchFields?.find((requirement) => requirement.key === 'metadata.name' && requirement.operator === 'In');
    if (field?.values?.length === 1) return field.values[0];
  }
  return undefined;
}

/** "N" or "N%" of a total, percentages rounded up (as the DaemonSet's maxUnavailable is). */
function scaled(value: number | string | undefined, total: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(value);
  if (percent) return Math.ceil((Number(percent[1]) * total) / 100);
  const count = Number.parseInt(value, 10);
  return Number.isInteger(count) ? count : fallback;
}

interface Placement {
  /** Node affinity, selector and NoSchedule/NoExecute taints admit a new daemon pod. */
  shouldRun: boolean;
  /** Affinity and NoExecute taints let an existing one stay. */
  shouldContinueRunning: boolean;
}

function placement(node: V1Node, daemonSet: V1DaemonSet): Placement {
  const spec = daemonSet.spec?.template.spec ?? { containers: [] };
  const probe: V1Pod = { metadata: {}, spec };
  if (!nodeMatchesPod(node, probe)) return { shouldRun: false, shouldContinueRunning: false };
  const tolerations = daemonPodTolerations(spec);
  const taints = node.spec?.taints ?? [];
  const fits = (effects: string[]): boolean => taints.filter((taint) => effects.includes(taint.effect)).every((taint) => tolerates(tolerations, taint));
  return { shouldRun: fits(['NoSchedule', 'NoExecute']), shouldContinueRunning: fits(['NoExecute']) };
}

/**
 * The DaemonSet controller: creates the missing daemon pods, removes those on nodes that went away
 * or stopped matching, replaces pods of an old template (RollingUpdate with maxUnavailable, or
 * only when deleted with OnDelete) and reports the per-node counts in status.
 */
export class DaemonSetController {
  private readonly queue: WorkQueue;
  private readonly daemonSets: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly expectations = new PodExpectations();
  private readonly written = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {
    this.queue = new WorkQueue((key) => this.sync(key), logger, 'daemonset');
    this.daemonSets = new Informer(
      client,
      '/apis/apps/v1/daemonsets',
      (event, object) => {
        if (event === 'deleted') this.written.delete(object.metadata.uid ?? '');
        this.queue.add(namespacedKey(object.metadata.namespace, object.metadata.name));
      },
      logger,
    );
    this.pods = new Informer(
      client,
      '/api/v1/pods',
      (event, object) => {
        const pod = typed<V1Pod>(object);
        this.expectations.observe(event, pod);
        const owner = controllerOf(pod);
        if (owner?.kind === 'DaemonSet') this.queue.add(namespacedKey(pod.metadata?.namespace, owner.name));
      },
      logger,
    );
    this.nodes = new Informer(client, '/api/v1/nodes', () => this.enqueueAll(), logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.daemonSets.run(signal), this.pods.run(signal), this.nodes.run(signal), this.queue.run(signal)]);
  }

  private enqueueAll(): void {
    for (const object of this.daemonSets.items()) this.queue.add(namespacedKey(object.metadata.namespace, object.metadata.name));
  }

  private async sync(key: string): Promise<void> {
    await Promise.all([this.daemonSets.hasSynced(), this.pods.hasSynced(), this.nodes.hasSynced()]);
    const cached = this.daemonSets.get(key);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const daemonSet = typed<V1DaemonSet>(cached);
    const { namespace, name } = splitKey(key);
    const uid = daemonSet.metadata?.uid ?? '';
    const hash = templateHash(daemonSet.spec?.template);
    const owned = this.pods
      .items()
      .map((object) => typed<V1Pod>(object))
      .filter((pod) => pod.metadata?.namespace === namespace && controllerOf(pod)?.uid === uid);
    const live = this.expectations.adjust(uid, owned);
    const nodes = new Map(this.nodes.items().map((object) => [object.metadata.name ?? '', typed<V1Node>(object)]));
    const byNode = new Map<string, V1Pod[]>();
    const toDelete: V1Pod[] = [];
    for (const pod of live) {
      const nodeName = daemonPodNode(pod);
      // A pod of a node that is gone (or that never had one) has nowhere to run.
      if (!nodeName || !nodes.has(nodeName)) {
        if (!pod.metadata?.deletionTimestamp) toDelete.push(pod);
        continue;
      }
      byNode.set(nodeName, [...(byNode.get(nodeName) ?? []), pod]);
    }
    const toCreate: string[] = [];
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let updated = 0;
    const oldPods: V1Pod[] = [];
    let unavailable = 0;
    for (const [nodeName, node] of nodes) {
      const { shouldRun, shouldContinueRunning } = placement(node, daemonSet);
      const pods = (byNode.get(nodeName) ?? []).sort((a, b) =>
        String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')),
      );
      const running = pods.filter((pod) => !pod.metadata?.deletionTimestamp);
      if (shouldRun) desired += 1;
      if (!shouldContinueRunning) {
        if (running.length > 0) misscheduled += 1;
        toDelete.push(...running);
        continue;
      }
      if (running.length > 0) {
        if (shouldRun) current += 1;
        else misscheduled += 1;
      }
      // A failed daemon pod is replaced; the replacement waits until it is gone.
      const failed = running.filter((pod) => pod.status?.phase === 'Failed');
      toDelete.push(...failed);
      const healthy = running.filter((pod) => pod.status?.phase !== 'Failed');
      if (healthy.length === 0) {
        // A terminating pod still holds the node (its ports, its name on the host).
        if (shouldRun && pods.length === running.length && failed.length === 0) toCreate.push(nodeName);
        if (shouldRun) unavailable += 1;
        continue;
      }
      // Duplicates (a lost race): the oldest stays.
      toDelete.push(...healthy.slice(1));
      const pod = healthy[0];
      const podHash = pod.metadata?.labels?.['controller-revision-hash'];
      if (shouldRun && podReady(pod)) ready += 1;
      else if (shouldRun) unavailable += 1;
      if (shouldRun && podHash === hash) updated += 1;
      if (podHash !== hash) oldPods.push(pod);
    }
    const strategy = daemonSet.spec?.updateStrategy;
    if ((strategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const maxUnavailable = Math.max(1, scaled(strategy?.rollingUpdate?.maxUnavailable, desired, 1));
      // Old pods that are not available cost nothing to replace; available ones only within the budget.
      const [notReady, readyOld] = [oldPods.filter((pod) => !podReady(pod)), oldPods.filter((pod) => podReady(pod))];
      toDelete.push(...notReady);
      const budget = Math.max(0, maxUnavailable - unavailable);
      toDelete.push(...readyOld.slice(0, budget));
    }
    for (const nodeName of toCreate) await this.createPod(daemonSet, nodeName, hash);
    for (const pod of toDelete) {
      this.expectations.expectDeletion(pod);
      await deleteIfPresent(this.client, `/api/v1/namespaces/${namespace}/pods/${pod.metadata?.name}`, pod.metadata?.uid);
    }
    const status = {
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: daemonSet.metadata?.generation,
      updatedNumberScheduled: updated,
      numberAvailable: ready,
      ...(desired - ready > 0 ? { numberUnavailable: desired - ready } : {}),
    };
    const serialized = canonicalJson(status);
    if (canonicalJson(daemonSet.status ?? {}) === serialized || this.written.get(uid) === serialized) return;
    if (await writeStatus(this.client, daemonSetPath(namespace, name), cached, status)) this.written.set(uid, serialized);
  }

  private async createPod(daemonSet: V1DaemonSet, nodeName: string, hash: string): Promise<void> {
    const metadata = daemonSet.metadata ?? {};
    const template = daemonSet.spec?.template ?? {};
    const spec = template.spec ?? { containers: [] };
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${metadata.name}-${randomSuffix()}`,
        namespace: metadata.namespace,
        labels: {
          ...(template.metadata?.labels ?? {}),
          'controller-revision-hash': hash,
          'pod-template-generation': String(metadata.generation ?? 1),
        },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [ownerReference('apps/v1', { kind: 'DaemonSet', name: metadata.name ?? '', uid: metadata.uid ?? '' })],
      },
      spec: { ...pinToNode(spec, nodeName), tolerations: daemonPodTolerations(spec) },
    };
    let created: V1Pod;
    try {
      created = await this.client.request<V1Pod>('POST', `/api/v1/namespaces/${metadata.namespace}/pods`, pod);
    } catch (error) {
      if (namespaceTerminating(error)) return;
      throw error;
    }
    this.expectations.expectCreation(metadata.uid ?? '', created);
    this.logger.info(`daemonset ${metadata.namespace}/${metadata.name}: created pod ${created.metadata?.name} for node ${nodeName}`);
  }
}
