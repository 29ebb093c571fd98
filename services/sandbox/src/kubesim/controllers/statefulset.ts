import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet, V1Volume } from '@kubernetes/client-node';
import type { KubeObject } from '../contracts.js';
import { isStatus, type KubeClient, type Logger } from './client.js';
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
  splitKey,
  templateHash,
  typed,
  writeStatus,
} from './workload-support.js';

const STS_POD_NAME = 'statefulset.kubernetes.io/pod-name';
const STS_POD_INDEX = 'apps.kubernetes.io/pod-index';
const STS_REVISION = 'controller-revision-hash';

const podPath = (namespace: string, name: string): string => `/api/v1/namespaces/${namespace}/pods/${name}`;

/**
 * pkg/controller/statefulset: pods `<name>-<ordinal>` with the pod-name, pod-index and
 * controller-revision-hash labels and hostname/subdomain set; `OrderedReady` (default: the next
 * ordinal only once the previous is Running and Ready) or `Parallel`; scale down from the highest
 * ordinal; rolling update from the highest ordinal, one at a time, honouring `partition`;
 * `OnDelete`. No revision history is kept, so a pod recreated below the partition gets the newest
 * template. Claims `<template>-<name>-<ordinal>` are created and never deleted; kubesim has no
 * volume binder, so the claim is marked Bound as a provisioner would leave it.
 */
export class StatefulSetController {
  private readonly queue: WorkQueue;
  private readonly statefulSets: Informer;
  private readonly pods: Informer;
  private readonly claims: Informer;
  private readonly expectations = new PodExpectations();
  private readonly written = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {
    this.queue = new WorkQueue((key) => this.sync(key), logger, 'statefulset');
    this.statefulSets = new Informer(
      client,
      '/apis/apps/v1/statefulsets',
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
        if (owner?.kind === 'StatefulSet') this.queue.add(namespacedKey(pod.metadata?.namespace, owner.name));
      },
      logger,
    );
    this.claims = new Informer(client, '/api/v1/persistentvolumeclaims', () => undefined, logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.statefulSets.run(signal), this.pods.run(signal), this.claims.run(signal), this.queue.run(signal)]);
  }

  private async sync(key: string): Promise<void> {
    try {
      await this.syncStatefulSet(key);
    } catch (error) {
      if (!namespaceTerminating(error)) throw error;
    }
  }

  private async syncStatefulSet(key: string): Promise<void> {
    await Promise.all([this.statefulSets.hasSynced(), this.pods.hasSynced(), this.claims.hasSynced()]);
    const cached = this.statefulSets.get(key);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const statefulSet = typed<V1StatefulSet>(cached);
    const spec = statefulSet.spec;
    const uid = statefulSet.metadata?.uid;
    if (!spec || !uid) return;
    const { namespace, name } = splitKey(key);
    const revision = `${name}-${templateHash(spec.template)}`;
    const inNamespace = this.pods
      .items()
      .map((object) => typed<V1Pod>(object))
      .filter((pod) => pod.metadata?.namespace === namespace);
    // Terminating members still hold their ordinal: a replacement waits until the old pod is gone.
    const members = this.expectations.adjust(
      uid,
      inNamespace.filter((pod) => controllerOf(pod)?.uid === uid),
    );
    const byOrdinal = new Map<number, V1Pod>();
    for (const pod of members) {
      const ordinal = ordinalOf(pod, name);
      if (ordinal !== undefined) byOrdinal.set(ordinal, pod);
    }
    await this.reconcile(statefulSet, namespace, name, revision, byOrdinal, inNamespace);
    await this.writeStatus(cached, statefulSet, namespace, name, revision, members.filter(podActive));
  }

  private async reconcile(
    statefulSet: V1StatefulSet,
    namespace: string,
    name: string,
    revision: string,
    byOrdinal: Map<number, V1Pod>,
    inNamespace: V1Pod[],
  ): Promise<void> {
    const spec = statefulSet.spec;
    if (!spec) throw new Error(`StatefulSet ${namespace}/${name} has no spec`);
    const desired = spec.replicas ?? 1;
    const parallel = spec.podManagementPolicy === 'Parallel';
    for (let ordinal = 0; ordinal < desired; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (!pod) {
        const created = await this.createPod(statefulSet, namespace, name, ordinal, revision, inNamespace);
        if (!parallel || !created) return;
        continue;
      }
      // OrderedReady: the next ordinal starts only once this one is Running and Ready.
      if (!parallel && (!podActive(pod) || !podReady(pod))) return;
    }
    const excess = [...byOrdinal].filter(([ordinal]) => ordinal >= desired).sort(([a], [b]) => b - a);
    if (excess.length > 0) {
      // Scale down one at a time from the highest ordinal (all at once when Parallel).
      if (!parallel && excess.some(([, pod]) => !podActive(pod))) return;
      for (const [, pod] of parallel ? excess : excess.slice(0, 1)) await this.deletePod(pod);
      return;
    }
    if ((spec.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
    const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    const current = [...byOrdinal.values()];
    if (!current.every((pod) => podActive(pod) && podReady(pod))) return;
    // Rolling update from the highest ordinal down, one member at a time, each only after the
    // whole set is ready again.
    const next = [...byOrdinal.entries()]
      .filter(([ordinal, pod]) => pod.metadata?.labels?.[STS_REVISION] !== revision && ordinal >= partition)
      .sort(([a], [b]) => b - a)[0];
    if (next) await this.deletePod(next[1]);
  }

  private async deletePod(pod: V1Pod): Promise<void> {
    if (!podActive(pod)) return;
    this.expectations.expectDeletion(pod);
    await deleteIfPresent(this.client, podPath(pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? ''), pod.metadata?.uid);
  }

  private async createPod(
    statefulSet: V1StatefulSet,
    namespace: string,
    name: string,
    ordinal: number,
    revision: string,
    inNamespace: V1Pod[],
  ): Promise<boolean> {
    const spec = statefulSet.spec;
    if (!spec) throw new Error(`StatefulSet ${namespace}/${name} has no spec`);
    const podName = `${name}-${ordinal}`;
    const existing = inNamespace.find((pod) => pod.metadata?.name === podName);
    if (existing) {
      // A pod of that name from someone else, or still being deleted: it has to go first.
      if (!existing.metadata?.deletionTimestamp) await deleteIfPresent(this.client, podPath(namespace, podName), existing.metadata?.uid);
      return false;
    }
    const claimVolumes: V1Volume[] = [];
    for (const claimTemplate of spec.volumeClaimTemplates ?? []) {
      const templateName = claimTemplate.metadata?.name ?? '';
      const claimName = `${templateName}-${name}-${ordinal}`;
      await this.ensureClaim(statefulSet, claimTemplate, namespace, claimName);
      claimVolumes.push({ name: templateName, persistentVolumeClaim: { claimName } });
    }
    const template = spec.template ?? {};
    const claimNames = new Set(claimVolumes.map((volume) => volume.name));
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace,
        labels: { ...(template.metadata?.labels ?? {}), [STS_REVISION]: revision, [STS_POD_NAME]: podName, [STS_POD_INDEX]: String(ordinal) },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [ownerReference('apps/v1', { kind: 'StatefulSet', name, uid: statefulSet.metadata?.uid ?? '' })],
      },
      spec: {
        ...(template.spec ?? { containers: [] }),
        volumes: [...(template.spec?.volumes ?? []).filter((volume) => !claimNames.has(volume.name)), ...claimVolumes],
        hostname: podName,
        ...(spec.serviceName ? { subdomain: spec.serviceName } : {}),
      },
    };
    try {
      const created = await this.client.request<V1Pod>('POST', `/api/v1/namespaces/${namespace}/pods`, pod);
      this.expectations.expectCreation(statefulSet.metadata?.uid ?? '', created);
      this.logger.info(`statefulset ${namespace}/${name}: created pod ${podName}`);
      return true;
    } catch (error) {
      // Not in the cache yet; its event brings the StatefulSet back.
      if (isStatus(error, 409)) return false;
      throw error;
    }
  }

  private async ensureClaim(statefulSet: V1StatefulSet, claimTemplate: V1PersistentVolumeClaim, namespace: string, claimName: string): Promise<void> {
    if (this.claims.get(namespacedKey(namespace, claimName))) return;
    const claim: V1PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: claimName,
        namespace,
        labels: { ...(claimTemplate.metadata?.labels ?? {}), ...(statefulSet.spec?.selector?.matchLabels ?? {}) },
        ...(claimTemplate.metadata?.annotations ? { annotations: claimTemplate.metadata.annotations } : {}),
      },
      spec: { accessModes: ['ReadWriteOnce'], ...(claimTemplate.spec ?? {}) },
    };
    const path = `/api/v1/namespaces/${namespace}/persistentvolumeclaims`;
    let created: KubeObject;
    try {
      created = await this.client.request<KubeObject>('POST', path, claim);
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
      const found = await this.client.getOptional(`${path}/${claimName}`);
      if (!found) throw error;
      created = found;
    }
    const bound = typed<V1PersistentVolumeClaim>(created);
    if (bound.status?.phase === 'Bound') return;
    try {
      await writeStatus(this.client, `${path}/${claimName}`, created, {
        phase: 'Bound',
        accessModes: bound.spec?.accessModes,
        capacity: claimTemplate.spec?.resources?.requests ?? {},
      });
    } catch (error) {
      // The real statefulset-controller role may not write claim status (a binder does): with
      // --use-service-account-credentials the claim stays Pending, which the process kubelet accepts.
      if (!isStatus(error, 403)) throw error;
    }
  }

  private async writeStatus(
    cached: KubeObject,
    statefulSet: V1StatefulSet,
    namespace: string,
    name: string,
    updateRevision: string,
    pods: V1Pod[],
  ): Promise<void> {
    const desired = statefulSet.spec?.replicas ?? 1;
    const updated = pods.filter((pod) => pod.metadata?.labels?.[STS_REVISION] === updateRevision).length;
    const rolledOut = updated === desired && pods.length === desired;
    const currentRevision = rolledOut || !statefulSet.status?.currentRevision ? updateRevision : statefulSet.status.currentRevision;
    const ready = pods.filter(podReady).length;
    const status = {
      observedGeneration: statefulSet.metadata?.generation,
      replicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      currentReplicas: pods.filter((pod) => pod.metadata?.labels?.[STS_REVISION] === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    };
    const uid = statefulSet.metadata?.uid ?? '';
    const serialized = canonicalJson(status);
    // Either check alone suffices: a server that drops zero values must not make every sync write.
    if (canonicalJson(statefulSet.status ?? {}) === serialized || this.written.get(uid) === serialized) return;
    if (await writeStatus(this.client, `/apis/apps/v1/namespaces/${namespace}/statefulsets/${name}`, cached, status)) this.written.set(uid, serialized);
  }
}

function ordinalOf(pod: V1Pod, statefulSet: string): number | undefined {
  const name = pod.metadata?.name ?? '';
  if (!name.startsWith(`${statefulSet}-`)) return undefined;
  const ordinal = Number(name.slice(statefulSet.length + 1));
  return Number.isInteger(ordinal) && ordinal >= 0 ? ordinal : undefined;
}
