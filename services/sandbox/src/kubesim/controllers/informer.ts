import type { KubeObject } from '../contracts.js';
import { ApiError, type KubeClient, type Logger, objectKey, sleep } from './client.js';

export type InformerEvent = 'added' | 'modified' | 'deleted';

/** A sync failure that is expected to heal by itself (retried with backoff, logged quietly). */
export class IgnorableError extends Error {}

/** The informer was stopped before its first list: whoever waited for the cache must stop too. */
export class InformerStoppedError extends Error {}

/**
 * list+watch with resume: watches continue from the last seen resourceVersion (bookmarks
 * included) and fall back to a fresh list on 410 Gone, reporting objects that vanished meanwhile.
 */
export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private synced = false;
  private stopped = false;
  private readonly syncWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly onChange: (event: InformerEvent, object: KubeObject) => void,
    private readonly logger: Logger,
  ) {}

  items(): KubeObject[] {
    return [...this.cache.values()];
  }

  get(key: string): KubeObject | undefined {
    return this.cache.get(key);
  }

  hasSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    // Resolving without a list would let a controller act on an empty cache (a bootstrap signer
    // would drop every signature), and never settling would hang the process's shutdown.
    if (this.stopped) return Promise.reject(new InformerStoppedError(`informer ${this.path} stopped before it synced`));
    return new Promise((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.listAndWatch(signal);
    } finally {
      this.stopped = true;
      for (const waiter of this.syncWaiters.splice(0)) waiter.reject(new InformerStoppedError(`informer ${this.path} stopped before it synced`));
    }
  }

  private async listAndWatch(signal: AbortSignal): Promise<void> {
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        resourceVersion ??= await this.relist();
        let gone = false;
        const watchStarted = Date.now();
        await this.client.watch(
          this.path,
          resourceVersion,
          (event) => {
            if (event.type === 'ERROR') {
              const code = (event.object as { code?: unknown }).code;
              if (code === 410) gone = true;
              return;
            }
            const version = event.object.metadata?.resourceVersion;
            if (version) resourceVersion = version;
            if (event.type === 'BOOKMARK') return;
            this.apply(event.type === 'DELETED' ? 'deleted' : event.type === 'ADDED' ? 'added' : 'modified', event.object);
          },
          signal,
        );
        if (gone) resourceVersion = undefined;
        failures = 0;
        // A server that ends watches at once must not turn this loop into a busy one.
        if (Date.now() - watchStarted < 1_000) await sleep(500, signal);
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof ApiError && error.status === 410) resourceVersion = undefined;
        failures += 1;
        this.logger.error(`informer ${this.path}: ${error instanceof Error ? error.message : String(error)}`);
        await sleep(Math.min(200 * 2 ** failures, 5_000), signal);
      }
    }
  }

  private async relist(): Promise<string> {
    const list = await this.client.list(this.path);
    const seen = new Set<string>();
    for (const object of list.items) {
      const key = objectKey(object);
      seen.add(key);
      this.apply(this.cache.has(key) ? 'modified' : 'added', object);
    }
    for (const [key, object] of [...this.cache.entries()]) {
      if (!seen.has(key)) this.apply('deleted', object);
    }
    if (!this.synced) {
      this.synced = true;
      for (const waiter of this.syncWaiters.splice(0)) waiter.resolve();
    }
    return list.metadata.resourceVersion ?? '0';
  }

  private apply(event: InformerEvent, object: KubeObject): void {
    const key = objectKey(object);
    if (event === 'deleted') this.cache.delete(key);
    else this.cache.set(key, object);
    this.onChange(event, object);
  }
}

/** A de-duplicating work queue processed one key at a time, retrying failures with backoff. */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly retries = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly handle: (key: string) => Promise<void>,
    private readonly logger: Logger,
    private readonly name: string,
  ) {}

  add(key: string): void {
    this.pending.add(key);
    this.wake?.();
  }

  addAfter(key: string, delayMs: number): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.add(key);
      },
      Math.min(Math.max(0, delayMs), 2_147_000_000),
    );
    this.timers.add(timer);
  }

  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener(
      'abort',
      () => {
        for (const timer of this.timers) clearTimeout(timer);
        this.timers.clear();
        this.wake?.();
      },
      { once: true },
    );
    while (!signal.aborted) {
      const next = this.pending.values().next();
      if (next.done) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const key = next.value;
      this.pending.delete(key);
      try {
        await this.handle(key);
        this.retries.delete(key);
      } catch (error) {
        if (signal.aborted) break;
        const attempt = (this.retries.get(key) ?? 0) + 1;
        this.retries.set(key, attempt);
        const message = `${this.name} ${key}: ${error instanceof Error ? error.message : String(error)}`;
        if (error instanceof IgnorableError) this.logger.info(message);
        else this.logger.error(message);
        this.addAfter(key, Math.min(200 * 2 ** attempt, 30_000));
      }
    }
  }
}
