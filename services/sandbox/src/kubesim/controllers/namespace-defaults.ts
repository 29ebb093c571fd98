import type { KubeObject } from '../contracts.js';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';

const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

function active(namespace: KubeObject | undefined): namespace is KubeObject {
  return namespace !== undefined && !namespace.metadata.deletionTimestamp;
}

/** pkg/controller/serviceaccount: every active namespace gets a "default" ServiceAccount. */
export class ServiceAccountController {
  private readonly namespaces: Informer;
  private readonly accounts: Informer;
  private readonly queue: WorkQueue;

  constructor(
    private readonly client: KubeClient,
    logger: Logger,
  ) {
    this.queue = new WorkQueue((name) => this.sync(name), logger, 'serviceaccount');
    this.namespaces = new Informer(
      client,
      '/api/v1/namespaces',
      (event, object) => {
        if (event !== 'deleted') this.queue.add(object.metadata.name ?? '');
      },
      logger,
    );
    this.accounts = new Informer(
      client,
      '/api/v1/serviceaccounts',
      (event, object) => {
        if (event === 'deleted' && object.metadata.name === 'default') this.queue.add(object.metadata.namespace ?? '');
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.namespaces.run(signal), this.accounts.run(signal), this.queue.run(signal)]);
  }

  private async sync(namespace: string): Promise<void> {
    await Promise.all([this.namespaces.hasSynced(), this.accounts.hasSynced()]);
    if (!active(this.namespaces.get(namespace)) || this.accounts.get(`${namespace}/default`)) return;
    try {
      await this.client.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace },
      });
    } catch (error) {
      // Conflicts are expected (we raced someone); a terminating namespace refuses creation.
      if (!isStatus(error, 409) && !isStatus(error, 403) && !isStatus(error, 404)) throw error;
    }
  }
}

/** pkg/controller/certificates/rootcacertpublisher: ConfigMap kube-root-ca.crt with --root-ca-file in every namespace. */
export class RootCaPublisher {
  private readonly namespaces: Informer;
  private readonly configMaps: Informer;
  private readonly queue: WorkQueue;

  constructor(
    private readonly client: KubeClient,
    private readonly rootCaPem: string,
    logger: Logger,
  ) {
    this.queue = new WorkQueue((name) => this.sync(name), logger, 'root-ca-cert-publisher');
    this.namespaces = new Informer(
      client,
      '/api/v1/namespaces',
      (event, object) => {
        if (event !== 'deleted') this.queue.add(object.metadata.name ?? '');
      },
      logger,
    );
    this.configMaps = new Informer(
      client,
      '/api/v1/configmaps',
      (_event, object) => {
        if (object.metadata.name === ROOT_CA_CONFIGMAP) this.queue.add(object.metadata.namespace ?? '');
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.namespaces.run(signal), this.configMaps.run(signal), this.queue.run(signal)]);
  }

  private async sync(namespace: string): Promise<void> {
    await Promise.all([this.namespaces.hasSynced(), this.configMaps.hasSynced()]);
    if (!active(this.namespaces.get(namespace))) return;
    const existing = this.configMaps.get(`${namespace}/${ROOT_CA_CONFIGMAP}`);
    const data = { 'ca.crt': this.rootCaPem };
    const annotations = {
      'kubernetes.io/description':
        'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
    };
    try {
      if (!existing) {
        await this.client.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations },
          data,
        });
      } else if ((existing.data as Record<string, string> | undefined)?.['ca.crt'] !== this.rootCaPem) {
        await this.client.request('PUT', `/api/v1/namespaces/${namespace}/configmaps/${ROOT_CA_CONFIGMAP}`, { ...existing, data });
      }
    } catch (error) {
      if (!isStatus(error, 409) && !isStatus(error, 403) && !isStatus(error, 404)) throw error;
    }
  }
}
