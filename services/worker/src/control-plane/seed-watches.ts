// Watches of each seed this worker reconciles into, so a cluster waiting for etcd quorum, an
// apiserver rollout or a LoadBalancer address runs its next pass when that object changes,
// rather than every waiting cluster polling the seed on a timer. Polling stays as the
// fallback: a long one while the watches are up, the short backoff while they are not.
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { CLUSTER_ID_LABEL } from '../../../core/src/controlplane/common.js';
import { StatusWatch, describeApiError, type KubeClient, type StatusChange, type WatchedKind } from '../../../kube/src/index.js';
import { LOGGER, QueueService } from '../../../platform/src/index.js';

/** The kinds a waiting pass looks at: every `AwaitedObject['kind']` of core's steps, and the exposing Service. */
const WATCHED_KINDS: readonly WatchedKind[] = [
  { kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets' },
  { kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { kind: 'Service', path: '/api/v1/services' },
];
const MANAGED_BY_US = 'app.kubernetes.io/managed-by=harbormaster';
/** Changes arriving together (a StatefulSet and its pods' Service) wake a cluster once. */
const COALESCE_MS = 50;
const FORGET_WAKES_AFTER_MS = 10 * 60_000;

@Injectable()
export class SeedWatches implements OnModuleDestroy {
  private readonly bySeed = new Map<string, { client: KubeClient; watch: StatusWatch }>();
  private readonly wokenAt = new Map<string, number>();
  private readonly pending = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly queues: QueueService,
  ) {}

  /**
   * Watches the seed behind `client` from now on (a new client, after its kubeconfig changed,
   * replaces the old watches). True when the watches are established, so a change of a watched
   * object will wake its cluster.
   */
  follow(seedId: string, client: KubeClient): boolean {
    const current = this.bySeed.get(seedId);
    if (current?.client === client) return current.watch.connected;
    current?.watch.stop();
    const watch = new StatusWatch(
      client.config,
      WATCHED_KINDS,
      MANAGED_BY_US,
      (change) => this.changed(change),
      (kind, error) => this.logger.debug({ seedId, kind, error: describeApiError(error) }, 'seed watch ended; polling waiting clusters until it is back'),
    ).start();
    this.bySeed.set(seedId, { client, watch });
    return false;
  }

  /** Whether a change for the cluster arrived at or after `since` (epoch ms). */
  wokenSince(clusterId: string, since: number): boolean {
    return (this.wokenAt.get(clusterId) ?? 0) >= since;
  }

  /** Promotes the cluster's job now, e.g. after a change that arrived while its pass was running. */
  async wake(clusterId: string): Promise<void> {
    try {
      await this.queues.wakeCluster(clusterId);
    } catch (error) {
      this.logger.warn({ clusterId, err: error }, 'could not wake the cluster reconcile; its fallback poll will run it');
    }
  }

  private changed(change: StatusChange): void {
    const clusterId = change.labels[CLUSTER_ID_LABEL];
    if (!clusterId) return;
    const now = Date.now();
    this.wokenAt.set(clusterId, now);
    if (this.wokenAt.size > 10_000) {
      for (const [id, at] of this.wokenAt) if (now - at > FORGET_WAKES_AFTER_MS) this.wokenAt.delete(id);
    }
    this.pending.add(clusterId);
    this.flushTimer ??= setTimeout(() => void this.flush(), COALESCE_MS);
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const clusterIds = [...this.pending];
    this.pending.clear();
    await Promise.all(clusterIds.map((clusterId) => this.wake(clusterId)));
  }

  onModuleDestroy(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const { watch } of this.bySeed.values()) watch.stop();
    this.bySeed.clear();
  }
}
