import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { ClusterEventRow, Database, DatabaseHandle } from '../../db/src/index.js';
import { APP_CONFIG, DATABASE, REDIS } from './tokens.js';
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
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  channel(clusterId: string): string {
    return `${this.config.queuePrefix}:cluster-events:${clusterId}`;
  }

  async record(event: ClusterEventInput, db: Kysely<Database> = this.database.db): Promise<void> {
    await db
      .insertInto('cluster_events')
      .values({ cluster_id: event.clusterId, project_id: event.projectId, type: event.type ?? 'Normal', reason: event.reason, message: event.message })
      .execute();
    if (db === this.database.db) await this.notify(event.clusterId);
  }

  /** Call after committing a transaction that recorded events. */
  async notify(clusterId: string): Promise<void> {
    await this.redis.publish(this.channel(clusterId), 'new').catch(() => undefined);
  }

  async since(clusterId: string, afterId: number, limit = 500): Promise<ClusterEventRow[]> {
    return this.database.db
      .selectFrom('cluster_events')
      .selectAll()
      .where('cluster_id', '=', clusterId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }
}
