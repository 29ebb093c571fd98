// Takes Deleting nodes down: cordon → drain (Eviction API) → delete the Node → terminate the
// machine → mark the row deleted. Each step checks first, so a removal resumes wherever a
// crash stopped it. While the cluster itself goes, the tenant steps are skipped.
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { NodeRepository, type NodeRow } from '../../../db/src/index.js';
import { describeApiError } from '../../../kube/src/index.js';
import { APP_CONFIG, LOGGER, type AppConfig } from '../../../platform/src/index.js';
import { PoolEvents } from './pool-events.js';
import { PoolMachines } from './pool-machines.js';
import { CLOUD_PARALLELISM, forEachLimited, type PassContext } from './pool-pass.js';

@Injectable()
export class NodeRemoval {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly nodes: NodeRepository,
    private readonly machines: PoolMachines,
    private readonly events: PoolEvents,
  ) {}

  async removeNodes(context: PassContext): Promise<void> {
    const rows = (await this.nodes.listLive(context.pool.id)).filter((row) => row.phase === 'Deleting');
    await forEachLimited(rows, CLOUD_PARALLELISM, async (row) => {
      if (!(await this.removeNode(context, row))) context.wait = true;
    });
  }

  /** True when the node is gone. */
  private async removeNode(context: PassContext, row: NodeRow): Promise<boolean> {
    const { pool, cluster, tenant } = context;
    if (!context.clusterGoing) {
      if (!tenant) return false;
      try {
        if (await tenant.nodes.cordon(row.name)) {
          const drain = await tenant.nodes.drain(row.name);
          const drainingSince = (row.phase_changed_at ?? row.updated_at).getTime();
          const timedOut = Date.now() - drainingSince > this.config.nodeDrainTimeoutSeconds * 1000;
          if (!drain.done && timedOut) {
            await this.events.warnOnce(
              cluster,
              `${pool.id}:drain-timeout:${row.id}`,
              'NodeDrainTimedOut',
              `node ${row.name}: not drained after ${this.config.nodeDrainTimeoutSeconds}s (${drain.blocked.length > 0 ? `evictions refused for ${drain.blocked.slice(0, 5).join(', ')}` : `${drain.terminating} pod(s) still terminating`}); removing it anyway`,
            );
          } else if (!drain.done) {
            if (drain.blocked.length > 0) {
              await this.events.warnOnce(
                cluster,
                `${pool.id}:drain:${row.id}`,
                'NodeDrainBlocked',
                `node ${row.name}: eviction refused by a PodDisruptionBudget for ${drain.blocked.slice(0, 5).join(', ')}; retrying`,
              );
            }
            return false;
          }
          await tenant.nodes.deleteNode(row.name);
        }
      } catch (error) {
        this.logger.warn(
          { clusterId: cluster.id, poolId: pool.id, node: row.name, error: describeApiError(error) },
          'tenant step of a node removal failed; will retry',
        );
        return false;
      }
    }
    try {
      await this.machines.terminate(context, row);
    } catch (error) {
      this.logger.warn({ clusterId: cluster.id, poolId: pool.id, node: row.name, err: error }, 'terminating a machine failed; will retry');
      return false;
    }
    if (await this.nodes.markDeleted(row.id, row.phase_reason)) {
      this.events.cleared(`${pool.id}:drain:${row.id}`);
      this.events.cleared(`${pool.id}:drain-timeout:${row.id}`);
      await this.events.record(cluster, 'NodeRemoved', `node ${row.name} removed (${row.phase_reason}); machine ${row.cloud_id ?? 'never created'} terminated`);
    }
    return true;
  }
}
