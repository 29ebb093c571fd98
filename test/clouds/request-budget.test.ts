// The per-account request budget inside the drivers: every HTTP request the AWS SDK or
// dots-wrapper sends, each retry included, waits for the Redis limiter first. Proven from the
// simulators' own request logs against the slots the limiter reserved: the slots keep to the
// budget, and by any moment no more requests have arrived than slots have opened. (Arrival
// times alone cannot show the budget on a loaded machine: a late event loop delays some sends
// and bunches them with the next.)
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudDriver, isThrottlingCloudError, TransientCloudError, type CloudDriver } from '../../services/clouds/src/index.js';
import { RedisCloudRequestLimiter } from '../../services/platform/src/cloud-rate-limiter.js';
import { startDigitalOceanSimulator, type DigitalOceanSimulator } from '../../services/sandbox/src/clouds/digitalocean/index.js';
import { startEc2Simulator, type Ec2Simulator } from '../../services/sandbox/src/clouds/ec2/index.js';
import type { RecordedRequest } from '../../services/sandbox/src/clouds/ec2/index.js';
import { fastRetry, nodeRequest, openSshPublicKey } from './support.js';

const RATE = 10;
const BURST = 1;
const EC2_ACCOUNT = { accessKeyId: 'AKIAHARBORMASTERBUDG', secretAccessKey: 'budget-secret' };
const DO_TOKEN = 'dop_v1_budget_account';
const prefix = `hm-test-${randomUUID().slice(0, 8)}`;
let redis: Redis;
let limiter: RedisCloudRequestLimiter;
let ec2: Ec2Simulator;
let digitalOcean: DigitalOceanSimulator;

/** Counts acquisitions while delegating to the real Redis limiter. */
function countingLimiter() {
  const acquired: string[] = [];
  return {
    acquired,
    limiter: {
      acquire: async (accountKey: string) => {
        acquired.push(accountKey);
        await limiter.acquire(accountKey);
      },
    },
  };
}

/** Events in the busiest window of `windowMs`. */
function busiestWindow(at: number[], windowMs: number): number {
  const times = [...at].sort((a, b) => a - b);
  let best = 0;
  let end = 0;
  for (let start = 0; start < times.length; start++) {
    while (end < times.length && times[end] - times[start] < windowMs) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

/** The budget: burst + rate·t. */
function allowedIn(windowMs: number): number {
  return BURST + Math.floor((RATE * windowMs) / 1000);
}

/** Slots reserved per account key, in the Redis server's clock (the same host's clock here). */
const slotsOf = new Map<string, number[]>();

/** The slots keep to the budget, and the requests (stamped by the simulator on arrival) never run ahead of them. */
function expectWithinBudget(accountKey: string, requests: RecordedRequest[]): void {
  const slots = [...(slotsOf.get(accountKey) ?? [])].sort((a, b) => a - b);
  expect(slots).toHaveLength(requests.length);
  for (const windowMs of [200, 500, 1_000]) expect(busiestWindow(slots, windowMs)).toBeLessThanOrEqual(allowedIn(windowMs));
  const arrivals = requests.map((request) => request.at.getTime()).sort((a, b) => a - b);
  // 1 ms: the simulator's stamp has millisecond resolution.
  arrivals.forEach((arrivedAt, index) => expect(arrivedAt).toBeGreaterThanOrEqual(Math.floor(slots[index]) - 1));
}

beforeAll(async () => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
  limiter = new RedisCloudRequestLimiter(redis, {
    ratePerSecond: RATE,
    burst: BURST,
    keyPrefix: prefix,
    onReserved: (accountKey, slotAtMs) => slotsOf.set(accountKey, [...(slotsOf.get(accountKey) ?? []), slotAtMs]),
  });
  ec2 = await startEc2Simulator({ accounts: [EC2_ACCOUNT], timing: { bootMs: 30, shutdownMs: 30, stopMs: 30 } });
  digitalOcean = await startDigitalOceanSimulator({ accounts: [{ name: 'budget', tokens: [DO_TOKEN] }], timing: { bootMs: 30, shutdownMs: 30 } });
});

afterAll(async () => {
  await ec2?.close();
  await digitalOcean?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('request budget in the drivers', () => {
  it('EC2: every request, retries included, acquires first, and the simulator sees at most the budget', async () => {
    const counting = countingLimiter();
    const accountKey = `credential-${randomUUID()}`;
    const driver: CloudDriver = createCloudDriver(
      { provider: 'aws', region: 'us-east-1', ...EC2_ACCOUNT },
      { endpoint: ec2.url, retry: fastRetry({ maxAttempts: 8 }), rateLimiter: { limiter: counting.limiter, accountKey } },
    );
    // Two throttled attempts and one 5xx: the driver retries them, and each retry is a request too.
    ec2.faults.failNext('throttle', 2, { operation: 'RunInstances' }).failNext('server-error', 1, { operation: 'DescribeInstances' });
    const before = ec2.requests().length;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 12 }, async (_, index) => {
        const request = nodeRequest({ nodeId: `budget-${randomUUID()}`, name: `budget-${index}` });
        await driver.ensureInstance(request);
        await driver.findInstance(request.nodeId);
      }),
    );
    const requests = ec2.requests().slice(before);
    expect(requests.filter((request) => request.status !== 200)).toHaveLength(3);
    expect(requests).toHaveLength(24 + 3);
    expect(counting.acquired).toHaveLength(requests.length);
    expect(new Set(counting.acquired)).toEqual(new Set([accountKey]));
    // 27 requests at 10/s with a burst of 1 cannot take less than 2.6 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
    expectWithinBudget(accountKey, requests);
    expect(ec2.internalErrors()).toEqual([]);
  });

  it('DigitalOcean: every request dots-wrapper sends acquires first, on that client only', async () => {
    const counting = countingLimiter();
    const accountKey = `credential-${randomUUID()}`;
    const budgeted = createCloudDriver(
      { provider: 'digitalocean', token: DO_TOKEN },
      { endpoint: digitalOcean.url, retry: fastRetry({ maxAttempts: 8 }), rateLimiter: { limiter: counting.limiter, accountKey } },
    );
    // A driver without a budget in the same process: its requests must not touch the limiter
    // (the interceptor lives on the budgeted client's own axios instance, not a global one).
    const unbudgeted = createCloudDriver({ provider: 'digitalocean', token: DO_TOKEN }, { endpoint: digitalOcean.url, retry: fastRetry() });
    const publicKey = openSshPublicKey();
    digitalOcean.faults.failNext('throttle', 2, { operation: 'droplets_list' });
    const before = digitalOcean.requests().length;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        budgeted.ensureInstance(
          nodeRequest({
            nodeId: `budget-${randomUUID()}`,
            name: `budget-${index}`,
            region: 'fra1',
            size: 's-2vcpu-4gb',
            image: 'ubuntu-24-04-x64',
            sshPublicKeys: [publicKey],
          }),
        ),
      ),
    );
    const budgetedRequests = digitalOcean.requests().slice(before);
    expect(budgetedRequests.filter((request) => request.status === 429)).toHaveLength(2);
    expect(counting.acquired).toHaveLength(budgetedRequests.length);
    expect(budgetedRequests.length).toBeGreaterThanOrEqual(6 * 3 + 2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(((budgetedRequests.length - BURST) / RATE) * 1000 - 100);
    expectWithinBudget(accountKey, budgetedRequests);

    const acquiredSoFar = counting.acquired.length;
    await unbudgeted.listInstances({ clusterId: 'cluster-a' });
    expect(counting.acquired).toHaveLength(acquiredSoFar);
    expect(digitalOcean.specViolations()).toEqual([]);
  });

  it('a limiter that cannot answer fails the call as transient, never as a validation error', async () => {
    const broken = { acquire: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')) };
    for (const driver of [
      createCloudDriver(
        { provider: 'aws', region: 'us-east-1', ...EC2_ACCOUNT },
        { endpoint: ec2.url, retry: fastRetry({ maxAttempts: 2 }), rateLimiter: { limiter: broken, accountKey: 'k' } },
      ),
      createCloudDriver(
        { provider: 'digitalocean', token: DO_TOKEN },
        { endpoint: digitalOcean.url, retry: fastRetry({ maxAttempts: 2 }), rateLimiter: { limiter: broken, accountKey: 'k' } },
      ),
    ]) {
      const before = driver.provider === 'aws' ? ec2.requests().length : digitalOcean.requests().length;
      const error = await driver.findInstance('node-x').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TransientCloudError);
      expect((error as TransientCloudError).code).toBe('RequestBudgetUnavailable');
      expect(isThrottlingCloudError(error)).toBe(false);
      // Nothing went out without a slot.
      expect(driver.provider === 'aws' ? ec2.requests().length : digitalOcean.requests().length).toBe(before);
    }
  });

  it('classifies exhausted throttling as throttling, and other transient errors not', async () => {
    const driver = createCloudDriver({ provider: 'aws', region: 'us-east-1', ...EC2_ACCOUNT }, { endpoint: ec2.url, retry: fastRetry({ maxAttempts: 2 }) });
    ec2.faults.failNext('throttle', 2, { operation: 'DescribeInstances' });
    const throttled = await driver.findInstance('node-y').catch((caught: unknown) => caught);
    expect(isThrottlingCloudError(throttled)).toBe(true);
    ec2.faults.failNext('server-error', 2, { operation: 'DescribeInstances' });
    const failed = await driver.findInstance('node-y').catch((caught: unknown) => caught);
    expect(failed).toBeInstanceOf(TransientCloudError);
    expect(isThrottlingCloudError(failed)).toBe(false);

    const droplets = createCloudDriver({ provider: 'digitalocean', token: DO_TOKEN }, { endpoint: digitalOcean.url, retry: fastRetry({ maxAttempts: 2 }) });
    digitalOcean.faults.failNext('throttle', 2, { operation: 'droplets_list' });
    expect(isThrottlingCloudError(await droplets.findInstance('node-z').catch((caught: unknown) => caught))).toBe(true);
  });
});
