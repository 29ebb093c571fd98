// The pool's view of its tenant cluster: a client once the control plane answers, and the
// Provisioning/Joining → Ready step once a node's kubelet registered and reports Ready.
import type { V1Node } from '@kubernetes/client-node';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { discoveryTokenCaCertHash } from '../../../core/src/pki/discovery.js';
import type { NodePhase, SecretBox } from '../../../core/src/index.js';
import { NodeRepository, type ClusterRow } from '../../../db/src/index.js';
import { clusterKubeconfig, describeApiError, openClusterSecrets } from '../../../kube/src/index.js';
import { LOGGER, SECRET_BOX } from '../../../platform/src/index.js';
import { isNetworkNotReadyMessage, NETWORK_NOT_READY_REASON, POOL_CONDITION_TYPES } from '../../../core/src/state/cluster-summary.js';
import { PoolConditions } from './pool-conditions.js';
import { PoolEvents } from './pool-events.js';
import { JOINING_PHASES, type PassContext, type Tenant } from './pool-pass.js';
import { nodeReady, TenantNodes } from './tenant-nodes.js';

@Injectable()
export class PoolTenants {
  private readonly tenants = new Map<string, { key: string; tenant: Tenant }>();

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly nodes: NodeRepository,
    private readonly events: PoolEvents,
    private readonly conditions: PoolConditions,
  ) {}

  /** The tenant API, once the control plane has an endpoint and answers; undefined before. */
  tenantFor(cluster: ClusterRow): Tenant | undefined {
    if (cluster.deletion_requested_at || !cluster.endpoint || (cluster.phase !== 'Running' && cluster.phase !== 'Updating')) return undefined;
    const secrets = openClusterSecrets(this.box, cluster.id, cluster.sealed_secrets);
    if (!secrets) return undefined;
    const key = `${cluster.endpoint}|${secrets.pki.ca.cluster.certPem}`;
    const cached = this.tenants.get(cluster.id);
    if (cached?.key === key) return cached.tenant;
    const kubeconfig = clusterKubeconfig({ clusterName: cluster.name, endpoint: cluster.endpoint, pki: secrets.pki, role: 'admin' });
    const tenant: Tenant = {
      nodes: TenantNodes.fromKubeconfig(kubeconfig),
      endpoint: new URL(cluster.endpoint).host,
      caCertHash: discoveryTokenCaCertHash(secrets.pki.ca.cluster.certPem),
    };
    this.tenants.set(cluster.id, { key, tenant });
    return tenant;
  }

  /**
   * Provisioning/Joining → Ready once the Node registered and reports Ready. A Node that
   * registered but stays NotReady (no network plugin yet, most often) is said on the pool as
   * NodesReady=False with the kubelet's own message, and once on the timeline, rather than left
   * to time out without a word.
   */
  async trackJoins(context: PassContext): Promise<void> {
    const { pool, cluster, tenant } = context;
    const live = await this.nodes.listLive(pool.id);
    const rows = live.filter((row) => JOINING_PHASES.includes(row.phase as NodePhase));
    const flagged = PoolConditions.statusOf(pool, POOL_CONDITION_TYPES.nodesReady) === 'False';
    if ((rows.length === 0 && !flagged) || !tenant) return;
    let nodes: Map<string, V1Node>;
    try {
      nodes = await tenant.nodes.listNodes();
    } catch (error) {
      context.wait = true;
      this.logger.warn({ clusterId: cluster.id, poolId: pool.id, error: describeApiError(error) }, 'cannot read tenant nodes');
      return;
    }
    let ready = live.filter((row) => row.phase === 'Ready').length;
    const notReady: Array<{ name: string; reason: string; message: string }> = [];
    for (const row of rows) {
      const node = nodes.get(row.name);
      if (!node) continue;
      if (!nodeReady(node)) {
        if (registeredFor(node) >= NOT_READY_GRACE_MS) notReady.push({ name: row.name, ...readyConditionOf(node) });
        else context.wait = true;
        continue;
      }
      const kubeletVersion = node.status?.nodeInfo?.kubeletVersion ?? null;
      if (await this.nodes.setPhase(row.id, ['Provisioning', 'Joining'], 'Ready', 'NodeReady', { kubelet_version: kubeletVersion })) {
        ready += 1;
        await this.events.record(cluster, 'NodeJoined', `node ${row.name} joined (${ready}/${context.desired} ready)`);
      }
    }
    await this.reportNotReady(context, notReady);
  }

  private async reportNotReady(context: PassContext, notReady: ReadonlyArray<{ name: string; reason: string; message: string }>): Promise<void> {
    const { pool, cluster } = context;
    const key = `${pool.id}:NodesNotReady`;
    const [first] = notReady;
    if (!first) {
      if (PoolConditions.statusOf(pool, POOL_CONDITION_TYPES.nodesReady) !== 'False') return;
      await this.conditions.set(pool, {
        type: POOL_CONDITION_TYPES.nodesReady,
        status: 'True',
        reason: 'NodesReady',
        message: 'every joined node reports Ready',
      });
      this.events.cleared(key);
      return;
    }
    const network = notReady.find((node) => node.reason === NETWORK_NOT_READY_REASON || isNetworkNotReadyMessage(node.message));
    const shown = network ?? first;
    const others = notReady.length > 1 ? ` (and ${notReady.length - 1} more)` : '';
    const message = `node ${shown.name} joined but is NotReady${others}: ${shown.message || shown.reason || 'no Ready condition yet'}`;
    const reason = network ? NETWORK_NOT_READY_REASON : 'NodeNotReady';
    await this.conditions.set(pool, { type: POOL_CONDITION_TYPES.nodesReady, status: 'False', reason, message });
    // Keeps polling: the kubelet flips Ready by itself once the network plugin runs.
    context.wait = true;
    await this.events.warnOnce(cluster, key, network ? 'NodeNetworkNotReady' : 'NodeNotReady', `node pool ${pool.name}: ${message}`);
  }
}

/** A kubelet reports NotReady for a few seconds after registering on any healthy node; only longer is news. */
const NOT_READY_GRACE_MS = 20_000;

function registeredFor(node: V1Node): number {
  const created = node.metadata?.creationTimestamp;
  return created ? Date.now() - new Date(created).getTime() : Number.POSITIVE_INFINITY;
}

function readyConditionOf(node: V1Node): { reason: string; message: string } {
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
  return { reason: ready?.reason ?? '', message: ready?.message ?? '' };
}
