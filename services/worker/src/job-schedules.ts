// The periodic jobs (resync, health checks) live in Redis as BullMQ job schedulers. Redis may
// lose them: a restart without persistence, a failover to an empty replica, a FLUSHALL. The
// desired state is in the database, so nothing is lost for good as long as the schedulers come
// back; this keeper puts them back whenever Redis reconnects or is found without them, and then
// runs a resync at once, which re-enqueues every unconverged cluster and pool.
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { APP_CONFIG, JOBS, LOGGER, QueueService, type AppConfig } from '../../platform/src/index.js';

interface Schedule {
  queue: Queue;
  id: string;
  everyMs: number;
  job: string;
}

const KEEP = { removeOnComplete: 100, removeOnFail: 100 };

@Injectable()
export class JobSchedules implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private readonly detach: Array<() => void> = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly queues: QueueService,
  ) {}

  private get schedules(): Schedule[] {
    const { controlPlane, health, seeds } = this.queues;
    return [
      { queue: controlPlane, id: 'resync', everyMs: this.config.resyncIntervalSeconds * 1000, job: JOBS.resync },
      { queue: health, id: 'node-health', everyMs: this.config.nodeHealthIntervalSeconds * 1000, job: JOBS.nodeHealthResync },
      { queue: health, id: 'cluster-health', everyMs: this.config.clusterHealthIntervalSeconds * 1000, job: JOBS.resync },
      { queue: seeds, id: 'seed-health', everyMs: this.config.seedHealthIntervalSeconds * 1000, job: JOBS.resync },
    ];
  }

  /** Job schedulers are upserted by id, so every worker replica may do this safely. */
  async onApplicationBootstrap(): Promise<void> {
    await this.upsertAll();
    for (const queue of new Set(this.schedules.map((schedule) => schedule.queue))) {
      const client = await queue.client;
      // A reconnect may be to a Redis that lost everything: look at once, not at the next tick.
      const onReady = (): void => void this.check();
      client.on('ready', onReady);
      this.detach.push(() => client.off('ready', onReady));
    }
    this.timer = setInterval(() => void this.check(), this.config.scheduleCheckSeconds * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    for (const detach of this.detach.splice(0)) detach();
  }

  /** Recreates missing schedulers and resyncs; one check at a time, errors logged (Redis may be down). */
  check(): Promise<void> {
    this.checking ??= this.restoreMissing()
      .catch((error: unknown) =>
        this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'could not check the job schedulers in Redis; will retry'),
      )
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async restoreMissing(): Promise<void> {
    const missing: Schedule[] = [];
    for (const schedule of this.schedules) if (!(await schedule.queue.getJobScheduler(schedule.id))) missing.push(schedule);
    if (missing.length === 0) return;
    this.logger.warn(
      { schedulers: missing.map((schedule) => `${schedule.queue.name}/${schedule.id}`) },
      'job schedulers missing from Redis (restarted empty or wiped); recreating them and resyncing from the database',
    );
    await this.upsertAll();
    // The schedulers' first runs come one interval later; the jobs lost with Redis should not wait.
    for (const queue of new Set(missing.map((schedule) => schedule.queue))) {
      for (const schedule of this.schedules.filter((candidate) => candidate.queue === queue)) {
        await queue.add(schedule.job, {}, { ...KEEP, jobId: `restore-${schedule.id}-${Date.now()}` });
      }
    }
  }

  private async upsertAll(): Promise<void> {
    for (const schedule of this.schedules) {
      await schedule.queue.upsertJobScheduler(schedule.id, { every: schedule.everyMs }, { name: schedule.job, data: {}, opts: KEEP });
    }
  }
}
