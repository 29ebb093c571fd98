import type { KubeObject } from '../contracts.js';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { type ApiResource, collectionPath, discoverResources, objectPath } from './discovery.js';
import { Informer, WorkQueue } from './informer.js';

const FINALIZER = 'kubernetes';

/**
 * pkg/controller/namespace: once a namespace is terminating, delete every namespaced object in
 * it (found through discovery), wait until none remain, then drop the "kubernetes" finalizer
 * through the /finalize subresource so the apiserver can remove the namespace.
 */
export class NamespaceController {
  private readonly queue: WorkQueue;
  private readonly informer: Informer;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly recheckMs = 1_000,
  ) {
    this.queue = new WorkQueue((name) => this.sync(name), logger, 'namespace');
    this.informer = new Informer(
      client,
      '/api/v1/namespaces',
      (event, object) => {
        if (event !== 'deleted' && object.metadata.deletionTimestamp) this.queue.add(object.metadata.name ?? '');
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.informer.run(signal), this.queue.run(signal)]);
  }

  private async sync(name: string): Promise<void> {
    const namespace = this.informer.get(name);
    if (!namespace?.metadata.deletionTimestamp) return;
    const finalizers = (namespace.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    const remaining = await this.deleteContent(name);
    if (remaining > 0) {
      this.logger.info(`namespace ${name}: waiting for ${remaining} object(s) to go away`);
      this.queue.addAfter(name, this.recheckMs);
      return;
    }
    const latest = await this.client.getOptional(`/api/v1/namespaces/${name}`);
    if (!latest) return;
    const spec = (latest.spec as { finalizers?: string[] } | undefined) ?? {};
    try {
      await this.client.request('PUT', `/api/v1/namespaces/${name}/finalize`, {
        ...latest,
        spec: { ...spec, finalizers: (spec.finalizers ?? []).filter((finalizer) => finalizer !== FINALIZER) },
      });
      this.logger.info(`namespace ${name}: content deleted, finalized`);
    } catch (error) {
      if (isStatus(error, 409)) {
        this.queue.add(name);
        return;
      }
      if (!isStatus(error, 404)) throw error;
    }
  }

  /**
   * Deletes what is left and returns how many objects still exist (some may be finalizing).
   * Resource types are listed and emptied in parallel, as the real controller's deleter does:
   * one type after another made a namespace of ~40 types take seconds per pass on a busy seed.
   */
  private async deleteContent(namespace: string): Promise<number> {
    const resources = (await discoverResources(this.client)).filter(
      (resource) => resource.namespaced && resource.verbs.includes('list') && resource.verbs.includes('delete'),
    );
    const counts = await Promise.all(resources.map((resource) => this.deleteResourceContent(resource, namespace)));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  private async deleteResourceContent(resource: ApiResource, namespace: string): Promise<number> {
    let items: KubeObject[];
    try {
      items = (await this.client.list(collectionPath(resource, namespace))).items;
    } catch (error) {
      if (isStatus(error, 404) || isStatus(error, 405)) return 0;
      throw error;
    }
    await Promise.all(
      items
        .filter((item) => !item.metadata.deletionTimestamp)
        .map(async (item) => {
          try {
            await this.client.request('DELETE', objectPath(resource, item.metadata.name ?? '', namespace), {
              apiVersion: 'v1',
              kind: 'DeleteOptions',
              propagationPolicy: 'Background',
            });
          } catch (error) {
            if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
          }
        }),
    );
    return items.length;
  }
}
