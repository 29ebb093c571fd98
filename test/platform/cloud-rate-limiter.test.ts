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
    const slots: number[] = [];
    const limiter = new RedisCloudRequestLimiter(connect(), {
      ratePerSecond: 20,
      burst: 2,
      keyPrefix: prefix,
      onReserved: (_account, slotAtMs) => slots.push(slotAtMs),
    });
    const account = `acct-${randomUUID()}`;
    const started = performance.now();
    const grants = await Promise.all(
      Array.from({ length: 40 }, async () => {
        await limiter.acquire(account);
        return Date.now();
      }),
    );
    const elapsed = performance.now() - started;
    // (40 - burst) / 20 = 1.9 s at least.
    expect(elapsed).toBeGreaterThanOrEqual(1_850);
    // The reservations reach Redis together: work-conserving, the last slot opens 1.9 s after the first.
    expect(Math.max(...slots) - Math.min(...slots)).toBeGreaterThanOrEqual(1_899);
    expect(Math.max(...slots) - Math.min(...slots)).toBeLessThan(2_000);
    for (const windowMs of [100, 250, 500, 1_000]) expect(busiestWindow(slots, windowMs)).toBeLessThanOrEqual(2 + Math.floor((20 * windowMs) / 1000));
    // Nobody goes before a slot opened for them (a busy event loop only makes grants later).
    const sortedSlots = [...slots].sort((a, b) => a - b);
    [...grants].sort((a, b) => a - b).forEach((grantedAt, index) => expect(grantedAt).toBeGreaterThanOrEqual(Math.floor(sortedSlots[index]) - 1));
  });

  it('shares one budget between separate connections (replicas), first come first served', async () => {
    const account = `acct-${randomUUID()}`;
    const [redisA, redisB] = [connect(), connect()];
    await Promise.all([redisA.ping(), redisB.ping()]);
    const slots: Array<{ replica: number; at: number }> = [];
    const replicas = [redisA, redisB].map(
      (redis, replica) =>
        new RedisCloudRequestLimiter(redis, { ratePerSecond: 20, burst: 2, keyPrefix: prefix, onReserved: (_account, at) => slots.push({ replica, at }) }),
    );
    const started = performance.now();
    // Callers arrive every 10 ms, alternating replicas: five times faster than the budget, so a queue builds.
    await Promise.all(
      Array.from({ length: 40 }, async (_, index) => {
        await new Promise((resolve) => setTimeout(resolve, index * 10));
        await replicas[index % 2].acquire(account);
      }),
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_850);
    // One budget: the 40 slots of both replicas together span (40 - burst) / 20 = 1.9 s, where
    // two separate budgets would each have finished in about one second.
    const times = slots.map((slot) => slot.at);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(1_899);
    for (const windowMs of [250, 500, 1_000]) expect(busiestWindow(times, windowMs)).toBeLessThanOrEqual(2 + Math.floor((20 * windowMs) / 1000));
    // First come first served across replicas: slots follow the alternating arrivals, so in any
    // ten consecutive slots both replicas are served; neither waits behind the other's queue.
    const order = [...slots].sort((x, y) => x.at - y.at).map((slot) => slot.replica);
    for (let start = 0; start + 10 <= order.length; start += 1) expect(new Set(order.slice(start, start + 10)).size).toBe(2);
  });

  it('gives an idle account its burst at once and keeps accounts apart', async () => {
    const busy = `acct-${randomUUID()}`;
    const idle = `acct-${randomUUID()}`;
    const slots = new Map<string, number[]>([
      [busy, []],
      [idle, []],
    ]);
    const limiter = new RedisCloudRequestLimiter(connect(), {
      ratePerSecond: 2,
      burst: 3,
      keyPrefix: prefix,
      onReserved: (account, at) => slots.get(account)!.push(at),
    });
    // Drain `busy` well beyond its burst; its last slot is then 1.5 s away.
    const backlog = Promise.all(Array.from({ length: 6 }, () => limiter.acquire(busy)));
    await Promise.all(Array.from({ length: 3 }, () => limiter.acquire(idle)));
    const fourth = performance.now();
    await limiter.acquire(idle);
    await backlog;
    // The idle account's burst opens at once: its first three slots are when they were asked for,
    // all within the first busy slot's second, not queued behind `busy`.
    const [idleSlots, busySlots] = [slots.get(idle)!, slots.get(busy)!];
    expect(busySlots.at(-1)! - busySlots[0]).toBeGreaterThanOrEqual(1_499);
    expect(idleSlots[2] - idleSlots[0]).toBeLessThan(busySlots.at(-1)! - busySlots[0]);
    expect(idleSlots[2] - busySlots[0]).toBeLessThan(500);
    // The fourth waits one interval of its own bucket (500 ms at 2/s) after its burst.
    expect(idleSlots[3] - idleSlots[0]).toBeGreaterThanOrEqual(499);
    expect(idleSlots[3] - idleSlots[0]).toBeLessThan(busySlots.at(-1)! - busySlots[0]);
    expect(performance.now() - fourth).toBeGreaterThanOrEqual(450);
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
