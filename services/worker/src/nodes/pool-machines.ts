// The pool's machines at the cloud: rows brought in line with what the cloud shows, machines
// created for new rows, and machines terminated. Node rows are written before their machine is
// asked for, and machines are found again by the node id in their tags, so a crash anywhere only
// repeats a call.
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { formatBootstrapToken, type BootstrapToken } from '../../../core/src/bootstrap/bootstrap-token.js';
import { buildNodeUserData, type NodeTaint } from '../../../core/src/bootstrap/cloud-init.js';
import { required } from '../../../core/src/index.js';
import { isUnrecoverableCloudError, providerDefinition, type CloudInstance } from '../../../clouds/src/index.js';
import { NodeRepository, type NodeRow } from '../../../db/src/index.js';
import { LOGGER } from '../../../platform/src/index.js';
import { POOL_CONDITION_TYPES } from '../../../core/src/state/cluster-summary.js';
import { PoolConditions } from './pool-conditions.js';
import { PoolEvents } from './pool-events.js';
import { PoolOperations } from './pool-operations.js';
import { bareVersion, CLOUD_PARALLELISM, forEachLimited, type PassContext } from './pool-pass.js';

/** After a cloud refused a machine for good, no new machines until the pool changes or this passes. */
const PROVISIONING_BACKOFF_MS = 5 * 60_000;
/** A machine we asked to delete is not asked again for this long (it shows while shutting down). */
const DELETE_MEMORY_MS = 2 * 60_000;

function liveInstance(instance: CloudInstance | undefined): boolean {
  return instance !== undefined && instance.state !== 'terminated';
}

@Injectable()
export class PoolMachines {
  private readonly provisioningBlocked = new Map<string, { generation: number; until: number }>();
  private readonly deleteRequested = new Map<string, number>();

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly nodes: NodeRepository,
    private readonly operations: PoolOperations,
    private readonly events: PoolEvents,
    private readonly conditions: PoolConditions,
  ) {}

  forget(poolId: string): void {
    this.provisioningBlocked.delete(poolId);
  }

  /** Whether new machines may be asked for: a pool that wants nodes, a tenant to join, no backoff after a refusal. */
  canCreate(context: PassContext): boolean {
    const blocked = this.provisioningBlocked.get(context.pool.id);
    if (blocked?.generation === context.pool.generation && blocked.until > Date.now()) return false;
    return context.desired > 0 && context.tenant !== undefined && context.cluster.phase === 'Running';
  }

  /**
   * Brings rows in line with what the cloud shows: records ids, addresses and states, moves
   * booted machines to Joining, terminates machines no live row owns (a crash between a
   * removal's terminate and its bookkeeping, or a create nobody recorded), and sends nodes
   * whose machine is gone down the removal path so a new node takes their place.
   */
  async sync(context: PassContext): Promise<void> {
    const { pool, cluster, driver } = context;
    const instances = await driver.listInstances({ clusterId: cluster.id, poolId: pool.id });
    const rows = await this.nodes.listLive(pool.id);
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
      await this.events.record(
        cluster,
        'OrphanedMachinesTerminated',
        `node pool ${pool.name}: terminated ${unswept.length} machine(s) no node owns (${unswept.map((instance) => instance.id).join(', ')})`,
        'Warning',
      );
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
          await this.nodes.setPhase(row.id, ['Provisioning'], 'Joining', 'MachineRunning');
        }
        return;
      }
      if (row.cloud_id && row.phase !== 'Deleting') {
        if (instance) await this.recordMachine(row, instance);
        if (await this.nodes.setPhase(row.id, ['Provisioning', 'Joining', 'Ready', 'Unhealthy', 'Replacing'], 'Deleting', 'MachineTerminated')) {
          await this.events.record(
            cluster,
            'NodeMachineLost',
            `node ${row.name}: its machine ${row.cloud_id} is ${instance ? instance.providerState : 'gone'}; a new node replaces it`,
            'Warning',
          );
        }
      }
    });
  }

  /** Creates the machine for every Provisioning row that has none yet (again after a crash: the call is idempotent). */
  async provision(context: PassContext, token: BootstrapToken | undefined): Promise<void> {
    const { pool, cluster, driver, tenant } = context;
    if (!tenant || !token || !this.canCreate(context)) return;
    const rows = (await this.nodes.listLive(pool.id)).filter((row) => row.phase === 'Provisioning' && !row.cloud_id);
    if (rows.length === 0) return;
    // PoolCredentials.ensure generates the key pair before any machine is provisioned.
    const sshPublicKeys = [required(pool.ssh_public_key, 'node pool SSH public key'), ...pool.ssh_public_keys];
    await forEachLimited(rows, CLOUD_PARALLELISM, async (row) => {
      try {
        // Recorded before the machine is asked for, and reused by a repeated call, so the row
        // always says which kubelet its machine installs (the API's rollout check reads it).
        const kubernetesVersion = row.provisioned_version ?? bareVersion(cluster.version);
        if (!row.provisioned_version) await this.nodes.setProvisionedVersion(row.id, kubernetesVersion);
        const userData = buildNodeUserData(
          {
            nodeName: row.name,
            kubernetesVersion,
            apiServerEndpoint: tenant.endpoint,
            bootstrapToken: formatBootstrapToken(token),
            caCertHash: tenant.caCertHash,
            labels: pool.labels,
            taints: pool.taints as NodeTaint[],
            sshPublicKeys,
          },
          providerDefinition(driver.provider).userDataLimitBytes,
        );
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
        if (PoolConditions.statusOf(pool, POOL_CONDITION_TYPES.machinesProvisioned) !== 'True') {
          await this.conditions.set(pool, {
            type: POOL_CONDITION_TYPES.machinesProvisioned,
            status: 'True',
            reason: 'MachineCreated',
            message: `the cloud created machine ${row.name}`,
          });
        }
        if (instance.state === 'running') await this.nodes.setPhase(row.id, ['Provisioning'], 'Joining', 'MachineRunning');
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

  /** Asks the cloud to terminate the node's machine (found by its tag, so a repeated call is harmless). */
  async terminate(context: PassContext, row: NodeRow): Promise<void> {
    await context.driver.deleteInstance({ nodeId: row.id });
    this.deleteRequested.set(row.id, Date.now());
  }

  private async recordMachine(row: NodeRow, instance: CloudInstance): Promise<void> {
    const facts = {
      cloud_id: instance.id,
      private_ip: instance.privateIp ?? row.private_ip,
      public_ip: instance.publicIp ?? row.public_ip,
      instance_state: instance.providerState,
    };
    if (
      facts.cloud_id === row.cloud_id &&
      facts.private_ip === row.private_ip &&
      facts.public_ip === row.public_ip &&
      facts.instance_state === row.instance_state
    )
      return;
    await this.nodes.recordMachine(row.id, facts);
  }

  private async provisioningFailed(context: PassContext, row: NodeRow, message: string): Promise<void> {
    const { pool, cluster } = context;
    this.provisioningBlocked.set(pool.id, { generation: pool.generation, until: Date.now() + PROVISIONING_BACKOFF_MS });
    await this.nodes.setPhase(row.id, ['Provisioning'], 'Deleting', 'ProvisioningFailed');
    // Kept on the pool, not only on an operation: a pool created with its cluster has none, and
    // the summary must say why the pool has no machines for as long as that holds.
    await this.conditions.set(pool, {
      type: POOL_CONDITION_TYPES.machinesProvisioned,
      status: 'False',
      reason: 'ProvisioningFailed',
      message: `the cloud refused machine ${row.name}: ${message}`,
    });
    await this.operations.fail(pool, cluster, 'ProvisioningFailed', `the cloud refused machine ${row.name}: ${message}`, [
      'scale',
      'replace-node',
      'rollout-nodes',
    ]);
  }
}
