import { BullModule } from '@nestjs/bullmq';
import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { SecretBox } from '../../core/src/index.js';
import {
  AuditRepository,
  ClusterEventRepository,
  ClusterRepository,
  IdentityRepository,
  InvitationRepository,
  migrateToLatest,
  NodePoolRepository,
  NodeRepository,
  openDatabase,
  OperationRepository,
  ProjectRepository,
  SeedRepository,
  UnitOfWork,
  type DatabaseHandle,
} from '../../db/src/index.js';
import { CloudAccess } from './cloud-access.js';
import { RedisCloudRequestLimiter } from './cloud-rate-limiter.js';
import { ClusterEvents } from './cluster-events.js';
import { ClusterEventSubscriptions } from './cluster-event-subscriptions.js';
import type { AppConfig } from './config.js';
import { resolveMasterKey } from './master-key.js';
import { Metrics } from './metrics.js';
import { QueueService } from './queue.service.js';
import { QUEUE_NAMES } from './queues.js';
import { APP_CONFIG, DATABASE, LOGGER, REDIS, SECRET_BOX } from './tokens.js';
import { join } from 'node:path';

export function redisOptions(url: string): { host: string; port: number; username?: string; password?: string; db?: number; tls?: object } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

@Injectable()
class ResourceCloser implements OnApplicationShutdown {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
    await this.database.close();
  }
}

/** Everything both deployables need: config, logging, database, secrets, Redis and queues. */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    const connection = { ...redisOptions(config.redisUrl), maxRetriesPerRequest: null };
    return {
      module: PlatformModule,
      imports: [
        BullModule.forRoot({ connection, prefix: config.queuePrefix }),
        // Producers fail fast when Redis is away instead of buffering; the resync heals later.
        ...QUEUE_NAMES.map((name) => BullModule.registerQueue({ name, connection: { ...connection, enableOfflineQueue: false } })),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        {
          provide: DATABASE,
          useFactory: async (): Promise<DatabaseHandle> => {
            const handle = await openDatabase({
              url: config.databaseUrl,
              pgliteDir: join(config.dataDir, 'pglite'),
              onIdleConnectionError: (error) => logger.warn({ error: error.message }, 'lost an idle PostgreSQL connection; the next query opens a new one'),
            });
            const applied = await migrateToLatest(handle.db);
            if (applied.length > 0) logger.info({ migrations: applied, backend: handle.backend }, 'applied database migrations');
            return handle;
          },
        },
        { provide: SECRET_BOX, useFactory: () => new SecretBox(resolveMasterKey(config.masterKey, config.dataDir, logger)) },
        { provide: REDIS, useFactory: () => new Redis({ ...redisOptions(config.redisUrl), maxRetriesPerRequest: 2, lazyConnect: false }) },
        { provide: IdentityRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new IdentityRepository(d.db) },
        { provide: ProjectRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new ProjectRepository(d.db) },
        { provide: InvitationRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new InvitationRepository(d.db) },
        { provide: SeedRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new SeedRepository(d.db) },
        { provide: ClusterRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new ClusterRepository(d.db) },
        { provide: NodePoolRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new NodePoolRepository(d.db) },
        { provide: NodeRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new NodeRepository(d.db) },
        { provide: OperationRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new OperationRepository(d.db) },
        { provide: ClusterEventRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new ClusterEventRepository(d.db) },
        { provide: AuditRepository, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new AuditRepository(d.db) },
        { provide: UnitOfWork, inject: [DATABASE], useFactory: (d: DatabaseHandle) => new UnitOfWork(d.db) },
        ClusterEvents,
        ClusterEventSubscriptions,
        QueueService,
        Metrics,
        {
          provide: RedisCloudRequestLimiter,
          inject: [REDIS],
          useFactory: (redis: Redis) => new RedisCloudRequestLimiter(redis, { ratePerSecond: config.clouds.rateLimitPerSecond, keyPrefix: config.queuePrefix }),
        },
        CloudAccess,
        ResourceCloser,
      ],
      exports: [
        APP_CONFIG,
        LOGGER,
        DATABASE,
        SECRET_BOX,
        REDIS,
        IdentityRepository,
        ProjectRepository,
        InvitationRepository,
        SeedRepository,
        ClusterRepository,
        NodePoolRepository,
        NodeRepository,
        OperationRepository,
        ClusterEventRepository,
        AuditRepository,
        UnitOfWork,
        ClusterEvents,
        ClusterEventSubscriptions,
        QueueService,
        Metrics,
        CloudAccess,
        RedisCloudRequestLimiter,
        BullModule,
      ],
    };
  }
}
