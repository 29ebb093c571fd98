import type { KubeObject } from '../contracts.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StorageEvent {
  type: WatchEventType;
  key: string;
  /** For DELETED, the last stored state with resourceVersion set to the deletion revision. */
  object: KubeObject;
  revision: number;
}

export type StorageErrorCode = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Expired';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ListResult {
  items: KubeObject[];
  /** The store revision the list reflects. */
  revision: number;
}

export interface WatchHandle {
  stop(): void;
}

/**
 * Object storage keyed like the real apiserver's etcd layout. Objects come back with
 * metadata.resourceVersion set to their modification revision.
 */
export interface Storage {
  get(key: string): Promise<KubeObject | undefined>;
  /** Objects under prefix with keys greater than `afterKey`, sorted by key, at most `limit`. */
  list(prefix: string, options?: { afterKey?: string; limit?: number; revision?: number }): Promise<ListResult & { more: boolean }>;
  create(key: string, object: KubeObject): Promise<KubeObject>;
  /** Fails with Conflict when the stored revision is not `expectedRevision`. */
  update(key: string, object: KubeObject, expectedRevision: number): Promise<KubeObject>;
  delete(key: string, expectedRevision: number): Promise<KubeObject>;
  /** Events with revision > fromRevision under prefix; Expired when that history is gone. */
  watch(prefix: string, fromRevision: number, onEvent: (event: StorageEvent) => void, onError: (error: Error) => void): Promise<WatchHandle>;
  currentRevision(): Promise<number>;
  close(): Promise<void>;
}

export function withResourceVersion(object: KubeObject, revision: number): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } };
}
