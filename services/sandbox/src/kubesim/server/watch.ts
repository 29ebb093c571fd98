import type { ServerResponse } from 'node:http';
import type { KubeObject } from '../contracts.js';
import { groupVersion, storagePrefix, type ResourceInfo } from '../registry/resources.js';
import { StorageError, type StorageEvent } from '../storage/types.js';
import { errors, type ApiError } from './errors.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { ObjectStore } from './store.js';

export interface WatchRequest {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowBookmarks: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  bookmarkIntervalMs: number;
  /** Re-renders event objects (server-side printing for kubectl's Table watches). */
  transform?: (object: KubeObject) => KubeObject;
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
}

/**
 * Serves a watch as a chunked stream of JSON watch events. Before the stream starts, an
 * unusable resourceVersion is answered with a Status (410 Expired), as the watch cache does.
 */
export async function serveWatch(store: ObjectStore, request: WatchRequest, response: ServerResponse, onClose: (cb: () => void) => void): Promise<void> {
  const { info } = request;
  const labels = parseLabelSelector(request.labelSelector ?? '');
  const fieldSelector = [request.fieldSelector, request.name ? `metadata.name=${request.name}` : undefined].filter(Boolean).join(',');
  const fields = parseFieldSelector(fieldSelector, info.fieldLabels, info.plural);
  const matches = (object: KubeObject) => matchesLabels(labels, object.metadata.labels) && matchesFields(fields, object);
  // The last state sent per object: one that leaves the selector is announced DELETED with it.
  const known = new Map<string, KubeObject>();
  const initial: KubeObject[] = [];
  let fromRevision: number;
  const rv = request.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0' || request.sendInitialEvents) {
    const listed = await store.listObjects(info, request.namespace, { labelSelector: request.labelSelector, fieldSelector });
    initial.push(...listed.items);
    fromRevision = Number(listed.resourceVersion);
  } else {
    // The watch cache fails to parse it as an internal error.
    if (!/^\d+$/.test(rv)) throw errors.internal(`strconv.ParseUint: parsing "${rv}": invalid syntax`);
    fromRevision = Number(rv);
  }
  let lastRevision = fromRevision;
  let closed = false;
  const write = (type: string, object: KubeObject) => {
    if (closed) return;
    const rendered =
      request.transform && type !== 'BOOKMARK' && type !== 'ERROR' ? request.transform({ ...object, apiVersion: groupVersion(info), kind: info.kind }) : object;
    response.write(`${JSON.stringify({ type, object: rendered })}\n`);
  };
  const pending: StorageEvent[] = [];
  let started = false;
  const deliver = (event: StorageEvent) => {
    if (!started) {
      pending.push(event);
      return;
    }
    lastRevision = Math.max(lastRevision, event.revision);
    const key = keyOf(event.object);
    const now = event.type !== 'DELETED' && matches(event.object);
    const was = known.has(key);
    if (event.type === 'DELETED') {
      if (was || matches(event.object)) write('DELETED', event.object);
      known.delete(key);
      return;
    }
    if (now) {
      known.set(key, event.object);
      write(event.type === 'ADDED' && !was ? 'ADDED' : was || event.type === 'MODIFIED' ? 'MODIFIED' : 'ADDED', event.object);
    } else if (was) {
      const previous = known.get(key) as KubeObject;
      known.delete(key);
      write('DELETED', { ...previous, metadata: { ...previous.metadata, resourceVersion: event.object.metadata.resourceVersion } });
    }
  };
  let failure: ApiError | undefined;
  let handle: { stop(): void };
  try {
    handle = await store.storage.watch(storagePrefix(info, request.namespace), fromRevision, deliver, (error) => {
      if (closed) return;
      const status = error instanceof StorageError && error.code === 'Expired' ? errors.gone(error.message) : errors.internal(error.message);
      write('ERROR', status.toStatus() as KubeObject);
      finish();
    });
  } catch (error) {
    if (error instanceof StorageError && error.code === 'Expired') failure = errors.gone(error.message);
    else throw error;
  }
  response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  response.flushHeaders();
  if (failure) {
    // Like the watch cache: the stream starts, and its only event is the 410 Expired.
    write('ERROR', failure.toStatus() as KubeObject);
    response.end();
    return;
  }
  for (const object of initial) {
    known.set(keyOf(object), object);
    write('ADDED', { ...object, apiVersion: groupVersion(info), kind: info.kind });
  }
  const bookmark = (annotations?: Record<string, string>) =>
    write('BOOKMARK', {
      apiVersion: groupVersion(info),
      kind: info.kind,
      metadata: { resourceVersion: String(lastRevision), ...(annotations ? { annotations } : {}) },
    });
  if (request.sendInitialEvents && request.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  started = true;
  for (const event of pending.splice(0)) deliver(event);
  const timers: NodeJS.Timeout[] = [];
  if (request.allowBookmarks) timers.push(setInterval(() => bookmark(), request.bookmarkIntervalMs));
  const timeout = (request.timeoutSeconds ?? 1800) * 1000;
  timers.push(setTimeout(() => finish(), timeout));
  function finish(): void {
    if (closed) return;
    closed = true;
    handle.stop();
    for (const t of timers) clearTimeout(t);
    response.end();
  }
  onClose(finish);
}
