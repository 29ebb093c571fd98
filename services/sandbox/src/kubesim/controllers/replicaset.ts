import type { V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import type { KubeClient, Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';
import {
  PodExpectations,
  canonicalJson,
  namespaceTerminating,
  controllerOf,
  deleteIfPresent,
  namespacedKey,
  ownerReference,
  podActive,
  podReady,
  randomSuffix,
  splitKey,
  typed,
  writeStatus,
} from './workload-support.js';

const replicaSetPath = (namespace: string, name: string): string => `/apis/apps/v1/namespaces/${namespace}/replicasets/${name}`;

/**
 * pkg/controller/replicaset: keeps spec.replicas active Pods of each ReplicaSet's template and
 * reports how many exist and how many are ready. Pods are created unscheduled, for the scheduler
 * (or the process kubelet of a seed without one) to bind. Excess pods go not-ready first, then
 * newest first.
 */
export class ReplicaSetController {
  private readonly queue: WorkQueue;
  private readonly replicaSets: Informer;
  private readonly pods: Informer;
  private readonly expectations = new PodExpectations();
  private readonly written = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {
    this.queue = new WorkQueue((key) => this.sync(key), logger, 'replicaset');
    this.replicaSets = new Informer(
      client,
      '/apis/apps/v1/replicasets',
      (event, object) => {
        const key = namespacedKey(object.metadata.namespace, object.metadata.name);
        if (event === 'deleted') this.written.delete(object.metadata.uid ?? '');
        this.queue.add(key);
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
        if (owner?.kind === 'ReplicaSet') this.queue.add(namespacedKey(pod.metadata?.namespace, owner.name));
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.replicaSets.run(signal), this.pods.run(signal), this.queue.run(signal)]);
  }

  private async sync(key: string): Promise<void> {
    await Promise.all([this.replicaSets.hasSynced(), this.pods.hasSynced()]);
    const cached = this.replicaSets.get(key);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const replicaSet = typed<V1ReplicaSet>(cached);
    const { namespace, name } = splitKey(key);
    const uid = replicaSet.metadata?.uid ?? '';
    const owned = this.pods
      .items()
      .map((object) => typed<V1Pod>(object))
      .filter((pod) => pod.metadata?.namespace === namespace && controllerOf(pod)?.uid === uid);
    const active = this.expectations.adjust(uid, owned.filter(podActive));
    const desired = replicaSet.spec?.replicas ?? 1;
    if (active.length < desired) {
      for (let count = active.length; count < desired; count++) await this.createPod(replicaSet);
    } else if (active.length > desired) {
      // getPodsToDelete: not ready before ready, then the newest first.
      const victims = [...active]
        .sort(
          (a, b) =>
            Number(podReady(a)) - Number(podReady(b)) || String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')),
        )
        .slice(0, active.length - desired);
      for (const pod of victims) {
        this.expectations.expectDeletion(pod);
        await deleteIfPresent(this.client, `/api/v1/namespaces/${namespace}/pods/${pod.metadata?.name}`, pod.metadata?.uid);
      }
    }
    const counted = owned.filter(podActive);
    const ready = counted.filter(podReady).length;
    const status = {
      replicas: counted.length,
      fullyLabeledReplicas: counted.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: replicaSet.metadata?.generation,
    };
    const serialized = canonicalJson(status);
    // Either check alone suffices: a server that drops zero values must not make every sync write.
    if (canonicalJson(replicaSet.status ?? {}) === serialized || this.written.get(uid) === serialized) return;
    if (await writeStatus(this.client, replicaSetPath(namespace, name), cached, status)) this.written.set(uid, serialized);
  }

  private async createPod(replicaSet: V1ReplicaSet): Promise<void> {
    const metadata = replicaSet.metadata ?? {};
    const template = replicaSet.spec?.template ?? {};
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${metadata.name}-${randomSuffix()}`,
        namespace: metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}) },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [ownerReference('apps/v1', { kind: 'ReplicaSet', name: metadata.name ?? '', uid: metadata.uid ?? '' })],
      },
      spec: template.spec ?? { containers: [] },
    };
    let created: V1Pod;
    try {
      created = await this.client.request<V1Pod>('POST', `/api/v1/namespaces/${metadata.namespace}/pods`, pod);
    } catch (error) {
      if (namespaceTerminating(error)) return;
      throw error;
    }
    this.expectations.expectCreation(metadata.uid ?? '', created);
    this.logger.info(`replicaset ${metadata.namespace}/${metadata.name}: created pod ${created.metadata?.name}`);
  }
}
