import type { KubeObject } from '../contracts.js';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((toleration) => {
    if (toleration.effect && toleration.effect !== taint.effect) return false;
    if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
    return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
  });
}

function schedulable(node: KubeObject, pod: KubeObject): boolean {
  const spec = (node.spec ?? {}) as { unschedulable?: boolean; taints?: Taint[] };
  if (spec.unschedulable) return false;
  const conditions = (node.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
  if (!conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True')) return false;
  const podSpec = (pod.spec ?? {}) as { tolerations?: Toleration[]; nodeSelector?: Record<string, string> };
  const labels = node.metadata.labels ?? {};
  if (Object.entries(podSpec.nodeSelector ?? {}).some(([key, value]) => labels[key] !== value)) return false;
  return (spec.taints ?? []).filter((taint) => taint.effect !== 'PreferNoSchedule').every((taint) => tolerates(podSpec.tolerations ?? [], taint));
}

/** A minimal default-scheduler: binds pending pods to Ready nodes that fit selectors and taints, spreading by pod count. */
export class Scheduler {
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly queue: WorkQueue;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly schedulerName = 'default-scheduler',
  ) {
    this.queue = new WorkQueue((key) => this.schedule(key), logger, 'scheduler');
    this.pods = new Informer(
      client,
      '/api/v1/pods',
      (event, pod) => {
        if (event !== 'deleted' && this.pending(pod)) this.queue.add(`${pod.metadata.namespace}/${pod.metadata.name}`);
      },
      logger,
    );
    this.nodes = new Informer(
      client,
      '/api/v1/nodes',
      () => {
        for (const pod of this.pods.items()) if (this.pending(pod)) this.queue.add(`${pod.metadata.namespace}/${pod.metadata.name}`);
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.pods.run(signal), this.nodes.run(signal), this.queue.run(signal)]);
  }

  private pending(pod: KubeObject): boolean {
    const spec = (pod.spec ?? {}) as { nodeName?: string; schedulerName?: string };
    return !spec.nodeName && (spec.schedulerName ?? 'default-scheduler') === this.schedulerName && !pod.metadata.deletionTimestamp;
  }

  private async schedule(key: string): Promise<void> {
    await Promise.all([this.pods.hasSynced(), this.nodes.hasSynced()]);
    const pod = this.pods.get(key);
    if (!pod || !this.pending(pod)) return;
    const load = new Map<string, number>();
    for (const other of this.pods.items()) {
      const nodeName = (other.spec as { nodeName?: string } | undefined)?.nodeName;
      if (nodeName) load.set(nodeName, (load.get(nodeName) ?? 0) + 1);
    }
    const candidates = this.nodes.items().filter((node) => schedulable(node, pod));
    if (candidates.length === 0) return;
    candidates.sort((a, b) => (load.get(a.metadata.name ?? '') ?? 0) - (load.get(b.metadata.name ?? '') ?? 0));
    const target = candidates[0].metadata.name ?? '';
    try {
      await this.client.request('POST', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: target },
      });
      this.logger.info(`scheduler: bound ${key} to ${target}`);
    } catch (error) {
      if (!isStatus(error, 409) && !isStatus(error, 404)) throw error;
    }
  }
}
