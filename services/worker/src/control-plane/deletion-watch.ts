// A deletion must not wait for the pass that is converging the cluster: a pass can spend minutes
// applying seed and tenant objects on a busy seed, and the delete would only start after it. The
// API notifies the cluster's event channel when it records DeletionRequested; the watch re-reads
// the row on every notification and aborts the pass's signal once a deletion is requested.
import { Injectable } from '@nestjs/common';
import { ClusterRepository } from '../../../db/src/index.js';
import { ClusterEventSubscriptions, ClusterEvents } from '../../../platform/src/index.js';

/** The reason a pass's signal carries when a deletion was requested while it ran. */
export class DeletionRequestedError extends Error {
  constructor(clusterId: string) {
    super(`deletion of cluster ${clusterId} was requested; the converging pass stops`);
    this.name = 'DeletionRequestedError';
  }
}

export interface PassWatch {
  signal: AbortSignal;
  stop(): Promise<void>;
}

@Injectable()
export class DeletionWatch {
  constructor(
    private readonly subscriptions: ClusterEventSubscriptions,
    private readonly events: ClusterEvents,
    private readonly clusters: ClusterRepository,
  ) {}

  /** A signal aborted with DeletionRequestedError as soon as the cluster's deletion is requested. */
  async watch(clusterId: string): Promise<PassWatch> {
    const controller = new AbortController();
    // Notifications come in bursts (several events per change): one read at a time, and one
    // more after it when a notification arrived meanwhile (the read may predate that commit).
    let reading: Promise<void> | undefined;
    let readAgain = false;
    const read = async (): Promise<void> => {
      do {
        readAgain = false;
        const cluster = await this.clusters.findById(clusterId).catch(() => undefined);
        if (!cluster || cluster.deletion_requested_at || cluster.deleted_at) controller.abort(new DeletionRequestedError(clusterId));
      } while (readAgain && !controller.signal.aborted);
    };
    const check = (): Promise<void> => {
      if (reading) {
        readAgain = true;
        return reading;
      }
      reading = read().finally(() => (reading = undefined));
      return reading;
    };
    const unsubscribe = await this.subscriptions.subscribe(this.events.channel(clusterId), () => void check());
    // A request committed before the subscription took effect sent its notification to nobody.
    await check();
    return { signal: controller.signal, stop: unsubscribe };
  }
}
