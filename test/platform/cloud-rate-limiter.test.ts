// The per-account cloud request budget against real Redis: separate connections stand in for
// separate worker replicas, and every grant is timestamped so the window bound can be checked.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCloudRequestLimiter } from '../../services/platform/src/cloud-rate-limiter.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const connections: Redis[] = [];

function connect(): Redis {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  connections.push(redis);
  return redis;
}

/** The largest number of grants in any window of `windowMs` that starts at a grant. */
function busiestWindow(grantTimes: number[], windowMs: number): number {
  const sorted = [...grantTimes].sort((a, b) => a - b);
  let best = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end] - sorted[start] < windowMs) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

let prefix: string;

beforeAll(() => {
  prefix = `hm-test-${randomUUID().slice(0, 8)}`;
});

afterAll(async () => {
  const cleanup = connect();
  const keys = await cleanup.keys(`${prefix}:*`);
  if (keys.length > 0) await cleanup.del(...keys);
  for (const redis of connections) redis.disconnect();
});

describe('RedisCloudRequestLimiter', () => {
  it('holds 40 requests at 20/s to about two seconds, and never lets more than burst + rate·t through', async () => {
    const limiter = new RedisCloudRequestLimiter(connect(), { ratePerSecond: 20, burst: 2, keyPrefix: prefix });
    const account = `acct-${randomUUID()}`;
    const started = performance.now();
    const grants = await Promise.all(
      Array.from({ length: 40 }, async () => {
        await limiter.acquire(account);
        return performance.now();
      }),
    );
    const elapsed = performance.now() - started;
    // (40 - burst) / 20 = 1.9 s at least; work-conserving, so not much more.
    expect(elapsed).toBeGreaterThanOrEqual(1_850);
    expect(elapsed).toBeLessThan(3_000);
    for (const windowMs of [100, 250, 500, 1_000]) {
      // Timers fire a little late, never early; a late grant can bunch with the next one by that much.
      expect(busiestWindow(grants, windowMs)).toBeLessThanOrEqual(2 + Math.floor((20 * (windowMs + 25)) / 1000));
    }
  });

  it('shares one budget between separate connections (replicas), first come first served', async () => {
    const account = `acct-${randomUUID()}`;
    const [redisA, redisB] = [connect(), connect()];
    await Promise.all([redisA.ping(), redisB.ping()]);
    const replicas = [redisA, redisB].map((redis) => new RedisCloudRequestLimiter(redis, { ratePerSecond: 20, burst: 2, keyPrefix: prefix }));
    const started = performance.now();
    // Callers arrive every 10 ms, alternating replicas: five times faster than the budget, so a queue builds.
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, index) => {
        await new Promise((resolve) => setTimeout(resolve, index * 10));
        await replicas[index % 2].acquire(account);
        return { index, granted: performance.now() };
      }),
    );
    const elapsed = performance.now() - started;
    // Alone each replica would finish its 20 in about a second; sharing one budget, the pair needs about two.
    expect(elapsed).toBeGreaterThanOrEqual(1_850);
    expect(elapsed).toBeLessThan(3_000);
    expect(busiestWindow(results.map((result) => result.granted), 500)).toBeLessThanOrEqual(2 + Math.floor((20 * 525) / 1000));
    // Fair: grants follow arrival order across both replicas, so nobody is overtaken or starved.
    const grantOrder = [...results].sort((a, b) => a.granted - b.granted).map((result) => result.index);
    expect(grantOrder).toEqual(results.map((result) => result.index));
  });

  it('gives an idle account its burst at once and keeps accounts apart', async () => {
    const limiter = new RedisCloudRequestLimiter(connect(), { ratePerSecond: 2, burst: 3, keyPrefix: prefix });
    const busy = `acct-${randomUUID()}`;
    const idle = `acct-${randomUUID()}`;
    // Drain `busy` well beyond its burst; the next grant is then seconds away.
    const backlog = Promise.all(Array.from({ length: 6 }, () => limiter.acquire(busy)));
    const started = performance.now();
    await Promise.all(Array.from({ length: 3 }, () => limiter.acquire(idle)));
    expect(performance.now() - started).toBeLessThan(200);
    const fourth = performance.now();
    await limiter.acquire(idle);
    // The fourth request of the idle account waits one interval (500 ms at 2/s), not behind `busy`.
    expect(performance.now() - fourth).toBeGreaterThanOrEqual(450);
    expect(performance.now() - fourth).toBeLessThan(900);
    await backlog;
  });

  it('keeps its state under the installation prefix and lets idle buckets expire', async () => {
    const redis = connect();
    const limiter = new RedisCloudRequestLimiter(redis, { ratePerSecond: 10, keyPrefix: prefix });
    const account = `acct-${randomUUID()}`;
    await limiter.acquire(account);
    expect(limiter.keyFor(account)).toBe(`${prefix}:cloud-rate:${account}`);
    const ttl = await redis.pttl(limiter.keyFor(account));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_100 + 100);
  });

  it('rejects a rate or burst that cannot work', () => {
    const redis = connect();
    expect(() => new RedisCloudRequestLimiter(redis, { ratePerSecond: 0, keyPrefix: prefix })).toThrow(RangeError);
    expect(() => new RedisCloudRequestLimiter(redis, { ratePerSecond: 5, burst: 0, keyPrefix: prefix })).toThrow(RangeError);
  });
});
