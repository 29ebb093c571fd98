import type { V1ContainerPort, V1EndpointAddress, V1EndpointSubset, V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';
import { canonicalJson, deleteIfPresent, namespaceTerminating, namespacedKey, podActive, podReady, splitKey, typed } from './workload-support.js';

/**
 * pkg/controller/endpoint: one Endpoints object per Service with a selector, listing the selected
 * pods that have an address (ready ones under `addresses`, the rest under `notReadyAddresses`
 * unless `publishNotReadyAddresses`), with each Service port resolved against the pods' container
 * ports. Readiness is the Ready condition written to the Pod. Removed with its Service.
 */
export class EndpointsController {
  private readonly queue: WorkQueue;
  private readonly services: Informer;
  private readonly pods: Informer;
  private readonly endpoints: Informer;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {
    this.queue = new WorkQueue((key) => this.sync(key), logger, 'endpoint');
    this.services = new Informer(
      client,
      '/api/v1/services',
      (_event, object) => this.queue.add(namespacedKey(object.metadata.namespace, object.metadata.name)),
      logger,
    );
    this.pods = new Informer(
      client,
      '/api/v1/pods',
      (_event, object) => {
        // A pod change can matter to any Service of its namespace whose selector it matches (or matched).
        for (const service of this.services.items()) {
          if (service.metadata.namespace === object.metadata.namespace) this.queue.add(namespacedKey(service.metadata.namespace, service.metadata.name));
        }
      },
      logger,
    );
    this.endpoints = new Informer(
      client,
      '/api/v1/endpoints',
      (event, object) => {
        if (event !== 'added') this.queue.add(namespacedKey(object.metadata.namespace, object.metadata.name));
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.services.run(signal), this.pods.run(signal), this.endpoints.run(signal), this.queue.run(signal)]);
  }

  private async sync(key: string): Promise<void> {
    try {
      await this.syncKey(key);
    } catch (error) {
      if (!namespaceTerminating(error)) throw error;
    }
  }

  private async syncKey(key: string): Promise<void> {
    await Promise.all([this.services.hasSynced(), this.pods.hasSynced(), this.endpoints.hasSynced()]);
    const { namespace, name } = splitKey(key);
    const path = `/api/v1/namespaces/${namespace}/endpoints`;
    const cachedService = this.services.get(key);
    const existing = this.endpoints.get(key);
    if (!cachedService) {
      if (existing) await deleteIfPresent(this.client, `${path}/${name}`, existing.metadata.uid);
      return;
    }
    const service = typed<V1Service>(cachedService);
    const selector = service.spec?.selector;
    if (!selector) return;
    const publishNotReady = service.spec?.publishNotReadyAddresses === true;
    const selected = this.pods
      .items()
      .map((object) => typed<V1Pod>(object))
      .filter((pod) => pod.metadata?.namespace === namespace && podActive(pod) && pod.status?.podIP)
      .filter((pod) => Object.entries(selector).every(([label, value]) => pod.metadata?.labels?.[label] === value))
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    const address = (pod: V1Pod): V1EndpointAddress => ({
      ip: pod.status?.podIP ?? '',
      ...(pod.spec?.subdomain === name && pod.spec.hostname ? { hostname: pod.spec.hostname } : {}),
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
    });
    const readyAddresses = selected.filter((pod) => publishNotReady || podReady(pod)).map(address);
    const notReadyAddresses = selected.filter((pod) => !(publishNotReady || podReady(pod))).map(address);
    const subsets: V1EndpointSubset[] = [];
    if (selected.length > 0) {
      const containerPorts = selected[0]?.spec?.containers.flatMap((container) => container.ports ?? []) ?? [];
      const ports = (service.spec?.ports ?? []).flatMap((port) => {
        const target = resolvePort(port.targetPort ?? port.port, containerPorts);
        return target === undefined ? [] : [{ name: port.name, port: target, protocol: port.protocol ?? 'TCP' }];
      });
      subsets.push({
        ...(readyAddresses.length ? { addresses: readyAddresses } : {}),
        ...(notReadyAddresses.length ? { notReadyAddresses } : {}),
        ports,
      });
    }
    const current = existing ? typed<V1Endpoints>(existing) : undefined;
    if (current && canonicalJson(current.subsets ?? []) === canonicalJson(subsets)) return;
    const body: V1Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace, labels: service.metadata?.labels, resourceVersion: current?.metadata?.resourceVersion },
      subsets,
    };
    try {
      if (current) await this.client.request('PUT', `${path}/${name}`, body);
      else await this.client.request('POST', path, body);
    } catch (error) {
      // Someone else wrote meanwhile: the informer event of that write brings this Service back.
      if (!isStatus(error, 409)) throw error;
    }
  }
}

/** A Service targetPort (number or container port name) against the pod's container ports. */
function resolvePort(port: number | string, containerPorts: V1ContainerPort[]): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return containerPorts.find((candidate) => candidate.name === port)?.containerPort;
}
