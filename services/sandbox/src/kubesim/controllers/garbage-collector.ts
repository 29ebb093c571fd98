import type { KubeObject } from '../contracts.js';
import { isStatus, sleep, type KubeClient, type Logger } from './client.js';
import { collectionPath, discoverResources, objectPath, type ApiResource } from './discovery.js';

const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

interface Node {
  object: KubeObject;
  resource: ApiResource;
}

/**
 * pkg/controller/garbagecollector, as a periodic scan instead of an event-driven graph: each pass
 * lists everything deletable, then
 * - deletes (background) dependents whose owners are all gone,
 * - for owners being deleted in the foreground, deletes their dependents and drops the
 *   foregroundDeletion finalizer once no blocking dependent remains,
 * - for owners being deleted with orphaning, strips the owner reference from dependents and
 *   drops the orphan finalizer.
 */
export class GarbageCollector {
  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly intervalMs = 5_000,
  ) {}

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.pass();
      } catch (error) {
        if (signal.aborted) break;
        this.logger.error(`garbagecollector: ${error instanceof Error ? error.message : String(error)}`);
      }
      await sleep(this.intervalMs, signal);
    }
  }

  async pass(): Promise<void> {
    this.discovered = await discoverResources(this.client);
    const resources = this.discovered.filter(
      (resource) => resource.verbs.includes('list') && resource.verbs.includes('delete') && resource.verbs.includes('get'),
    );
    const byUid = new Map<string, Node>();
    const nodes: Node[] = [];
    for (const resource of resources) {
      let items: KubeObject[];
      try {
        items = (await this.client.list(collectionPath(resource))).items;
      } catch (error) {
        if (isStatus(error, 403) || isStatus(error, 404) || isStatus(error, 405)) continue;
        throw error;
      }
      for (const object of items) {
        const node = {
          object: { ...object, apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version, kind: resource.kind },
          resource,
        };
        nodes.push(node);
        if (object.metadata.uid) byUid.set(object.metadata.uid, node);
      }
    }
    const dependentsOf = new Map<string, Node[]>();
    for (const node of nodes) {
      for (const reference of node.object.metadata.ownerReferences ?? []) {
        dependentsOf.set(reference.uid, [...(dependentsOf.get(reference.uid) ?? []), node]);
      }
    }
    for (const node of nodes) {
      const finalizers = node.object.metadata.finalizers ?? [];
      if (node.object.metadata.deletionTimestamp && finalizers.includes(ORPHAN))
        await this.orphanDependents(node, dependentsOf.get(node.object.metadata.uid ?? '') ?? []);
      else if (node.object.metadata.deletionTimestamp && finalizers.includes(FOREGROUND))
        await this.deleteForeground(node, dependentsOf.get(node.object.metadata.uid ?? '') ?? []);
    }
    for (const node of nodes) {
      const references = node.object.metadata.ownerReferences ?? [];
      if (references.length === 0 || node.object.metadata.deletionTimestamp) continue;
      const alive = references.filter((reference) => {
        const owner = byUid.get(reference.uid);
        return owner?.object.metadata.name === reference.name;
      });
      if (alive.length > 0) continue;
      if (!(await this.ownersReallyGone(node, references))) continue;
      await this.delete(node, 'Background');
    }
  }

  /** Guards against a stale list: an owner created after we listed must not lose its dependents. */
  private async ownersReallyGone(node: Node, references: NonNullable<KubeObject['metadata']['ownerReferences']>): Promise<boolean> {
    for (const reference of references) {
      const group = reference.apiVersion.includes('/') ? reference.apiVersion.split('/')[0] : '';
      const ownerResource = this.discovered.find((resource) => resource.group === group && resource.kind === reference.kind);
      // An owner kind the server does not serve cannot be checked; keeping the dependent is the safe choice.
      if (!ownerResource) return false;
      const owner = await this.client.getOptional(
        objectPath(ownerResource, reference.name, ownerResource.namespaced ? node.object.metadata.namespace : undefined),
      );
      if (owner?.metadata.uid === reference.uid) return false;
    }
    return true;
  }

  private discovered: ApiResource[] = [];

  private async deleteForeground(owner: Node, dependents: Node[]): Promise<void> {
    const blocking = dependents.filter((dependent) =>
      (dependent.object.metadata.ownerReferences ?? []).some(
        (reference) => reference.uid === owner.object.metadata.uid && reference.blockOwnerDeletion === true,
      ),
    );
    for (const dependent of dependents) {
      if (!dependent.object.metadata.deletionTimestamp) await this.delete(dependent, blocking.includes(dependent) ? 'Foreground' : 'Background');
    }
    if (blocking.length === 0) await this.removeFinalizer(owner, FOREGROUND);
  }

  private async orphanDependents(owner: Node, dependents: Node[]): Promise<void> {
    const uid = owner.object.metadata.uid;
    for (const dependent of dependents) {
      await this.mutate(dependent, (object) => {
        object.metadata.ownerReferences = (object.metadata.ownerReferences ?? []).filter((reference) => reference.uid !== uid);
        if (object.metadata.ownerReferences.length === 0) delete object.metadata.ownerReferences;
      });
    }
    await this.removeFinalizer(owner, ORPHAN);
  }

  private async removeFinalizer(node: Node, finalizer: string): Promise<void> {
    await this.mutate(node, (object) => {
      object.metadata.finalizers = (object.metadata.finalizers ?? []).filter((candidate) => candidate !== finalizer);
    });
    this.logger.info(`garbagecollector: removed ${finalizer} from ${node.resource.name} ${node.object.metadata.name}`);
  }

  /** Read-modify-write with the resourceVersion precondition, retried on conflicts. */
  private async mutate(node: Node, change: (object: KubeObject) => void): Promise<void> {
    const path = objectPath(node.resource, node.object.metadata.name ?? '', node.object.metadata.namespace);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.client.getOptional(path);
      if (!current) return;
      change(current);
      try {
        await this.client.request('PUT', path, current);
        return;
      } catch (error) {
        if (isStatus(error, 404)) return;
        if (!isStatus(error, 409)) throw error;
      }
    }
  }

  private async delete(node: Node, propagationPolicy: 'Background' | 'Foreground'): Promise<void> {
    const path = objectPath(node.resource, node.object.metadata.name ?? '', node.object.metadata.namespace);
    try {
      await this.client.request('DELETE', path, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy,
        preconditions: { uid: node.object.metadata.uid },
      });
      this.logger.info(`garbagecollector: deleted ${node.resource.name} ${node.object.metadata.namespace ?? ''}/${node.object.metadata.name}`);
    } catch (error) {
      if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
    }
  }
}
