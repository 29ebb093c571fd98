// Converges one node pool: machines at the cloud, Nodes in the tenant cluster, rows in the
// database. Every step reads what exists before it acts, so a pass can stop (or crash) at any
// point and the next one carries on: node rows are written before their machine is asked for,
// machines are found again by the node id in their tags, and removals resume at whichever of
// cordon → drain → delete Node → terminate → mark deleted was reached.
import { randomUUID } from 'node:crypto';
import type { V1Node } from '@kubernetes/client-node';
import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { decideTokenRefresh, formatBootstrapToken, generateBootstrapToken, parseBootstrapToken, type BootstrapToken } from '../../../core/src/bootstrap/bootstrap-token.js';
import { buildNodeUserData, type NodeTaint } from '../../../core/src/bootstrap/cloud-init.js';
import { generateSshKeyPair } from '../../../core/src/crypto/ssh-keys.js';
import { discoveryTokenCaCertHash } from '../../../core/src/pki/discovery.js';
import { nodesAtVersion, planPool, poolConverged, poolProgress, type PlannedNode, type RolloutTarget } from '../../../core/src/state/node-pool-plan.js';
import { PLANNED_REPLACEMENT, sealingContext, type NodePhase, type SecretBox } from '../../../core/src/index.js';
import { isUnrecoverableCloudError, providerDefinition, type CloudDriver, type CloudInstance } from '../../../clouds/src/index.js';
import { ClusterRepository, type ClusterRow, type DatabaseHandle, type NodePoolRow, type NodeRow, type OperationRow } from '../../../db/src/index.js';
import { clusterKubeconfig, describeApiError, openClusterSecrets } from '../../../kube/src/index.js';
import { ClusterEvents, DATABASE, LOGGER, SECRET_BOX } from '../../../platform/src/index.js';
import { CloudDrivers, CredentialGoneError } from './cloud-drivers.js';
import { nodeReady, TenantNodes } from './tenant-nodes.js';

/** How soon a pass looks again while machines boot, nodes join or drains wait. */
export const POOL_POLL_MS = 3_000;
/** Cloud calls in flight per pool; the per-account rate limit sits underneath. */
const CLOUD_PARALLELISM = 8;
const MAX_PASSES = 5;
/** After a cloud refused a machine for good, no new machines until the pool changes or this passes. */
const PROVISIONING_BACKOFF_MS = 5 * 60_000;
/** A machine we asked to delete is not asked again for this long (it shows while shutting down). */
const DELETE_MEMORY_MS = 2 * 60_000;

export interface ReconcileOutcome {
  requeueAfterMs?: number;
  /** The generation the waiting pass converged towards. */
  generation?: number;
}

interface Tenant {
  nodes: TenantNodes;
  /** host:port as nodes reach the apiserver. */
  endpoint: string;
  caCertHash: string;
}

interface PassContext {
  pool: NodePoolRow;
  cluster: ClusterRow;
  driver: CloudDriver;
  tenant: Tenant | undefined;
  /** The cluster is being deleted: its tenant goes with it, so nothing is drained. */
  clusterGoing: boolean;
  desired: number;
  /** Set while an open rollout may take its next step (the control plane runs its version). */
  rollout: RolloutTarget | undefined;
  wait: boolean;
}

const JOINING_PHASES: readonly NodePhase[] = ['Provisioning', 'Joining'];

function plannedOf(row: NodeRow): PlannedNode {
  return { id: row.id, phase: row.phase as NodePhase, createdAt: row.created_at, replacesNodeId: row.replaces_node_id, kubeletVersion: row.kubelet_version };
}

const bareVersion = (version: string): string => version.replace(/^v/, '');
const rolloutVersion = (operation: OperationRow): string | undefined => {
  const version = (operation.target as { version?: unknown }).version;
  return typeof version === 'string' ? bareVersion(version) : undefined;
};

function liveInstance(instance: CloudInstance | undefined): boolean {
  return instance !== undefined && instance.state !== 'terminated';
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

function sameProgress(a: unknown, b: Record<string, number>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

@Injectable()
export class NodePoolReconciler {
  /** The generation each pool's "NodePoolReconciling" event was recorded for, so polls stay quiet. */
  private readonly announced = new Map<string, number>();
  /** Warnings already recorded, so a repeating failure makes one event, not one per pass. */
  private readonly warned = new Map<string, string>();
  private readonly provisioningBlocked = new Map<string, { generation: number; until: number }>();
  private readonly deleteRequested = new Map<string, number>();
  private readonly tenants = new Map<string, { key: string; tenant: Tenant }>();

  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly clusters: ClusterRepository,
    private readonly events: ClusterEvents,
    private readonly drivers: CloudDrivers,
  ) {}

  /**
   * A request that arrives while this job runs is folded into it (the job id is taken), so the
   * job goes round again until the generation it worked on is the latest.
   */
  async reconcile(clusterId: string, poolId: string): Promise<ReconcileOutcome> {
    for (let pass = 0; pass < MAX_PASSES; pass += 1) {
      const pool = await this.clusters.findPool(clusterId, poolId);
      if (!pool) {
        this.forget(poolId);
        return {};
      }
      const outcome = await this.reconcileOnce(pool);
      const after = await this.clusters.findPool(clusterId, poolId);
      if (!after) continue;
      // A scale or delete request that came in during the pass is acted on now, not after the
      // wait this pass chose for the previous generation.
      if (after.generation !== pool.generation) continue;
      return outcome.requeueAfterMs !== undefined ? { ...outcome, generation: after.generation } : {};
    }
    return { requeueAfterMs: 1_000 };
  }

  /** Whether the pool moved past `generation` (or is gone), for a job about to wait. */
  async changedSince(clusterId: string, poolId: string, generation: number): Promise<boolean> {
    const pool = await this.clusters.findPool(clusterId, poolId);
    return !pool || pool.generation !== generation;
  }

  private forget(poolId: string): void {
    this.announced.delete(poolId);
    this.provisioningBlocked.delete(poolId);
    for (const key of this.warned.keys()) if (key.startsWith(`${poolId}:`)) this.warned.delete(key);
  }

  private async reconcileOnce(initial: NodePoolRow): Promise<ReconcileOutcome> {
    const cluster = await this.clusters.findById(initial.cluster_id);
    if (!cluster || cluster.deleted_at) return {};
    await this.startOperations(initial);
    const pool = await this.ensureSshKey(initial);
    const clusterGoing = cluster.deletion_requested_at !== null;
    const removing = clusterGoing || pool.deletion_requested_at !== null;
    await this.announce(pool, cluster, removing);

    let driver: CloudDriver;
    try {
      driver = await this.drivers.forPool(pool);
    } catch (error) {
      if (!(error instanceof CredentialGoneError)) throw error;
      await this.failOperations(pool, cluster, 'CredentialUnusable', error.message);
      return {};
    }
    const rollout = removing ? undefined : await this.rolloutTarget(pool, cluster);
    const context: PassContext = { pool, cluster, driver, tenant: this.tenantFor(cluster), clusterGoing, desired: removing ? 0 : pool.replicas, rollout, wait: false };

    await this.syncMachines(context);
    if (context.tenant) await this.trackJoins(context);
    await this.applyPlan(context);
    const token = await this.reconcileToken(context);
    await this.provisionMachines(context, token);
    await this.removeNodes(context);
    return this.finish(context);
  }

  // ---- cloud ------------------------------------------------------------------------------

  /**
   * Brings rows in line with what the cloud shows: records ids, addresses and states, moves
   * booted machines to Joining, terminates machines no live row owns (a crash between a
   * removal's terminate and its bookkeeping, or a create nobody recorded), and sends nodes
   * whose machine is gone down the removal path so a new node takes their place.
   */
  private async syncMachines(context: PassContext): Promise<void> {
    const { pool, cluster, driver } = context;
    const instances = await driver.listInstances({ clusterId: cluster.id, poolId: pool.id });
    const rows = await this.liveRows(pool.id);
    const rowsById = new Map(rows.map((row) => [row.id, row]));
    const byNode = new Map<string, CloudInstance>();
    for (const instance of instances) {
      if (!instance.nodeId) continue;
      const known = byNode.get(instance.nodeId);
      if (!liveInstance(known)) byNode.set(instance.nodeId, instance);
    }

    const orphans = instances.filter((instance) => liveInstance(instance) && (!instance.nodeId || !rowsById.has(instance.nodeId)));
    const now = Date.now();
    for (const [nodeId, at] of this.deleteRequested) if (now - at > DELETE_MEMORY_MS) this.deleteRequested.delete(nodeId);
    const unswept = orphans.filter((instance) => !this.deleteRequested.has(instance.nodeId ?? instance.id));
    await forEachLimited(unswept, CLOUD_PARALLELISM, async (instance) => {
      await driver.deleteInstance({ id: instance.id });
      this.deleteRequested.set(instance.nodeId ?? instance.id, Date.now());
      this.logger.info({ clusterId: cluster.id, poolId: pool.id, instanceId: instance.id, nodeId: instance.nodeId }, 'terminated a machine no node owns');
    });
    if (unswept.length > 0) {
      await this.event(cluster, 'OrphanedMachinesTerminated', `node pool ${pool.name}: terminated ${unswept.length} machine(s) no node owns (${unswept.map((instance) => instance.id).join(', ')})`, 'Warning');
    }

    await forEachLimited(rows, CLOUD_PARALLELISM, async (row) => {
      let instance = byNode.get(row.id);
      if (!liveInstance(instance) && row.cloud_id && row.phase !== 'Deleting') {
        // A listing may lag behind a create; ask for this node's machine directly before calling it gone.
        instance = await driver.findInstance(row.id);
      }
      if (instance && liveInstance(instance)) {
        await this.recordMachine(row, instance);
        if (row.phase === 'Provisioning' && instance.state === 'running') {
          await this.setPhase(row.id, ['Provisioning'], 'Joining', 'MachineRunning');
        }
        return;
      }
      if (row.cloud_id && row.phase !== 'Deleting') {
        if (instance) await this.recordMachine(row, instance);
        if (await this.setPhase(row.id, ['Provisioning', 'Joining', 'Ready', 'Unhealthy', 'Replacing'], 'Deleting', 'MachineTerminated')) {
          await this.event(cluster, 'NodeMachineLost', `node ${row.name}: its machine ${row.cloud_id} is ${instance ? instance.providerState : 'gone'}; a new node replaces it`, 'Warning');
        }
      }
    });
  }

  private async recordMachine(row: NodeRow, instance: CloudInstance): Promise<void> {
    const changes = {
      cloud_id: instance.id,
      private_ip: instance.privateIp ?? row.private_ip,
      public_ip: instance.publicIp ?? row.public_ip,
      instance_state: instance.providerState,
    };
    if (changes.cloud_id === row.cloud_id && changes.private_ip === row.private_ip && changes.public_ip === row.public_ip && changes.instance_state === row.instance_state) return;
    await this.database.db.updateTable('nodes').set({ ...changes, updated_at: new Date() }).where('id', '=', row.id).execute();
  }

  /** Creates the machine for every Provisioning row that has none yet (again after a crash: the call is idempotent). */
  private async provisionMachines(context: PassContext, token: BootstrapToken | undefined): Promise<void> {
    const { pool, cluster, driver, tenant } = context;
    if (!tenant || !token || !this.canCreate(context)) return;
    const rows = (await this.liveRows(pool.id)).filter((row) => row.phase === 'Provisioning' && !row.cloud_id);
    if (rows.length === 0) return;
    const sshPublicKeys = [pool.ssh_public_key!, ...pool.ssh_public_keys];
    await forEachLimited(rows, CLOUD_PARALLELISM, async (row) => {
      try {
        // Recorded before the machine is asked for, and reused by a repeated call, so the row
        // always says which kubelet its machine installs (the API's rollout check reads it).
        const kubernetesVersion = row.provisioned_version ?? bareVersion(cluster.version);
        if (!row.provisioned_version) await this.database.db.updateTable('nodes').set({ provisioned_version: kubernetesVersion, updated_at: new Date() }).where('id', '=', row.id).execute();
        const userData = buildNodeUserData({
          nodeName: row.name,
          kubernetesVersion,
          apiServerEndpoint: tenant.endpoint,
          bootstrapToken: formatBootstrapToken(token),
          caCertHash: tenant.caCertHash,
          labels: pool.labels,
          taints: pool.taints as NodeTaint[],
          sshPublicKeys,
        }, providerDefinition(driver.provider).userDataLimitBytes);
        const instance = await driver.ensureInstance({
          nodeId: row.id,
          clusterId: cluster.id,
          poolId: pool.id,
          name: row.name,
          region: pool.region,
          size: pool.size,
          image: pool.image,
          userData,
          sshPublicKeys,
        });
        await this.recordMachine(row, instance);
        if (instance.state === 'running') await this.setPhase(row.id, ['Provisioning'], 'Joining', 'MachineRunning');
      } catch (error) {
        if (isUnrecoverableCloudError(error) || (error instanceof Error && error.message.startsWith('invalid node user data'))) {
          await this.provisioningFailed(context, row, error instanceof Error ? error.message : String(error));
          return;
        }
        // Throttling or 5xx beyond the driver's retries: the row stays and a later pass calls again.
        context.wait = true;
        this.logger.warn({ clusterId: cluster.id, poolId: pool.id, nodeId: row.id, err: error }, 'machine request failed; will retry');
      }
    });
  }

  private async provisioningFailed(context: PassContext, row: NodeRow, message: string): Promise<void> {
    const { pool, cluster } = context;
    this.provisioningBlocked.set(pool.id, { generation: pool.generation, until: Date.now() + PROVISIONING_BACKOFF_MS });
    await this.setPhase(row.id, ['Provisioning'], 'Deleting', 'ProvisioningFailed');
    await this.failOperations(pool, cluster, 'ProvisioningFailed', `the cloud refused machine ${row.name}: ${message}`, ['scale', 'replace-node', 'rollout-nodes']);
  }

  private canCreate(context: PassContext): boolean {
    const blocked = this.provisioningBlocked.get(context.pool.id);
    if (blocked && blocked.generation === context.pool.generation && blocked.until > Date.now()) return false;
    return context.desired > 0 && context.tenant !== undefined && context.cluster.phase === 'Running';
  }

  // ---- tenant -----------------------------------------------------------------------------

  /** The tenant API, once the control plane has an endpoint and answers; undefined before. */
  private tenantFor(cluster: ClusterRow): Tenant | undefined {
    if (cluster.deletion_requested_at || !cluster.endpoint || (cluster.phase !== 'Running' && cluster.phase !== 'Updating')) return undefined;
    const secrets = openClusterSecrets(this.box, cluster.id, cluster.sealed_secrets);
    if (!secrets) return undefined;
    const key = `${cluster.endpoint}|${secrets.pki.ca.cluster.certPem}`;
    const cached = this.tenants.get(cluster.id);
    if (cached?.key === key) return cached.tenant;
    const kubeconfig = clusterKubeconfig({ clusterName: cluster.name, endpoint: cluster.endpoint, pki: secrets.pki, role: 'admin' });
    const tenant: Tenant = { nodes: TenantNodes.fromKubeconfig(kubeconfig), endpoint: new URL(cluster.endpoint).host, caCertHash: discoveryTokenCaCertHash(secrets.pki.ca.cluster.certPem) };
    this.tenants.set(cluster.id, { key, tenant });
    return tenant;
  }

  /** Provisioning/Joining → Ready once the Node registered and reports Ready. */
  private async trackJoins(context: PassContext): Promise<void> {
    const { pool, cluster, tenant } = context;
    const rows = (await this.liveRows(pool.id)).filter((row) => JOINING_PHASES.includes(row.phase as NodePhase));
    if (rows.length === 0 || !tenant) return;
    let nodes: Map<string, V1Node>;
    try {
      nodes = await tenant.nodes.listNodes();
    } catch (error) {
      context.wait = true;
      this.logger.warn({ clusterId: cluster.id, poolId: pool.id, error: describeApiError(error) }, 'cannot read tenant nodes');
      return;
    }
    let ready = (await this.liveRows(pool.id)).filter((row) => row.phase === 'Ready').length;
    for (const row of rows) {
      const node = nodes.get(row.name);
      if (!node || !nodeReady(node)) continue;
      const kubeletVersion = node.status?.nodeInfo?.kubeletVersion ?? null;
      if (await this.setPhase(row.id, ['Provisioning', 'Joining'], 'Ready', 'NodeReady', { kubelet_version: kubeletVersion })) {
        ready += 1;
        await this.event(cluster, 'NodeJoined', `node ${row.name} joined (${ready}/${context.desired} ready)`);
      }
    }
  }

  /**
   * One bootstrap token per pool exists only while nodes are joining: created (row first, then
   * the tenant Secret), pushed out before it lapses, and deleted once no node needs it.
   */
  private async reconcileToken(context: PassContext): Promise<BootstrapToken | undefined> {
    const { pool, cluster, tenant } = context;
    const rows = await this.liveRows(pool.id);
    const joining = context.desired === 0 ? 0 : rows.filter((row) => JOINING_PHASES.includes(row.phase as NodePhase)).length;
    const current = await this.clusters.findPool(cluster.id, pool.id);
    if (!current) return undefined;
    const stored = current.sealed_bootstrap_token ? parseBootstrapToken(this.box.open(current.sealed_bootstrap_token, sealingContext.poolBootstrapToken(pool.id))) : undefined;
    const now = new Date();
    const decision = decideTokenRefresh({ now, expiresAt: stored ? current.bootstrap_token_expires_at ?? undefined : undefined, joiningNodes: joining });
    switch (decision.action) {
      case 'none':
        return undefined;
      case 'delete':
        if (stored && !context.clusterGoing) {
          if (!tenant) {
            context.wait = true;
            return undefined;
          }
          await tenant.nodes.deleteBootstrapToken(stored.id);
        }
        await this.database.db.updateTable('node_pools').set({ sealed_bootstrap_token: null, bootstrap_token_expires_at: null, updated_at: now }).where('id', '=', pool.id).execute();
        return undefined;
      case 'create': {
        if (!tenant) return undefined;
        const token = generateBootstrapToken();
        // Sealed in the row before the tenant holds it, so the token the tenant accepts is never unknown to us.
        await this.database.db
          .updateTable('node_pools')
          .set({ sealed_bootstrap_token: this.box.seal(formatBootstrapToken(token), sealingContext.poolBootstrapToken(pool.id)), bootstrap_token_expires_at: decision.expiresAt, updated_at: now })
          .where('id', '=', pool.id)
          .execute();
        if (stored) await tenant.nodes.deleteBootstrapToken(stored.id);
        await tenant.nodes.applyBootstrapToken(token, decision.expiresAt, pool.id);
        return token;
      }
      case 'extend':
        if (!tenant || !stored) return stored;
        await this.database.db.updateTable('node_pools').set({ bootstrap_token_expires_at: decision.expiresAt, updated_at: now }).where('id', '=', pool.id).execute();
        await tenant.nodes.applyBootstrapToken(stored, decision.expiresAt, pool.id);
        return stored;
      case 'keep':
        // Applied again each pass while nodes join, so a Secret deleted behind our back comes back.
        if (tenant && stored && current.bootstrap_token_expires_at) await tenant.nodes.applyBootstrapToken(stored, current.bootstrap_token_expires_at, pool.id);
        return stored;
    }
  }

  // ---- plan -------------------------------------------------------------------------------

  private async applyPlan(context: PassContext): Promise<void> {
    const { pool, cluster } = context;
    let rows = await this.liveRows(pool.id);
    let plan = planPool({ desired: context.desired, nodes: rows.map(plannedOf), canCreate: this.canCreate(context), rollout: context.rollout });
    if (plan.replaceNext && context.rollout) {
      const old = rows.find((row) => row.id === plan.replaceNext);
      // Compare-and-set from Ready: a node the health checker just judged keeps its verdict.
      if (old && (await this.setPhase(old.id, ['Ready'], 'Replacing', PLANNED_REPLACEMENT.rollingUpdate))) {
        await this.event(cluster, 'NodeReplacing', `node ${old.name} (kubelet ${old.kubelet_version ?? 'unknown'}): rolling update to ${context.rollout.kubeletVersion}; a replacement is made first, then it is removed`);
      }
      rows = await this.liveRows(pool.id);
      plan = planPool({ desired: context.desired, nodes: rows.map(plannedOf), canCreate: this.canCreate(context), rollout: context.rollout });
    }
    const names = new Map(rows.map((row) => [row.id, row.name]));
    const removed: string[] = [];
    for (const removal of plan.remove) {
      const from: NodePhase[] = removal.reason === 'ScaleDown' ? ['Provisioning', 'Joining', 'Ready', 'Unhealthy'] : ['Replacing'];
      if (await this.setPhase(removal.id, from, 'Deleting', removal.reason)) removed.push(names.get(removal.id) ?? removal.id);
    }
    if (removed.length > 0) await this.event(cluster, 'NodeRemoving', `node pool ${pool.name}: removing ${removed.join(', ')}`);
    if (plan.create.length === 0) return;
    const now = new Date();
    const created = plan.create.map((item) => {
      const id = randomUUID();
      return { id, name: `${pool.name}-${id.slice(0, 8)}`, replacesNodeId: item.replacesNodeId };
    });
    // Rows first: a crash after this commit leaves rows whose machines the next pass asks for.
    await this.database.db.transaction().execute(async (trx) => {
      for (const [index, node] of created.entries()) {
        await trx
          .insertInto('nodes')
          .values({
            id: node.id,
            // Distinct creation times keep "newest first" a strict order within one batch.
            created_at: new Date(now.getTime() + index),
            pool_id: pool.id,
            cluster_id: cluster.id,
            name: node.name,
            phase: 'Provisioning',
            phase_reason: node.replacesNodeId ? 'Replacement' : 'ScaleUp',
            phase_changed_at: now,
            replaces_node_id: node.replacesNodeId,
            ssh_probe: sql<string>`null`,
            updated_at: now,
          })
          .execute();
      }
      await this.events.record({ clusterId: cluster.id, projectId: cluster.project_id, reason: 'NodeProvisioning', message: `node pool ${pool.name}: provisioning ${created.map((node) => node.name).join(', ')}` }, trx);
    });
    await this.events.notify(cluster.id);
  }

  // ---- removal ----------------------------------------------------------------------------

  private async removeNodes(context: PassContext): Promise<void> {
    const rows = (await this.liveRows(context.pool.id)).filter((row) => row.phase === 'Deleting');
    await forEachLimited(rows, CLOUD_PARALLELISM, async (row) => {
      if (!(await this.removeNode(context, row))) context.wait = true;
    });
  }

  /** cordon → drain (Eviction API) → delete the Node → terminate the machine → mark deleted. True when done. */
  private async removeNode(context: PassContext, row: NodeRow): Promise<boolean> {
    const { pool, cluster, driver, tenant } = context;
    if (!context.clusterGoing) {
      if (!tenant) return false;
      try {
        if (await tenant.nodes.cordon(row.name)) {
          const drain = await tenant.nodes.drain(row.name);
          if (!drain.done) {
            if (drain.blocked.length > 0) {
              await this.warnOnce(cluster, `${pool.id}:drain:${row.id}`, 'NodeDrainBlocked', `node ${row.name}: eviction refused by a PodDisruptionBudget for ${drain.blocked.slice(0, 5).join(', ')}; retrying`);
            }
            return false;
          }
          await tenant.nodes.deleteNode(row.name);
        }
      } catch (error) {
        this.logger.warn({ clusterId: cluster.id, poolId: pool.id, node: row.name, error: describeApiError(error) }, 'tenant step of a node removal failed; will retry');
        return false;
      }
    }
    try {
      await driver.deleteInstance({ nodeId: row.id });
      this.deleteRequested.set(row.id, Date.now());
    } catch (error) {
      this.logger.warn({ clusterId: cluster.id, poolId: pool.id, node: row.name, err: error }, 'terminating a machine failed; will retry');
      return false;
    }
    const now = new Date();
    const result = await this.database.db
      .updateTable('nodes')
      .set({ phase: 'Deleted', phase_reason: row.phase_reason, phase_changed_at: now, deleted_at: now, updated_at: now })
      .where('id', '=', row.id)
      .where('phase', '=', 'Deleting')
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) {
      this.warned.delete(`${pool.id}:drain:${row.id}`);
      await this.event(cluster, 'NodeRemoved', `node ${row.name} removed (${row.phase_reason}); machine ${row.cloud_id ?? 'never created'} terminated`);
    }
    return true;
  }

  // ---- operations, events, bookkeeping ---------------------------------------------------

  private async finish(context: PassContext): Promise<ReconcileOutcome> {
    const { cluster } = context;
    const pool = await this.clusters.findPool(cluster.id, context.pool.id);
    if (!pool) return {};
    const rows = await this.liveRows(pool.id);
    const planned = rows.map(plannedOf);
    const progress = poolProgress(context.desired, planned);
    const converged = poolConverged(context.desired, planned) && !pool.sealed_bootstrap_token;
    const open = await this.clusters.listOpenOperations({ clusterId: cluster.id, poolId: pool.id });

    if (pool.deletion_requested_at && rows.length === 0 && !pool.sealed_bootstrap_token) {
      await this.deletePoolRow(pool, cluster);
      return {};
    }
    for (const operation of open) {
      if (operation.kind === 'rollout-nodes') {
        await this.followRollout(context, pool, operation, planned, converged);
        continue;
      }
      if (operation.kind === 'replace-node') {
        const target = (operation.target as { nodeId?: string }).nodeId;
        const gone = target ? await this.database.db.selectFrom('nodes').select('id').where('id', '=', target).where('deleted_at', 'is not', null).executeTakeFirst() : undefined;
        if (gone || !target) {
          await this.clusters.updateOperation(operation.id, { status: 'succeeded', progress: { ...progress }, message: `node ${(operation.target as { nodeName?: string }).nodeName ?? target} replaced` });
          continue;
        }
      }
      if (operation.kind === 'scale' && converged) {
        await this.clusters.updateOperation(operation.id, { status: 'succeeded', progress: { ...progress }, message: `${progress.ready} node(s) ready` });
        await this.event(cluster, 'NodePoolScaled', `node pool ${pool.name} scaled to ${progress.ready} node(s)`);
        continue;
      }
      if (!sameProgress(operation.progress, { ...progress })) await this.clusters.updateOperation(operation.id, { progress: { ...progress } });
    }
    // A rollout's next step starts on a later pass, once this one's removal is recorded.
    const rolling = context.rollout !== undefined && open.some((operation) => operation.kind === 'rollout-nodes');
    if (converged) return context.wait || rolling ? { requeueAfterMs: POOL_POLL_MS } : {};
    // Not converged: come back while something is moving; otherwise the resync or a request does.
    const moving = rows.some((row) => row.phase !== 'Ready' && row.phase !== 'Unhealthy') || pool.sealed_bootstrap_token !== null || rows.length !== context.desired;
    return moving || context.wait ? { requeueAfterMs: POOL_POLL_MS } : {};
  }

  /**
   * The version an open rollout rolls to, while the control plane already runs it: nodes are
   * never newer than the apiserver, so a control plane still converging holds the rollout. A
   * rollout whose version the cluster has left behind (upgraded again) is superseded; a new
   * request rolls to the new version.
   */
  private async rolloutTarget(pool: NodePoolRow, cluster: ClusterRow): Promise<RolloutTarget | undefined> {
    const rollouts = await this.clusters.listOpenOperations({ clusterId: cluster.id, poolId: pool.id, kind: 'rollout-nodes' });
    let active: string | undefined;
    for (const operation of rollouts) {
      const version = rolloutVersion(operation);
      if (version === bareVersion(cluster.version)) {
        active = version;
        continue;
      }
      await this.clusters.updateOperation(operation.id, { status: 'superseded', message: `the control plane moved on to ${cluster.version}; request a new rollout to roll the nodes to it` });
    }
    if (!active || cluster.phase !== 'Running' || cluster.observed_generation < cluster.generation) return undefined;
    return { kubeletVersion: `v${active}` };
  }

  private async followRollout(context: PassContext, pool: NodePoolRow, operation: OperationRow, planned: readonly PlannedNode[], converged: boolean): Promise<void> {
    const version = rolloutVersion(operation) ?? bareVersion(context.cluster.version);
    const updated = nodesAtVersion(planned, { kubeletVersion: `v${version}` });
    const progress = { ...poolProgress(context.desired, planned), updated };
    if (converged && updated === context.desired && context.rollout) {
      await this.clusters.updateOperation(operation.id, { status: 'succeeded', progress, message: `${updated} node(s) at ${version}` });
      await this.event(context.cluster, 'NodePoolRolledOut', `node pool ${pool.name}: all ${updated} node(s) run ${version}`);
      return;
    }
    if (!sameProgress(operation.progress, progress)) await this.clusters.updateOperation(operation.id, { progress });
  }

  private async deletePoolRow(pool: NodePoolRow, cluster: ClusterRow): Promise<void> {
    await this.database.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('nodes').where('pool_id', '=', pool.id).execute();
      for (const operation of await this.clusters.listOpenOperations({ clusterId: cluster.id, poolId: pool.id }, trx)) {
        await this.clusters.updateOperation(operation.id, operation.kind === 'delete-pool' ? { status: 'succeeded', message: 'node pool deleted' } : { status: 'superseded', message: 'the node pool was deleted' }, trx);
      }
      await this.clusters.deletePool(pool.id, trx);
      await this.events.record({ clusterId: cluster.id, projectId: cluster.project_id, reason: 'NodePoolDeleted', message: `node pool ${pool.name} deleted; its machines are terminated` }, trx);
    });
    await this.events.notify(cluster.id);
    this.forget(pool.id);
  }

  private async startOperations(pool: NodePoolRow): Promise<void> {
    for (const operation of await this.clusters.listOpenOperations({ clusterId: pool.cluster_id, poolId: pool.id })) {
      if (operation.status === 'pending') await this.clusters.updateOperation(operation.id, { status: 'running' });
    }
  }

  private async failOperations(pool: NodePoolRow, cluster: ClusterRow, reason: string, message: string, kinds?: ReadonlyArray<OperationRow['kind']>): Promise<void> {
    const open = (await this.clusters.listOpenOperations({ clusterId: cluster.id, poolId: pool.id })).filter((operation) => !kinds || kinds.includes(operation.kind));
    for (const operation of open) await this.clusters.updateOperation(operation.id, { status: 'failed', message: `${reason}: ${message}` });
    await this.warnOnce(cluster, `${pool.id}:${reason}`, reason, `node pool ${pool.name}: ${message}`);
  }

  private async announce(pool: NodePoolRow, cluster: ClusterRow, removing: boolean): Promise<void> {
    if (this.announced.get(pool.id) === pool.generation) return;
    this.announced.set(pool.id, pool.generation);
    const rows = await this.liveRows(pool.id);
    const target = removing ? 'removing every node' : `converging to ${pool.replicas} node(s)`;
    const waiting = cluster.phase === 'Running' || removing ? '' : `; waiting for the control plane (${cluster.phase})`;
    await this.event(cluster, 'NodePoolReconciling', `node pool ${pool.name}: ${target}, ${rows.filter((row) => row.phase === 'Ready').length} ready of ${rows.length}${waiting}`);
  }

  /** The pool's own SSH key pair, made once: the public key goes to every machine, the private key to the health checker's probe. */
  private async ensureSshKey(pool: NodePoolRow): Promise<NodePoolRow> {
    if (pool.ssh_public_key && pool.sealed_ssh_private_key) return pool;
    const pair = generateSshKeyPair(`harbormaster-pool-${pool.id}`);
    await this.database.db
      .updateTable('node_pools')
      .set({ ssh_public_key: pair.publicKey, sealed_ssh_private_key: this.box.seal(pair.privateKey, sealingContext.poolSshPrivateKey(pool.id)), updated_at: new Date() })
      .where('id', '=', pool.id)
      .where('sealed_ssh_private_key', 'is', null)
      .execute();
    return (await this.clusters.findPool(pool.cluster_id, pool.id)) ?? pool;
  }

  private liveRows(poolId: string): Promise<NodeRow[]> {
    return this.clusters.listNodes(poolId);
  }

  /** A guarded phase change: only from the phases given, so another writer's newer decision is kept. */
  private async setPhase(nodeId: string, from: readonly NodePhase[], to: NodePhase, reason: string, extra: { kubelet_version?: string | null } = {}): Promise<boolean> {
    const now = new Date();
    const result = await this.database.db
      .updateTable('nodes')
      .set({ phase: to, phase_reason: reason, phase_changed_at: now, updated_at: now, ...extra })
      .where('id', '=', nodeId)
      .where('phase', 'in', [...from])
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  private async event(cluster: ClusterRow, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
    await this.events.record({ clusterId: cluster.id, projectId: cluster.project_id, reason, message, type });
  }

  private async warnOnce(cluster: ClusterRow, key: string, reason: string, message: string): Promise<void> {
    if (this.warned.get(key) === message) return;
    this.warned.set(key, message);
    await this.event(cluster, reason, message, 'Warning');
  }
}
