import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from './tokens.js';

type Listener = () => void;

/**
 * One Redis subscriber connection per process for cluster-event notifications, shared by every
 * open event stream (api) and every in-flight reconcile pass watching for a deletion (worker).
 */
@Injectable()
export class ClusterEventSubscriptions implements OnApplicationShutdown {
  private subscriber: Redis | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    if (!this.subscriber) {
      this.subscriber = this.redis.duplicate();
      this.subscriber.on('message', (name: string) => this.listeners.get(name)?.forEach((notify) => notify()));
    }
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      current?.delete(listener);
      if (current?.size === 0) {
        this.listeners.delete(channel);
        await this.subscriber?.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }
}
