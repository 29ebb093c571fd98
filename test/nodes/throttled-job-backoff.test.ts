// When a provider keeps throttling after the driver's retries, the nodes processor backs that
// one job off by its own delay in BullMQ (real Redis, real Worker): no attempt is spent, the job
// keeps its id, and other errors still fail the attempt as before.
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TransientCloudError } from '../../services/clouds/src/index.js';
import { createLogger, Metrics, type QueueService } from '../../services/platform/src/index.js';
import { JobRunner } from '../../services/worker/src/job-runner.js';
import type { NodePoolReconciler } from '../../services/worker/src/nodes/node-pool-reconciler.js';
import { NodesProcessor } from '../../services/worker/src/processors.js';
import { eventually } from '../support/time.js';

const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
const prefix = `hm-test-${randomUUID().slice(0, 8)}`;
const closers: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  const redis = new Redis(connection);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** A nodes queue whose reconciler fails with `failure` on its first call and succeeds afterwards. */
async function nodesQueue(failure: Error) {
  const name = `nodes-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection, prefix });
  let calls = 0;
  const reconciler = {
    reconcile: async () => {
      calls += 1;
      if (calls === 1) throw failure;
      return {};
    },
  } as unknown as NodePoolReconciler;
  const processor = new NodesProcessor(new JobRunner(createLogger('silent'), new Metrics()), reconciler, {
    wakePool: async () => 'queued',
  } as unknown as QueueService);
  const worker = new Worker(name, (job: Job, token?: string) => processor.process(job, token), { connection, prefix });
  closers.push(async () => {
    await worker.close();
    await queue.close();
  });
  return { queue, calls: () => calls };
}

describe('nodes processor under provider throttling', () => {
  it('moves a throttled job to delayed under its own id without spending an attempt', async () => {
    const { queue, calls } = await nodesQueue(new TransientCloudError('aws', 'RequestLimitExceeded', 'Request limit exceeded.', 503));
    const job = await queue.add('reconcile-pool', { clusterId: 'c', poolId: 'p' }, { jobId: 'pool.p', attempts: 3, backoff: { type: 'fixed', delay: 10 } });
    const started = Date.now();
    const delayed = await waitForState(queue, job.id!, 'delayed');
    expect(calls()).toBe(1);
    expect(delayed.attemptsMade).toBe(0);
    // 10–20 s from now: long enough for the account's bucket to refill, jittered so pools do not return together.
    // BullMQ stores the delay relative to the moment the job moved, which is after `started`.
    expect(delayed.delay).toBeGreaterThanOrEqual(9_900);
    expect(delayed.delay).toBeLessThanOrEqual(20_500);
    expect(Date.now() - started).toBeLessThan(9_900);
    // The id stays taken: a request meanwhile folds into the delayed job.
    await queue.add('reconcile-pool', { clusterId: 'c', poolId: 'p' }, { jobId: 'pool.p' });
    expect(await queue.getJobCounts('delayed', 'wait')).toMatchObject({ delayed: 1, wait: 0 });
  });

  it('fails the attempt as before for errors that are not throttling', async () => {
    const { queue, calls } = await nodesQueue(new TransientCloudError('aws', 'InternalError', 'An internal error has occurred.', 500));
    const job = await queue.add('reconcile-pool', { clusterId: 'c', poolId: 'q' }, { jobId: 'pool.q', attempts: 3, backoff: { type: 'fixed', delay: 50 } });
    const done = await waitForState(queue, job.id!, 'completed');
    expect(calls()).toBe(2);
    expect(done.attemptsMade).toBeGreaterThanOrEqual(1);
  });
});

function waitForState(queue: Queue, jobId: string, state: string): Promise<Job> {
  return eventually(
    async () => {
      // State first, then the job: a job read before its move would carry the old fields.
      if ((await queue.getJobState(jobId)) !== state) return undefined;
      return queue.getJob(jobId);
    },
    `job ${jobId} to reach ${state}`,
    10_000,
    20,
  );
}
