// Where each cluster's waits stand: the backoff between waiting passes, and whether a pass
// resumes a wait (only then may it trust what this worker applied recently).
import type { ClusterRow } from '../../../db/src/index.js';

/**
 * Waits on the same step back off from the first to the last delay and start over when the
 * awaited step or the generation changes, so a pass per second follows a fresh step closely
 * while a thousand clusters waiting for pods do not keep the worker busy re-applying.
 */
export const FIRST_WAIT_MS = 1_000;
export const LONGEST_WAIT_MS = 8_000;

/**
 * Within this window a waiting pass of the same generation trusts what it applied itself and
 * only reads the awaited objects back; past it, or once the cluster converged, passes apply
 * everything again (drift repair).
 */
export const TRUST_APPLIED_MS = 70_000;

interface WaitState {
  generation: number;
  reason: string;
  waits: number;
}

export class PassBackoff {
  private readonly waiting = new Map<string, WaitState>();

  /** The next delay for a wait on `reason`, doubling while the cluster keeps waiting on the same step. */
  nextWait(cluster: ClusterRow, reason: string): number {
    const previous = this.waiting.get(cluster.id);
    const waits = previous?.generation === cluster.generation && previous.reason === reason ? previous.waits + 1 : 0;
    this.waiting.set(cluster.id, { generation: cluster.generation, reason, waits });
    return Math.min(FIRST_WAIT_MS * 2 ** waits, LONGEST_WAIT_MS);
  }

  /** Only a pass that follows a wait on the same generation may trust recent applies. */
  resumesWait(cluster: ClusterRow): boolean {
    return this.waiting.get(cluster.id)?.generation === cluster.generation;
  }

  forget(clusterId: string): void {
    this.waiting.delete(clusterId);
  }
}
