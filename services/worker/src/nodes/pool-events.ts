// The pool reconciler's timeline writes: one event per happening, and one Warning per repeating
// failure rather than one per pass.
import { Injectable } from '@nestjs/common';
import type { ClusterRow } from '../../../db/src/index.js';
import { ClusterEvents } from '../../../platform/src/index.js';

@Injectable()
export class PoolEvents {
  /** Warnings already recorded, so a repeating failure makes one event, not one per pass. */
  private readonly warned = new Map<string, string>();

  constructor(private readonly events: ClusterEvents) {}

  async record(cluster: ClusterRow, reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<void> {
    await this.events.record({ clusterId: cluster.id, projectId: cluster.project_id, reason, message, type });
  }

  /** `key` starts with the pool id, so `forget` finds it. */
  async warnOnce(cluster: ClusterRow, key: string, reason: string, message: string): Promise<void> {
    if (this.warned.get(key) === message) return;
    this.warned.set(key, message);
    await this.record(cluster, reason, message, 'Warning');
  }

  /** The condition behind a warning cleared: the next occurrence is worth an event again. */
  cleared(key: string): void {
    this.warned.delete(key);
  }

  forget(poolId: string): void {
    for (const key of this.warned.keys()) if (key.startsWith(`${poolId}:`)) this.warned.delete(key);
  }
}
