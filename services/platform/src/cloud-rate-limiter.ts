// The per-account cloud request budget, shared by every worker replica through Redis.
//
// It is a token bucket written as GCRA (the generic cell rate algorithm): one key per account
// holds the "theoretical arrival time" of the next request, and each acquire atomically
// reserves the earliest slot the bucket allows and advances that time by one interval. The
// caller then sleeps exactly until its slot. So waiting costs no polling and no Redis traffic,
// no slot goes unused while someone waits (work-conserving), waiters are served in the order
// their reservations reached Redis whichever process they live in (fair, no starvation), and in
// any window of t seconds at most `burst + rate * t` requests go out. Redis's own clock is the
// only clock, so replicas on hosts with skewed clocks still share one budget.
//
// BullMQ's built-in limiter cannot do this: in BullMQ OSS it limits a whole queue, and
// per-group limits are a BullMQ Pro feature, while the budget here belongs to a provider
// account that many pools and clusters (many jobs) share.
import type { Redis } from 'ioredis';
import type { CloudRequestLimiter } from './cloud-access.js';

export interface CloudRateLimiterOptions {
  /** Sustained requests per second per account. */
  ratePerSecond: number;
  /** Requests an idle account may send back to back before the rate applies. */
  burst?: number;
  /** Redis key prefix (the installation's queue prefix), so installations sharing a Redis stay apart. */
  keyPrefix: string;
  /** For tests: how a caller waits for its slot. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Told of every reservation: when its slot opens, in the Redis server's clock (epoch ms).
   * Slots are what the limiter guarantees; when a request is actually sent also depends on the
   * caller's event loop, which can only make it later.
   */
  onReserved?: (accountKey: string, slotAtMs: number) => void;
}

/** A small burst: enough to start a reconcile without a pause, too small to trip a provider's own limit. */
export const DEFAULT_CLOUD_REQUEST_BURST = 2;

// KEYS[1]: the account's bucket. ARGV[1]: emission interval in microseconds. ARGV[2]: burst.
// Returns the microseconds the caller must wait before sending.
const RESERVE_SLOT = `
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tolerance = (tonumber(ARGV[2]) - 1) * interval
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local sendAt = tat - tolerance
if sendAt < now then sendAt = now end
local nextTat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.ceil((nextTat - now) / 1000) + 1000)
return {math.floor(sendAt - now), math.floor(sendAt)}
`;

type ReservingRedis = Redis & { hmReserveCloudRequestSlot(key: string, intervalMicros: number, burst: number): Promise<[number, number]> };

export class RedisCloudRequestLimiter implements CloudRequestLimiter {
  private readonly intervalMicros: number;
  private readonly burst: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly redis: ReservingRedis;

  constructor(
    redis: Redis,
    private readonly options: CloudRateLimiterOptions,
  ) {
    if (!(options.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    const burst = options.burst ?? DEFAULT_CLOUD_REQUEST_BURST;
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError('burst must be a positive integer');
    this.burst = burst;
    this.intervalMicros = Math.round(1_000_000 / options.ratePerSecond);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    if (!('hmReserveCloudRequestSlot' in redis)) redis.defineCommand('hmReserveCloudRequestSlot', { numberOfKeys: 1, lua: RESERVE_SLOT });
    this.redis = redis as ReservingRedis;
  }

  get ratePerSecond(): number {
    return this.options.ratePerSecond;
  }

  async acquire(accountKey: string): Promise<void> {
    const [waitMicros, slotMicros] = await this.redis.hmReserveCloudRequestSlot(this.keyFor(accountKey), this.intervalMicros, this.burst);
    this.options.onReserved?.(accountKey, slotMicros / 1000);
    // Round up: a timer may not fire before its slot, or the window bound would not hold.
    if (waitMicros > 0) await this.sleep(Math.ceil(waitMicros / 1000));
  }

  keyFor(accountKey: string): string {
    return `${this.options.keyPrefix}:cloud-rate:${accountKey}`;
  }
}
