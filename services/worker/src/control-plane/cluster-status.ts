// Collects what one pass learned about a cluster (phase, conditions, endpoint, events) and
// writes it in one guarded update, so a pass never overwrites a newer request's phase.
import { setCondition, type ClusterPhase, type Condition } from '../../../core/src/index.js';
import type { ClusterRepository, ClusterRow, ClusterUpdate, UnitOfWork } from '../../../db/src/index.js';
import type { ClusterEvents } from '../../../platform/src/index.js';

/**
 * Conditions the worker owns. Each component's readiness condition (`EtcdReady`,
 * `APIServerReady`, …) is named by its step in core (controlplane/component.ts).
 */
export const CONDITION = {
  reachable: 'Reachable',
} as const;

interface PendingEvent {
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
}

export function conditionsOf(cluster: ClusterRow): Condition[] {
  return Array.isArray(cluster.conditions) ? (cluster.conditions as Condition[]) : [];
}

export class ClusterStatus {
  private conditions: Condition[];
  private changes: Omit<ClusterUpdate, 'conditions'> = {};
  private pending: PendingEvent[] = [];
  private conditionsChanged = false;

  constructor(
    private readonly cluster: ClusterRow,
    private readonly unitOfWork: UnitOfWork,
    private readonly clusters: ClusterRepository,
    private readonly events: ClusterEvents,
  ) {
    this.conditions = conditionsOf(cluster);
  }

  /** Sets a condition; a status change is also a timeline event. */
  condition(type: string, ok: boolean, reason: string, message: string): void {
    const before = this.conditions.find((condition) => condition.type === type);
    const status = ok ? 'True' : 'False';
    const next = setCondition(this.conditions, { type, status, reason, message }, new Date());
    if (before?.status !== status || before.reason !== reason || before.message !== message) this.conditionsChanged = true;
    if (before?.status !== status) this.event(`${type}${ok ? '' : 'False'}`, `${type} is ${status}: ${message}`, ok || !before ? 'Normal' : 'Warning');
    this.conditions = next.sort((a, b) => a.type.localeCompare(b.type));
  }

  setPhase(phase: ClusterPhase, reason: string): void {
    if (phase !== this.cluster.phase || reason !== this.cluster.phase_reason) {
      this.changes.phase = phase;
      this.changes.phase_reason = reason;
      if (phase !== this.cluster.phase) this.event(`Phase${phase}`, `phase ${this.cluster.phase} → ${phase} (${reason})`);
    }
  }

  update(changes: Omit<ClusterUpdate, 'conditions' | 'phase' | 'phase_reason'>): void {
    Object.assign(this.changes, changes);
  }

  event(reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal'): void {
    this.pending.push({ reason, message, type });
  }

  /**
   * Writes only if the row still has the generation this pass started from; otherwise the
   * caller's loop goes round again with the newer row. Events are kept either way: they
   * describe what happened in the seed.
   */
  async save(): Promise<boolean> {
    const hasChanges = Object.keys(this.changes).length > 0 || this.conditionsChanged;
    // Most waiting passes change nothing; an empty transaction would still queue behind every other query.
    if (!hasChanges && this.pending.length === 0) return true;
    let written = true;
    await this.unitOfWork.run(async (tx) => {
      if (hasChanges) {
        written = await this.clusters.updateIfCurrent(
          this.cluster.id,
          this.cluster.generation,
          { ...this.changes, ...(this.conditionsChanged ? { conditions: JSON.stringify(this.conditions) } : {}) },
          tx,
        );
      }
      for (const event of this.pending) {
        await this.events.record({ clusterId: this.cluster.id, projectId: this.cluster.project_id, ...event }, tx);
      }
    });
    if (hasChanges || this.pending.length > 0) await this.events.notify(this.cluster.id);
    this.changes = {};
    this.pending = [];
    this.conditionsChanged = false;
    return written;
  }
}
