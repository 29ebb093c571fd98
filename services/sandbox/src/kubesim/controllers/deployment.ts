import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import type { KubeObject } from '../contracts.js';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';
import {
  canonicalJson,
  namespaceTerminating,
  controllerOf,
  deleteIfPresent,
  kubeTime,
  namespacedKey,
  ownerReference,
  podActive,
  podReady,
  templateHash,
  typed,
  writeStatus,
} from './workload-support.js';

const POD_TEMPLATE_HASH = 'pod-template-hash';
const REVISION = 'deployment.kubernetes.io/revision';

const deploymentPath = (namespace: string, name: string): string => `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`;
const replicaSetPath = (namespace: string, name: string): string => `/apis/apps/v1/namespaces/${namespace}/replicasets/${name}`;
const revisionOf = (replicaSet: V1ReplicaSet): number => Number.parseInt(replicaSet.metadata?.annotations?.[REVISION] ?? '0', 10);

interface Revision {
  replicaSet: V1ReplicaSet;
  /** Active pods (not being deleted). */
  active: V1Pod[];
  /** Every pod, terminating ones included. */
  all: V1Pod[];
}

/**
 * pkg/controller/deployment, for what the product uses: one ReplicaSet `<name>-<pod-template-hash>`
 * per template revision (revision annotation, old ones scaled to 0 and kept up to
 * revisionHistoryLimit), `Recreate`, rolling updates with maxSurge 1 / maxUnavailable 0 whatever
 * the spec says, `paused`. The ReplicaSet controller creates and deletes the pods; this one only
 * sets each ReplicaSet's replicas. Status (replicas, updated/ready/available/unavailable,
 * observedGeneration, Available and Progressing) is counted from the Pods in the API.
 */
export class DeploymentController {
  private readonly queue: WorkQueue;
  private readonly deployments: Informer;
  private readonly replicaSets: Informer;
  private readonly pods: Informer;
  private readonly written = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {
    this.queue = new WorkQueue((key) => this.sync(key), logger, 'deployment');
    this.deployments = new Informer(
      client,
      '/apis/apps/v1/deployments',
      (event, object) => {
        if (event === 'deleted') this.written.delete(object.metadata.uid ?? '');
        this.queue.add(namespacedKey(object.metadata.namespace, object.metadata.name));
      },
      logger,
    );
    this.replicaSets = new Informer(
      client,
      '/apis/apps/v1/replicasets',
      (_event, object) => {
        const owner = controllerOf(typed<V1ReplicaSet>(object));
        if (owner?.kind === 'Deployment') this.queue.add(namespacedKey(object.metadata.namespace, owner.name));
      },
      logger,
    );
    this.pods = new Informer(
      client,
      '/api/v1/pods',
      (_event, object) => {
        const owner = controllerOf(typed<V1Pod>(object));
        if (owner?.kind !== 'ReplicaSet') return;
        const replicaSet = this.replicaSets.get(namespacedKey(object.metadata.namespace, owner.name));
        const deployment = replicaSet ? controllerOf(typed<V1ReplicaSet>(replicaSet)) : undefined;
        if (deployment?.kind === 'Deployment') this.queue.add(namespacedKey(object.metadata.namespace, deployment.name));
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.deployments.run(signal), this.replicaSets.run(signal), this.pods.run(signal), this.queue.run(signal)]);
  }

  private revisions(deployment: V1Deployment): Revision[] {
    const namespace = deployment.metadata?.namespace;
    const uid = deployment.metadata?.uid;
    const pods = this.pods
      .items()
      .map((object) => typed<V1Pod>(object))
      .filter((pod) => pod.metadata?.namespace === namespace);
    return this.replicaSets
      .items()
      .map((object) => typed<V1ReplicaSet>(object))
      .filter((replicaSet) => replicaSet.metadata?.namespace === namespace && controllerOf(replicaSet)?.uid === uid && !replicaSet.metadata?.deletionTimestamp)
      .map((replicaSet) => {
        const all = pods.filter((pod) => controllerOf(pod)?.uid === replicaSet.metadata?.uid);
        return { replicaSet, all, active: all.filter(podActive) };
      });
  }

  private async sync(key: string): Promise<void> {
    try {
      await this.syncKey(key);
    } catch (error) {
      if (!namespaceTerminating(error)) throw error;
    }
  }

  private async syncKey(key: string): Promise<void> {
    await Promise.all([this.deployments.hasSynced(), this.replicaSets.hasSynced(), this.pods.hasSynced()]);
    const cached = this.deployments.get(key);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const deployment = typed<V1Deployment>(cached);
    const template = deployment.spec?.template;
    if (!template || !deployment.metadata?.uid) return;
    const hash = templateHash(template);
    let revisions = this.revisions(deployment);
    if (!deployment.spec?.paused) {
      const current = revisions.find((revision) => revision.replicaSet.metadata?.name === `${deployment.metadata?.name}-${hash}`);
      if (!current) await this.createReplicaSet(deployment, hash, revisions);
      else
        await this.scale(
          deployment,
          current,
          revisions.filter((revision) => revision !== current),
        );
      await this.pruneHistory(deployment, hash, revisions);
      revisions = this.revisions(deployment);
    }
    await this.writeStatus(cached, deployment, hash, revisions);
  }

  /** The ReplicaSet that owns the pods of one template revision, created empty and scaled by the next sync. */
  private async createReplicaSet(deployment: V1Deployment, hash: string, revisions: Revision[]): Promise<void> {
    const metadata = deployment.metadata ?? {};
    const template = deployment.spec?.template ?? {};
    const name = `${metadata.name}-${hash}`;
    const revision = Math.max(0, ...revisions.map((candidate) => revisionOf(candidate.replicaSet))) + 1;
    const replicaSet: V1ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
        annotations: { [REVISION]: String(revision) },
        ownerReferences: [ownerReference('apps/v1', { kind: 'Deployment', name: metadata.name ?? '', uid: metadata.uid ?? '' })],
      },
      spec: {
        replicas: 0,
        selector: {
          matchLabels: { ...(deployment.spec?.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash },
          ...(deployment.spec?.selector?.matchExpressions ? { matchExpressions: deployment.spec.selector.matchExpressions } : {}),
        },
        template: { ...template, metadata: { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } } },
      },
    };
    try {
      await this.client.request('POST', `/apis/apps/v1/namespaces/${metadata.namespace}/replicasets`, replicaSet);
      this.logger.info(`deployment ${metadata.namespace}/${metadata.name}: created ReplicaSet ${name}`);
    } catch (error) {
      // Exists already: either ours and not in the cache yet (its event syncs again) or someone else's.
      if (!isStatus(error, 409)) throw error;
      const existing = await this.client.getOptional(replicaSetPath(metadata.namespace ?? 'default', name));
      if (existing && controllerOf(typed<V1ReplicaSet>(existing))?.uid !== metadata.uid) {
        throw new Error(`ReplicaSet ${metadata.namespace}/${name} is not controlled by Deployment ${metadata.name}`, { cause: error });
      }
    }
  }

  private async scale(deployment: V1Deployment, current: Revision, old: Revision[]): Promise<void> {
    const desired = deployment.spec?.replicas ?? 1;
    const replicasOf = (revision: Revision): number => revision.replicaSet.spec?.replicas ?? 0;
    if (deployment.spec?.strategy?.type === 'Recreate') {
      // Every old pod is gone, terminating ones included, before the new revision starts.
      for (const revision of old) if (replicasOf(revision) > 0) await this.setReplicas(revision.replicaSet, 0);
      if (old.some((revision) => revision.all.length > 0)) return;
      await this.setReplicas(current.replicaSet, desired);
      return;
    }
    const oldActive = old.reduce((sum, revision) => sum + revision.active.length, 0);
    if (oldActive === 0) {
      for (const revision of old) if (replicasOf(revision) > 0) await this.setReplicas(revision.replicaSet, 0);
      await this.setReplicas(current.replicaSet, desired);
      return;
    }
    // maxSurge 1: the new revision grows while the total stays at most one above desired.
    const target = Math.min(desired, Math.max(Math.min(replicasOf(current), desired), desired + 1 - oldActive));
    await this.setReplicas(current.replicaSet, target);
    // maxUnavailable 0: an old pod that is not ready may go at once; a ready one only while the
    // ready count stays at the desired count. A ReplicaSet already scaled below its pods is still
    // removing some (not-ready ones first), and those no longer count as ready: otherwise a sync
    // that sees the new replicas before the pods' deletion would remove a ready pod twice.
    const kept = (revision: Revision): { present: number; ready: number } => {
      const present = Math.min(replicasOf(revision), revision.active.length);
      return { present, ready: Math.min(present, revision.active.filter(podReady).length) };
    };
    let budget = Math.max(0, [current, ...old].reduce((sum, revision) => sum + kept(revision).ready, 0) - desired);
    for (const revision of [...old].sort((a, b) => revisionOf(a.replicaSet) - revisionOf(b.replicaSet))) {
      const { ready } = kept(revision);
      const readyRemovals = Math.min(budget, ready);
      budget -= readyRemovals;
      // Its not-ready pods go at once.
      await this.setReplicas(revision.replicaSet, ready - readyRemovals);
    }
  }

  private async setReplicas(replicaSet: V1ReplicaSet, replicas: number): Promise<void> {
    if ((replicaSet.spec?.replicas ?? 1) === replicas || !replicaSet.spec) return;
    try {
      await this.client.request('PUT', replicaSetPath(replicaSet.metadata?.namespace ?? 'default', replicaSet.metadata?.name ?? ''), {
        ...replicaSet,
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        spec: { ...replicaSet.spec, replicas },
      });
    } catch (error) {
      // A newer ReplicaSet exists; its informer event brings this Deployment back.
      if (!isStatus(error, 409) && !isStatus(error, 404)) throw error;
    }
  }

  /** Keeps at most revisionHistoryLimit (default 10) scaled-down old ReplicaSets. */
  private async pruneHistory(deployment: V1Deployment, hash: string, revisions: Revision[]): Promise<void> {
    const limit = deployment.spec?.revisionHistoryLimit ?? 10;
    const history = revisions
      .filter((revision) => revision.replicaSet.metadata?.labels?.[POD_TEMPLATE_HASH] !== hash)
      .filter((revision) => (revision.replicaSet.spec?.replicas ?? 0) === 0 && revision.all.length === 0)
      .sort((a, b) => revisionOf(b.replicaSet) - revisionOf(a.replicaSet));
    for (const revision of history.slice(limit)) {
      const metadata = revision.replicaSet.metadata;
      await deleteIfPresent(this.client, replicaSetPath(metadata?.namespace ?? 'default', metadata?.name ?? ''), metadata?.uid);
    }
  }

  private async writeStatus(cached: KubeObject, deployment: V1Deployment, hash: string, revisions: Revision[]): Promise<void> {
    const desired = deployment.spec?.replicas ?? 1;
    const pods = revisions.flatMap((revision) => revision.active);
    const ready = pods.filter(podReady).length;
    const updated = revisions
      .filter((revision) => revision.replicaSet.metadata?.labels?.[POD_TEMPLATE_HASH] === hash)
      .flatMap((revision) => revision.active).length;
    const available = ready >= desired;
    const complete = updated === desired && pods.length === desired && ready === desired;
    const previous = (cached.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    const replicaSetName = `${deployment.metadata?.name}-${hash}`;
    const conditions: Condition[] = [
      condition(
        previous,
        'Available',
        available,
        available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
      ),
      condition(
        previous,
        'Progressing',
        true,
        complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
        complete ? `ReplicaSet "${replicaSetName}" has successfully progressed.` : `ReplicaSet "${replicaSetName}" is progressing.`,
      ),
    ];
    const status = {
      observedGeneration: deployment.metadata?.generation,
      replicas: pods.length,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, desired - ready),
      conditions,
    };
    const uid = deployment.metadata?.uid ?? '';
    const serialized = canonicalJson(status);
    // Either check alone suffices: a server that drops zero values must not make every sync write.
    if (canonicalJson(deployment.status ?? {}) === serialized || this.written.get(uid) === serialized) return;
    if (await writeStatus(this.client, deploymentPath(deployment.metadata?.namespace ?? 'default', deployment.metadata?.name ?? ''), cached, status))
      this.written.set(uid, serialized);
  }
}

/** DeploymentCondition as the informer holds it: times are the strings the server sent. */
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

function condition(previous: Condition[], type: string, value: boolean, reason: string, message: string): Condition {
  const status = value ? 'True' : 'False';
  const before = previous.find((candidate) => candidate.type === type);
  const transitioned = before?.status !== status;
  const now = kubeTime();
  return {
    type,
    status,
    reason,
    message,
    lastUpdateTime: before && !transitioned && before.reason === reason ? before.lastUpdateTime : now,
    lastTransitionTime: transitioned ? now : before.lastTransitionTime,
  };
}
