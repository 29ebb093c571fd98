// What the workload controllers (deployment, replicaset, statefulset, endpoint) share: typed views
// of the informers' objects, pod readiness as the API reports it, owner references, revision
// hashes, and the expectations that keep a controller from acting twice on one change before its
// informer has seen the first.
import { createHash, randomInt } from 'node:crypto';
import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { KubeObject } from '../contracts.js';
import { ApiError, isStatus, type KubeClient } from './client.js';

/** The informers hold plain JSON; the controllers read it through the client-node types. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a checked-by-nobody cast by design: the caller names the view it reads through, as in typed<V1Pod>(object)
export function typed<T>(object: KubeObject): T {
  return object as unknown as T;
}

/**
 * A pod counts as ready only when its Ready condition, as written to the API, is True: workload
 * statuses are derived from Pods, so a Deployment never reports a replica ready before its Pod does.
 */
export function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}

/** FilterActivePods: not being deleted and not finished. */
export function podActive(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

export function controllerOf(object: { metadata?: { ownerReferences?: V1OwnerReference[] } }): V1OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((reference) => reference.controller === true);
}

export function ownerReference(apiVersion: string, owner: { kind: string; name: string; uid: string }): V1OwnerReference {
  return { apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

export function namespacedKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** metav1.Time: RFC 3339 in whole seconds. */
export function kubeTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Kubernetes' rand.SafeEncodeString alphabet: no vowels or look-alike digits, so generated
// names never spell words.
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function canonicalJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, child]) => child !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, child]) => `${JSON.stringify(name)}:${canonicalJson(child)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Stable short hash of a pod template: pod-template-hash and StatefulSet revisions. */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(canonicalJson(template)).digest();
  let out = '';
  for (let index = 0; index < 10; index++) out += SAFE_ALPHABET[digest[index % digest.length] % SAFE_ALPHABET.length];
  return out;
}

export function randomSuffix(): string {
  let out = '';
  for (let index = 0; index < 5; index++) out += SAFE_ALPHABET[randomInt(SAFE_ALPHABET.length)];
  return out;
}

/**
 * ControllerExpectations, by name: pods this controller created or deleted that its informer has
 * not reported yet. Until it does, a created pod counts as present and a deleted one as gone;
 * after a minute (an event lost to a relist) the informer is believed again.
 */
export class PodExpectations {
  private readonly created = new Map<string, { owner: string; pod: V1Pod; at: number }>();
  private readonly deleted = new Map<string, number>();

  expectCreation(owner: string, pod: V1Pod): void {
    this.created.set(namespacedKey(pod.metadata?.namespace, pod.metadata?.name), { owner, pod, at: Date.now() });
  }

  expectDeletion(pod: V1Pod): void {
    this.deleted.set(namespacedKey(pod.metadata?.namespace, pod.metadata?.name), Date.now());
  }

  /** Called for every informer event on pods. */
  observe(event: 'added' | 'modified' | 'deleted', pod: V1Pod): void {
    const key = namespacedKey(pod.metadata?.namespace, pod.metadata?.name);
    this.created.delete(key);
    if (event === 'deleted' || pod.metadata?.deletionTimestamp) this.deleted.delete(key);
  }

  /** The informer's pods of an owner, corrected by what is still expected. */
  adjust(owner: string, pods: V1Pod[]): V1Pod[] {
    const now = Date.now();
    for (const [key, at] of this.deleted) if (now - at > 60_000) this.deleted.delete(key);
    for (const [key, entry] of this.created) if (now - entry.at > 60_000) this.created.delete(key);
    const seen = new Set(pods.map((pod) => namespacedKey(pod.metadata?.namespace, pod.metadata?.name)));
    const pending = [...this.created.values()].filter(
      (entry) => entry.owner === owner && !seen.has(namespacedKey(entry.pod.metadata?.namespace, entry.pod.metadata?.name)),
    );
    return [...pods.filter((pod) => !this.deleted.has(namespacedKey(pod.metadata?.namespace, pod.metadata?.name))), ...pending.map((entry) => entry.pod)];
  }
}

/** DELETE that tolerates the object being gone already. */
export async function deleteIfPresent(client: KubeClient, path: string, uid?: string): Promise<void> {
  try {
    await client.request('DELETE', path, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Background',
      ...(uid ? { preconditions: { uid } } : {}),
    });
  } catch (error) {
    if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
  }
}

/**
 * PUT of the status subresource. A conflict (someone wrote in between) is left to the next sync,
 * which the write that caused it triggers through the informer.
 */
export async function writeStatus(client: KubeClient, path: string, object: KubeObject, status: object): Promise<boolean> {
  try {
    await client.request('PUT', `${path}/status`, { ...object, status });
    return true;
  } catch (error) {
    if (isStatus(error, 404) || isStatus(error, 409)) return false;
    throw error;
  }
}

/**
 * A create refused because its namespace is being deleted: the real controllers drop the item
 * quietly (NamespaceTerminatingCause), since the namespace controller is removing the owner too.
 */
export function namespaceTerminating(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 403) return false;
  const body = error.body as { message?: string; details?: { causes?: Array<{ type?: string }> } } | undefined;
  return (
    (body?.details?.causes ?? []).some((cause) => cause.type === 'NamespaceTerminating') || (body?.message ?? '').includes('because it is being terminated')
  );
}
