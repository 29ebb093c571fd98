import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { DomainError } from '../../core/src/index.js';
import { LOGGER, Metrics } from '../../platform/src/index.js';

/** Shared job bookkeeping: timing, outcome metrics, scrubbed logs, and fail-fast on bad input. */
@Injectable()
export class JobRunner {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  async run<T>(queue: string, job: Job, work: () => Promise<T>): Promise<T> {
    const stop = this.metrics.jobDuration.startTimer({ queue, job: job.name });
    try {
      const result = await work();
      this.metrics.jobs.inc({ queue, job: job.name, outcome: 'completed' });
      return result;
    } catch (error) {
      this.metrics.jobs.inc({ queue, job: job.name, outcome: 'failed' });
      this.logger.warn({ queue, job: job.name, jobId: job.id, attempt: job.attemptsMade + 1, err: error }, 'job failed');
      if (error instanceof DomainError && error.kind === 'validation') throw new UnrecoverableError(error.message);
      throw error;
    } finally {
      stop();
    }
  }
}
