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

  /** Provisioning/Joining → Ready once the Node registered and reports Ready. */
  async trackJoins(context: PassContext): Promise<void> {
    const { pool, cluster, tenant } = context;
    const rows = (await this.nodes.listLive(pool.id)).filter((row) => JOINING_PHASES.includes(row.phase as NodePhase));
    if (rows.length === 0 || !tenant) return;
    let nodes: Map<string, V1Node>;
    try {
      nodes = await tenant.nodes.listNodes();
    } catch (error) {
      context.wait = true;
      this.logger.warn({ clusterId: cluster.id, poolId: pool.id, error: describeApiError(error) }, 'cannot read tenant nodes');
      return;
    }
    let ready = (await this.nodes.listLive(pool.id)).filter((row) => row.phase === 'Ready').length;
    for (const row of rows) {
      const node = nodes.get(row.name);
      if (!node || !nodeReady(node)) continue;
      const kubeletVersion = node.status?.nodeInfo?.kubeletVersion ?? null;
      if (await this.nodes.setPhase(row.id, ['Provisioning', 'Joining'], 'Ready', 'NodeReady', { kubelet_version: kubeletVersion })) {
        ready += 1;
        await this.events.record(cluster, 'NodeJoined', `node ${row.name} joined (${ready}/${context.desired} ready)`);
      }
    }
  }
}
