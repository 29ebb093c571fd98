import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ClusterEventRepository, type ClusterEventRow, type Tx } from '../../db/src/index.js';
import { APP_CONFIG, REDIS } from './tokens.js';
import type { AppConfig } from './config.js';

export interface ClusterEventInput {
  clusterId: string;
  projectId: string;
  type?: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * The cluster timeline. Events are rows first; a Redis message then tells every api process
 * (and so every open SSE stream) that there is something new to read.
 */
@Injectable()
export class ClusterEvents {
  constructor(
    private readonly rows: ClusterEventRepository,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  channel(clusterId: string): string {
    return `${this.config.queuePrefix}:cluster-events:${clusterId}`;
  }

  /** Inside a transaction the row is not visible yet: the caller notifies after the commit. */
  async record(event: ClusterEventInput, tx?: Tx): Promise<void> {
    await this.rows.append(
      { clusterId: event.clusterId, projectId: event.projectId, type: event.type ?? 'Normal', reason: event.reason, message: event.message },
      tx,
    );
    if (!tx) await this.notify(event.clusterId);
  }

  /** Call after committing a transaction that recorded events. */
  async notify(clusterId: string): Promise<void> {
    await this.redis.publish(this.channel(clusterId), 'new').catch(() => undefined);
  }

  async since(clusterId: string, afterId: number, limit = 500): Promise<ClusterEventRow[]> {
    return this.rows.since(clusterId, afterId, limit);
  }
}
