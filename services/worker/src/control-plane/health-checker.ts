// The periodic health probe of Running clusters: GET /readyz through the exposed endpoint with
// the admin credentials. Conditions flip only after consecutive results agree, so a single
// lost probe does not flap the status. Every check also asks for a reconcile pass, which is
// what repairs drift (a deleted Secret, a scaled-down etcd, an edited Deployment).
import { Inject, Injectable } from '@nestjs/common';
import { transitionCluster, type ClusterPhase, type SecretBox } from '../../../core/src/index.js';
import { ClusterRepository, UnitOfWork } from '../../../db/src/index.js';
import { clusterKubeconfig, openClusterSecrets, probeEndpoint } from '../../../kube/src/index.js';
import { ClusterEvents, QueueService, SECRET_BOX } from '../../../platform/src/index.js';
import { ClusterStatus, CONDITION, conditionsOf } from './cluster-status.js';

export const FAILURE_THRESHOLD = 3;
export const SUCCESS_THRESHOLD = 2;

export interface HealthResult {
  clusterId: string;
  probed: boolean;
  ok?: boolean;
  reachable?: 'True' | 'False' | 'Unknown';
}

export interface ReachabilityDecision {
  /** Consecutive results: positive for successes, negative for failures. */
  streak: number;
  flipTo?: 'True' | 'False';
}

/**
 * Thresholds, so one lost probe does not flap the status: False after FAILURE_THRESHOLD
 * failures in a row, True again after SUCCESS_THRESHOLD successes (or at once when the
 * condition was never False).
 */
export function reachabilityDecision(previousStreak: number, ok: boolean, current: 'True' | 'False' | 'Unknown' | undefined): ReachabilityDecision {
  const streak = ok ? Math.max(previousStreak, 0) + 1 : Math.min(previousStreak, 0) - 1;
  if (!ok && -streak >= FAILURE_THRESHOLD && current !== 'False') return { streak, flipTo: 'False' };
  if (ok && current !== 'True' && (current !== 'False' || streak >= SUCCESS_THRESHOLD)) return { streak, flipTo: 'True' };
  return { streak };
}

@Injectable()
export class ClusterHealthChecker {
  /** Consecutive results per cluster: positive for successes, negative for failures. */
  private readonly streaks = new Map<string, number>();

  constructor(
    private readonly unitOfWork: UnitOfWork,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly clusters: ClusterRepository,
    private readonly events: ClusterEvents,
    private readonly queues: QueueService,
  ) {}

  async enqueueAll(): Promise<number> {
    const running = await this.clusters.listRunning(10_000);
    for (const cluster of running) await this.queues.checkCluster(cluster.id);
    return running.length;
  }

  async check(clusterId: string): Promise<HealthResult> {
    const cluster = await this.clusters.findById(clusterId);
    if (!cluster || cluster.deleted_at || cluster.deletion_requested_at || !cluster.endpoint) {
      this.streaks.delete(clusterId);
      return { clusterId, probed: false };
    }
    const secrets = openClusterSecrets(this.box, cluster.id, cluster.sealed_secrets);
    if (!secrets) return { clusterId, probed: false };
    const kubeconfig = clusterKubeconfig({ clusterName: cluster.name, endpoint: cluster.endpoint, pki: secrets.pki, role: 'admin' });
    const probe = await probeEndpoint(kubeconfig);
    const reachable = conditionsOf(cluster).find((condition) => condition.type === CONDITION.reachable);
    const decision = reachabilityDecision(this.streaks.get(clusterId) ?? 0, probe.ok, reachable?.status);
    this.streaks.set(clusterId, decision.streak);
    const status = new ClusterStatus(cluster, this.unitOfWork, this.clusters, this.events);
    const message = probe.ok
      ? `GET ${cluster.endpoint}/readyz returned 200`
      : `GET ${cluster.endpoint}/readyz failed: ${probe.error ?? `HTTP ${probe.status}`}`;
    const phase = cluster.phase as ClusterPhase;
    if (decision.flipTo === 'False') {
      status.condition(CONDITION.reachable, false, 'ReadyzFailed', `${message} (${-decision.streak} consecutive failures)`);
      if (phase === 'Running') status.setPhase(transitionCluster(phase, 'Failed'), 'APIServerUnreachable');
    } else if (decision.flipTo === 'True') {
      status.condition(CONDITION.reachable, true, 'ReadyzOK', message);
    }
    await status.save();
    // Drift repair and recovery both go through the reconciler; the job id dedupes.
    await this.queues.reconcileCluster(clusterId);
    return {
      clusterId,
      probed: true,
      ok: probe.ok,
      reachable: conditionsOf((await this.clusters.findById(clusterId)) ?? cluster).find((c) => c.type === CONDITION.reachable)?.status,
    };
  }
}
