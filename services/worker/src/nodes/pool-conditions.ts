// The pool conditions the reconciler owns (MachinesProvisioned, NodesReady); the health checker
// owns RemediationAllowed. Each writer re-reads the pool first so it keeps the others' conditions.
import { Injectable } from '@nestjs/common';
import { setCondition, type Condition } from '../../../core/src/index.js';
import { conditionsFrom } from '../../../core/src/state/cluster-summary.js';
import { NodePoolRepository, type NodePoolRow } from '../../../db/src/index.js';

@Injectable()
export class PoolConditions {
  constructor(private readonly pools: NodePoolRepository) {}

  /** Writes `next` unless it already holds; true when it changed status, reason or message. */
  async set(pool: NodePoolRow, next: Omit<Condition, 'lastTransitionTime'>): Promise<boolean> {
    const fresh = await this.pools.find(pool.cluster_id, pool.id);
    if (!fresh) return false;
    const current = conditionsFrom(fresh.conditions);
    const before = current.find((condition) => condition.type === next.type);
    if (before?.status === next.status && before.reason === next.reason && before.message === next.message) return false;
    const merged = setCondition(current, next, new Date()).sort((a, b) => a.type.localeCompare(b.type));
    await this.pools.update(pool.id, { conditions: merged });
    return true;
  }

  /** The status of `type` as stored, without a read (the pass's row is fresh enough to skip a write). */
  static statusOf(pool: NodePoolRow, type: string): Condition['status'] | undefined {
    return conditionsFrom(pool.conditions).find((condition) => condition.type === type)?.status;
  }
}
