import { readFileSync } from 'node:fs';
import { Etcd3, Range, type IKeyValue } from 'etcd3';
import type { KubeObject } from '../contracts.js';
import { StorageError, withResourceVersion, type ListResult, type Storage, type StorageEvent, type WatchHandle } from './types.js';

export interface EtcdStorageOptions {
  endpoints: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] += 1;
  return end;
}

function isCompactedError(error: unknown): boolean {
  return error instanceof Error && /compacted/i.test(error.message);
}

/**
 * Storage in a real etcd, laid out like the real kube-apiserver (JSON values instead of
 * protobuf). resourceVersion is the etcd modification revision, so replicas share state.
 */
export class EtcdStorage implements Storage {
  private readonly client: Etcd3;

  constructor(options: EtcdStorageOptions) {
    const credentials = options.caFile
      ? {
          rootCertificate: readFileSync(options.caFile),
          ...(options.certFile && options.keyFile ? { certChain: readFileSync(options.certFile), privateKey: readFileSync(options.keyFile) } : {}),
        }
      : undefined;
    this.client = new Etcd3({ hosts: options.endpoints, ...(credentials ? { credentials } : {}), dialTimeout: 5000 });
  }

  async get(key: string): Promise<KubeObject | undefined> {
    const response = await this.client.get(key).exec();
    const kv = response.kvs[0];
    return kv ? this.decode(kv) : undefined;
  }

  async list(prefix: string, options: { afterKey?: string; limit?: number; revision?: number } = {}): Promise<ListResult & { more: boolean }> {
    const start = options.afterKey !== undefined ? Buffer.concat([Buffer.from(options.afterKey), Buffer.from([0])]) : Buffer.from(prefix);
    let builder = this.client.getAll().inRange(new Range(start, prefixEnd(prefix)));
    if (options.limit && options.limit > 0) builder = builder.limit(options.limit);
    if (options.revision) builder = builder.revision(options.revision);
    try {
      const response = await builder.exec();
      const items = response.kvs.map((kv) => this.decode(kv));
      return { items, revision: options.revision ?? Number(response.header.revision), more: response.more };
    } catch (error) {
      if (isCompactedError(error)) throw new StorageError('Expired', 'The provided continue parameter is too old to display a consistent list result.');
      throw error;
    }
  }

  async create(key: string, object: KubeObject): Promise<KubeObject> {
    const value = JSON.stringify(this.strip(object));
    const result = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value)).commit();
    if (!result.succeeded) throw new StorageError('AlreadyExists', `${key} already exists`);
    return withResourceVersion(JSON.parse(value) as KubeObject, Number(result.header.revision));
  }

  async update(key: string, object: KubeObject, expectedRevision: number): Promise<KubeObject> {
    const value = JSON.stringify(this.strip(object));
    const result = await this.client.if(key, 'Mod', '==', expectedRevision).then(this.client.put(key).value(value)).commit();
    if (!result.succeeded) {
      if (!(await this.get(key))) throw new StorageError('NotFound', `${key} not found`);
      throw new StorageError('Conflict', `${key} was modified`);
    }
    return withResourceVersion(JSON.parse(value) as KubeObject, Number(result.header.revision));
  }

  async delete(key: string, expectedRevision: number): Promise<KubeObject> {
    const current = await this.get(key);
    if (!current) throw new StorageError('NotFound', `${key} not found`);
    const result = await this.client.if(key, 'Mod', '==', expectedRevision).then(this.client.delete().key(key)).commit();
    if (!result.succeeded) {
      if (!(await this.get(key))) throw new StorageError('NotFound', `${key} not found`);
      throw new StorageError('Conflict', `${key} was modified`);
    }
    return withResourceVersion(current, Number(result.header.revision));
  }

  async watch(prefix: string, fromRevision: number, onEvent: (event: StorageEvent) => void, onError: (error: Error) => void): Promise<WatchHandle> {
    const current = await this.currentRevision();
    if (fromRevision < current) {
      try {
        await this.client.getAll().prefix(prefix).revision(Math.max(fromRevision, 1)).limit(1).exec();
      } catch (error) {
        if (isCompactedError(error)) throw new StorageError('Expired', `too old resource version: ${fromRevision} (${current})`);
        throw error;
      }
    }
    const watcher = await this.client
      .watch()
      .prefix(prefix)
      .startRevision(String(fromRevision + 1))
      .withPreviousKV()
      .create();
    watcher.on('put', (kv: IKeyValue) => {
      const object = this.decode(kv);
      onEvent({ type: kv.version === '1' ? 'ADDED' : 'MODIFIED', key: kv.key.toString(), object, revision: Number(kv.mod_revision) });
    });
    watcher.on('delete', (kv: IKeyValue, previous?: IKeyValue) => {
      if (!previous) return;
      const object = withResourceVersion(JSON.parse(previous.value.toString()) as KubeObject, Number(kv.mod_revision));
      onEvent({ type: 'DELETED', key: kv.key.toString(), object, revision: Number(kv.mod_revision) });
    });
    watcher.on('error', (error: Error) => onError(isCompactedError(error) ? new StorageError('Expired', error.message) : error));
    return { stop: () => void watcher.cancel().catch(() => undefined) };
  }

  async currentRevision(): Promise<number> {
    const response = await this.client.get('/registry/').exec();
    return Number(response.header.revision);
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private strip(object: KubeObject): KubeObject {
    const metadata = { ...object.metadata };
    delete metadata.resourceVersion;
    return { ...object, metadata };
  }

  private decode(kv: IKeyValue): KubeObject {
    return withResourceVersion(JSON.parse(kv.value.toString()) as KubeObject, Number(kv.mod_revision));
  }
}
