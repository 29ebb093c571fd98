// The health queue's node check, one cluster per job: read the tenant's Nodes and Leases,
// SSH-probe the nodes, let the pure policy (core/nodes/health-policy) decide, then write what it
// decided. It only observes and marks: the pool reconciler does the replacing.
import { CoordinationV1Api, CoreV1Api, type V1Lease, type V1Node } from '@kubernetes/client-node';
import { Inject, Injectable } from '@nestjs/common';
import {
  countsAsUnhealthy,
  evaluatePoolHealth,
  POOL_CONDITION,
  sealingContext,
  setCondition,
  transitionNode,
  type Condition,
  type NodeHealthDecision,
  type NodeHealthInput,
  type NodeObservation,
  type NodePhase,
  type SecretBox,
} from '../../../core/src/index.js';
import { ClusterRepository, NodeHealthRepository, NodePoolRepository, type ClusterRow, type NodePoolRow, type NodeRow } from '../../../db/src/index.js';
import { clusterKubeconfig, describeApiError, kubeConfigFromYaml, openClusterSecrets } from '../../../kube/src/index.js';
import type { Logger } from 'pino';
import { APP_CONFIG, ClusterEvents, LOGGER, QueueService, SECRET_BOX, type AppConfig } from '../../../platform/src/index.js';
import { probeSsh, type SshProbeResult } from './ssh-prober.js';

/** Per job: enough to probe a large pool in a few rounds without opening hundreds of sockets at once. */
export const SSH_PROBE_CONCURRENCY = 16;
const TENANT_READ_TIMEOUT_MS = 10_000;
/** Nodes worth an SSH probe: a machine that should be up. Provisioning ones may not have sshd yet. */
const PROBED_PHASES: readonly NodePhase[] = ['Joining', 'Ready', 'Unhealthy'];

export interface NodeHealthResult {
  clusterId: string;
  checked: number;
  apiReachable?: boolean;
  unhealthy?: number;
  replacing?: string[];
  skipped?: string;
}

interface TenantView {
  nodes: Map<string, V1Node>;
  leases: Map<string, V1Lease>;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Runs at most `limit` at a time, keeping the input order in the results. */
async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index]);
    }
  });
  await Promise.all(lanes);
  return results;
}

function asDate(value: Date | string | undefined | null): Date | null {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function conditionsOf(value: unknown): Condition[] {
  return Array.isArray(value) ? (value as Condition[]) : [];
}

export function observe(row: NodeRow, tenant: TenantView | undefined, ssh: SshProbeResult | null): NodeObservation {
  const node = tenant?.nodes.get(row.name);
  const ready = node?.status?.conditions?.find((condition) => condition.type === 'Ready');
  const lease = tenant?.leases.get(row.name);
  return {
    node: node
      ? {
          ready: ready
            ? {
                status: ready.status === 'True' || ready.status === 'False' ? ready.status : 'Unknown',
                reason: ready.reason ?? '',
                message: ready.message ?? '',
                lastHeartbeatTime: asDate(ready.lastHeartbeatTime),
              }
            : null,
        }
      : null,
    leaseRenewTime: asDate(lease?.spec?.renewTime),
    ssh: ssh ? { ok: ssh.ok, reason: ssh.reason, message: ssh.message } : null,
  };
}

@Injectable()
export class NodeHealthChecker {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly clusters: ClusterRepository,
    private readonly pools: NodePoolRepository,
    private readonly health: NodeHealthRepository,
    private readonly events: ClusterEvents,
    private readonly queues: QueueService,
  ) {}

  async enqueueAll(): Promise<number> {
    const clusterIds = await this.health.clusterIdsWithWatchedNodes();
    for (const clusterId of clusterIds) await this.queues.checkNodes(clusterId);
    return clusterIds.length;
  }

  async check(clusterId: string): Promise<NodeHealthResult> {
    const cluster = await this.clusters.findById(clusterId);
    if (!cluster || cluster.deleted_at) return { clusterId, checked: 0, skipped: 'cluster gone' };
    const rows = await this.health.listWatchedNodes(clusterId);
    const pools = new Map((await this.pools.list(clusterId)).map((pool) => [pool.id, pool]));
    const watched = rows.filter((row) => pools.has(row.pool_id));
    if (watched.length === 0) return { clusterId, checked: 0, skipped: 'no nodes' };

    const privateKeys = new Map<string, string | null>();
    for (const pool of pools.values()) privateKeys.set(pool.id, this.openPoolKey(pool));
    // Lease ages are judged at the moment the tenant was read, not after the SSH round.
    const now = new Date();
    const [tenant, probes] = await Promise.all([
      this.readTenant(cluster),
      mapBounded(watched, SSH_PROBE_CONCURRENCY, (row) => this.probe(row, privateKeys.get(row.pool_id) ?? null)),
    ]);
    const probeOf = new Map(watched.map((row, index) => [row.id, probes[index]]));

    const replacing: string[] = [];
    let unhealthy = 0;
    for (const pool of pools.values()) {
      const poolRows = watched.filter((row) => row.pool_id === pool.id);
      if (poolRows.length === 0) continue;
      const inputs: NodeHealthInput[] = poolRows.map((row) => ({
        id: row.id,
        name: row.name,
        phase: row.phase as NodePhase,
        phaseReason: row.phase_reason,
        createdAt: row.created_at,
        unhealthySince: row.unhealthy_since,
        lastHeartbeatAt: row.last_heartbeat_at,
        conditions: conditionsOf(row.conditions),
        observation: observe(row, tenant, probeOf.get(row.id) ?? null),
      }));
      const decision = evaluatePoolHealth({
        settings: pool.health_check,
        poolConditions: conditionsOf(pool.conditions),
        apiReachable: tenant !== undefined,
        nodes: inputs,
        now,
      });
      const rowOf = new Map(poolRows.map((row) => [row.id, row]));
      const replaced: string[] = [];
      for (const node of decision.nodes) {
        const row = rowOf.get(node.id);
        if (!row) continue;
        const moved = await this.write(cluster, pool, row, node, probeOf.get(row.id) ?? null, now);
        if (moved && node.phase === 'Replacing') replaced.push(node.id);
        if (countsAsUnhealthy(node)) unhealthy += 1;
      }
      await this.writePoolCondition(cluster, pool, decision.poolConditions, decision.remediationAllowedChangedTo);
      if (replaced.length > 0) await this.queues.reconcilePool(clusterId, pool.id);
      replacing.push(...replaced);
    }
    return { clusterId, checked: watched.length, apiReachable: tenant !== undefined, unhealthy, replacing };
  }

  /** Undefined when the tenant API cannot be read: the policy then concludes nothing from it. */
  private async readTenant(cluster: ClusterRow): Promise<TenantView | undefined> {
    if (!cluster.endpoint) return undefined;
    const secrets = openClusterSecrets(this.box, cluster.id, cluster.sealed_secrets);
    if (!secrets) return undefined;
    const config = kubeConfigFromYaml(clusterKubeconfig({ clusterName: cluster.name, endpoint: cluster.endpoint, pki: secrets.pki, role: 'admin' }));
    try {
      const [nodes, leases] = await Promise.all([
        withTimeout(config.makeApiClient(CoreV1Api).listNode(), TENANT_READ_TIMEOUT_MS, 'list Nodes'),
        withTimeout(config.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: 'kube-node-lease' }), TENANT_READ_TIMEOUT_MS, 'list Leases'),
      ]);
      return {
        nodes: new Map(nodes.items.map((node) => [node.metadata?.name ?? '', node])),
        leases: new Map(leases.items.map((lease) => [lease.metadata?.name ?? '', lease])),
      };
    } catch (error) {
      // Shows on every node as Ready/LeaseFresh Unknown (TenantAPIUnreachable); the cluster check reports the outage itself.
      this.logger.warn({ clusterId: cluster.id, error: describeApiError(error) }, 'node health: tenant API unreadable');
      return undefined;
    }
  }

  /** Null (nodes go unprobed, SshReachable Unknown) until the pool reconciler made the key, or when it cannot be opened. */
  private openPoolKey(pool: NodePoolRow): string | null {
    if (!pool.sealed_ssh_private_key) return null;
    try {
      return this.box.open(pool.sealed_ssh_private_key, sealingContext.poolSshPrivateKey(pool.id));
    } catch (error) {
      this.logger.error({ poolId: pool.id, error: error instanceof Error ? error.message : String(error) }, 'node health: the pool SSH key cannot be opened');
      return null;
    }
  }

  private async probe(row: NodeRow, privateKey: string | null): Promise<SshProbeResult | null> {
    if (!privateKey || !row.private_ip || !PROBED_PHASES.includes(row.phase as NodePhase)) return null;
    return probeSsh(
      { host: row.private_ip, port: this.config.nodeSsh.port, username: this.config.nodeSsh.user, privateKey, pinnedHostKey: row.ssh_host_key },
      { timeoutMs: this.config.nodeSsh.timeoutMs },
    );
  }

  /** Writes one node's observation and, guarded by the phase it was read in, its phase. True when the phase moved. */
  private async write(cluster: ClusterRow, pool: NodePoolRow, row: NodeRow, node: NodeHealthDecision, ssh: SshProbeResult | null, now: Date): Promise<boolean> {
    await this.health.recordObservation(row.id, {
      conditions: node.conditions,
      lastHeartbeatAt: node.lastHeartbeatAt,
      // An unprobed node keeps its last probe result.
      ...(ssh ? { sshProbe: { ok: ssh.ok, at: now.toISOString(), message: ssh.message } } : {}),
      ...(ssh?.ok && ssh.hostKey && !row.ssh_host_key ? { pinHostKey: ssh.hostKey } : {}),
    });
    if (node.phase === node.previousPhase) {
      if (node.phase === 'Unhealthy' && (node.phaseReason !== row.phase_reason || node.unhealthySince?.getTime() !== row.unhealthy_since?.getTime())) {
        await this.health.refreshUnhealthy(row.id, node.phase, node.phaseReason, node.unhealthySince);
      }
      return false;
    }
    const phase = transitionNode(node.previousPhase, node.phase);
    const moved = await this.health.changePhase(
      row.id,
      { from: node.previousPhase, phase, phaseReason: node.phaseReason, unhealthySince: node.unhealthySince },
      now,
    );
    if (!moved) return false;
    const where = `node ${row.name} (pool ${pool.name})`;
    const base = { clusterId: cluster.id, projectId: cluster.project_id };
    if (node.transition === 'Unhealthy') {
      await this.events.record({ ...base, type: 'Warning', reason: 'NodeUnhealthy', message: `${where} is Unhealthy (${node.phaseReason}): ${node.problem}` });
    } else if (node.transition === 'Recovered') {
      await this.events.record({ ...base, reason: 'NodeRecovered', message: `${where} is Ready again: its health checks pass` });
    } else if (node.transition === 'Replacing') {
      const timeout =
        node.phaseReason === 'StartupTimeout'
          ? `${pool.health_check.startupTimeoutSeconds} s after creation`
          : `for ${pool.health_check.unhealthyTimeoutSeconds} s or more`;
      await this.events.record({
        ...base,
        reason: 'NodeReplacing',
        message: `${where} unhealthy ${timeout} (${node.phaseReason}): a replacement is made first, then it is removed`,
      });
    }
    return true;
  }

  private async writePoolCondition(cluster: ClusterRow, pool: NodePoolRow, decided: Condition[], changedTo: 'True' | 'False' | undefined): Promise<void> {
    const next = decided.find((condition) => condition.type === POOL_CONDITION.remediationAllowed);
    const before = conditionsOf(pool.conditions).find((condition) => condition.type === POOL_CONDITION.remediationAllowed);
    if (!next || (before?.status === next.status && before.reason === next.reason && before.message === next.message)) return;
    // Re-read so a condition someone else set on the pool meanwhile is kept.
    const fresh = await this.pools.find(cluster.id, pool.id);
    if (!fresh) return;
    const merged = setCondition(conditionsOf(fresh.conditions), next, new Date()).sort((a, b) => a.type.localeCompare(b.type));
    await this.health.setPoolConditions(pool.id, merged);
    const base = { clusterId: cluster.id, projectId: cluster.project_id };
    if (changedTo === 'False') {
      await this.events.record({ ...base, type: 'Warning', reason: 'RemediationShortCircuited', message: `node pool ${pool.name}: ${next.message}` });
    } else if (changedTo === 'True') {
      await this.events.record({ ...base, reason: 'RemediationResumed', message: `node pool ${pool.name}: ${next.message}` });
    }
  }
}
