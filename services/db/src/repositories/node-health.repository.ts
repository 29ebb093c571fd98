import type { Kysely } from 'kysely';
import type { Database, NodeRow } from '../schema.js';

/** Phases of nodes that still have a machine worth watching. */
const WATCHED_PHASES = ['Provisioning', 'Joining', 'Ready', 'Unhealthy', 'Replacing'];

export interface NodeObservationUpdate {
  conditions: unknown[];
  lastHeartbeatAt: Date | null;
  /** Left as it was when undefined (the node was not probed this round). */
  sshProbe?: { ok: boolean; at: string; message: string };
  /** Pinned only while nothing is pinned yet (trust on first use). */
  pinHostKey?: string;
}

export interface NodePhaseChange {
  from: string;
  phase: string;
  phaseReason: string;
  unhealthySince: Date | null;
}

/**
 * The node health checker's reads and writes. Phase changes are compare-and-set on the phase
 * the checker read, because the pool reconciler moves the same rows (Joining → Ready,
 * Replacing → Deleting) and the later writer must not undo the other's step.
 */
export class NodeHealthRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async clusterIdsWithWatchedNodes(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('nodes')
      .innerJoin('clusters', 'clusters.id', 'nodes.cluster_id')
      .select('nodes.cluster_id')
      .distinct()
      .where('nodes.deleted_at', 'is', null)
      .where('nodes.phase', 'in', WATCHED_PHASES)
      .where('clusters.deleted_at', 'is', null)
      .execute();
    return rows.map((row) => row.cluster_id);
  }

  listWatchedNodes(clusterId: string): Promise<NodeRow[]> {
    return this.db
      .selectFrom('nodes')
      .selectAll()
      .where('cluster_id', '=', clusterId)
      .where('deleted_at', 'is', null)
      .where('phase', 'in', WATCHED_PHASES)
      .orderBy('created_at')
      .execute();
  }

  async recordObservation(nodeId: string, update: NodeObservationUpdate): Promise<void> {
    await this.db
      .updateTable('nodes')
      .set({
        conditions: JSON.stringify(update.conditions),
        last_heartbeat_at: update.lastHeartbeatAt,
        ...(update.sshProbe ? { ssh_probe: JSON.stringify(update.sshProbe) } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', nodeId)
      .where('deleted_at', 'is', null)
      .execute();
    if (update.pinHostKey) {
      await this.db.updateTable('nodes').set({ ssh_host_key: update.pinHostKey }).where('id', '=', nodeId).where('ssh_host_key', 'is', null).execute();
    }
  }

  /** False when the row had moved on from `from` meanwhile (or is gone). */
  async changePhase(nodeId: string, change: NodePhaseChange, now: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('nodes')
      .set({ phase: change.phase, phase_reason: change.phaseReason, phase_changed_at: now, unhealthy_since: change.unhealthySince, updated_at: now })
      .where('id', '=', nodeId)
      .where('phase', '=', change.from)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The reason (and first-seen time) of a node that stays in its phase. */
  async refreshUnhealthy(nodeId: string, phase: string, phaseReason: string, unhealthySince: Date | null): Promise<void> {
    await this.db
      .updateTable('nodes')
      .set({ phase_reason: phaseReason, unhealthy_since: unhealthySince })
      .where('id', '=', nodeId)
      .where('phase', '=', phase)
      .where('deleted_at', 'is', null)
      .execute();
  }

  /** Pool conditions only: neither the generation nor the spec moves, so no reconcile is implied. */
  async setPoolConditions(poolId: string, conditions: unknown[]): Promise<void> {
    await this.db
      .updateTable('node_pools')
      .set({ conditions: JSON.stringify(conditions) })
      .where('id', '=', poolId)
      .execute();
  }
}
