import type { KubeObject } from '../contracts.js';
import { StorageError, withResourceVersion, type ListResult, type Storage, type StorageEvent, type WatchHandle } from './types.js';

interface Entry {
  json: string;
  revision: number;
}

interface Subscriber {
  prefix: string;
  onEvent: (event: StorageEvent) => void;
}

/** In-memory storage for the seed role. Keeps a bounded event history so watches can resume. */
export class MemoryStorage implements Storage {
  private revision = 1;
  private readonly entries = new Map<string, Entry>();
  private readonly history: StorageEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly historyLimit = 5000) {}

  async get(key: string): Promise<KubeObject | undefined> {
    const entry = this.entries.get(key);
    return entry ? this.decode(entry) : undefined;
  }

  async list(prefix: string, options: { afterKey?: string; limit?: number } = {}): Promise<ListResult & { more: boolean }> {
    const keys = [...this.entries.keys()].filter((k) => k.startsWith(prefix) && (options.afterKey === undefined || k > options.afterKey)).sort();
    const limit = options.limit && options.limit > 0 ? options.limit : keys.length;
    const page = keys.slice(0, limit);
    return { items: page.map((k) => this.decode(this.entries.get(k) as Entry)), revision: this.revision, more: keys.length > page.length };
  }

  async create(key: string, object: KubeObject): Promise<KubeObject> {
    if (this.entries.has(key)) throw new StorageError('AlreadyExists', `${key} already exists`);
    return this.write(key, object, 'ADDED');
  }

  async update(key: string, object: KubeObject, expectedRevision: number): Promise<KubeObject> {
    const entry = this.entries.get(key);
    if (!entry) throw new StorageError('NotFound', `${key} not found`);
    if (entry.revision !== expectedRevision) throw new StorageError('Conflict', `${key} was modified`);
    return this.write(key, object, 'MODIFIED');
  }

  async delete(key: string, expectedRevision: number): Promise<KubeObject> {
    const entry = this.entries.get(key);
    if (!entry) throw new StorageError('NotFound', `${key} not found`);
    if (entry.revision !== expectedRevision) throw new StorageError('Conflict', `${key} was modified`);
    this.entries.delete(key);
    this.revision += 1;
    const object = withResourceVersion(JSON.parse(entry.json) as KubeObject, this.revision);
    this.publish({ type: 'DELETED', key, object, revision: this.revision });
    return object;
  }

  async watch(prefix: string, fromRevision: number, onEvent: (event: StorageEvent) => void): Promise<WatchHandle> {
    const oldest = this.history.length > 0 ? this.history[0].revision : this.revision + 1;
    // Anything between fromRevision and the oldest retained event has been forgotten.
    if (fromRevision < this.revision && fromRevision + 1 < oldest) {
      throw new StorageError('Expired', `too old resource version: ${fromRevision} (${oldest - 1})`);
    }
    for (const event of this.history) {
      if (event.revision > fromRevision && event.key.startsWith(prefix)) onEvent(event);
    }
    const subscriber: Subscriber = { prefix, onEvent };
    this.subscribers.add(subscriber);
    return { stop: () => this.subscribers.delete(subscriber) };
  }

  async currentRevision(): Promise<number> {
    return this.revision;
  }

  /** Drops history up to `revision`, as etcd compaction does; watches from before it get 410. */
  compact(revision: number): void {
    while (this.history.length > 0 && this.history[0].revision <= revision) this.history.shift();
  }

  async close(): Promise<void> {
    this.subscribers.clear();
  }

  private write(key: string, object: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject {
    this.revision += 1;
    const stored = withResourceVersion(object, this.revision);
    this.entries.set(key, { json: JSON.stringify(stored), revision: this.revision });
    this.publish({ type, key, object: stored, revision: this.revision });
    return JSON.parse(JSON.stringify(stored)) as KubeObject;
  }

  private publish(event: StorageEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.history.shift();
    for (const subscriber of this.subscribers) {
      if (event.key.startsWith(subscriber.prefix)) subscriber.onEvent(JSON.parse(JSON.stringify(event)) as StorageEvent);
    }
  }

  private decode(entry: Entry): KubeObject {
    return withResourceVersion(JSON.parse(entry.json) as KubeObject, entry.revision);
  }
}
