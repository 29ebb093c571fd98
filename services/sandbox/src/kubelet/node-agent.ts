// Node-agent mode of the process kubelet (`controllers: false`): only a kubelet, for a seed whose
// own kube-controller-manager and kube-scheduler do the controller work (a real seed). It
// registers a Node and renews its Lease, runs the Pods the scheduler bound to it as host
// processes, and reports their status. In the roles of kube-proxy and cluster DNS it forwards
// each Service's cluster IP (and NodePort) to the ready endpoints of the Service's real
// EndpointSlices and writes their names to /etc/hosts; as a service load balancer it gives
// LoadBalancer Services an address. It creates no Pods, ReplicaSets, Endpoints or PVCs.
//
// Pod addresses come from 198.18.0.0/15 (RFC 2544 benchmarking space), which the seed helper
// routes locally (`ip route replace local 198.18.0.0/15 dev lo table local`): every address in
// it binds and connects on this host, and none is loopback, which real Endpoints and
// EndpointSlices refuse. Each node agent takes 198.18.<slot>.0/24: .1 is the node, pods the rest.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  Watch,
  type V1ConfigMap,
  type V1EndpointSlice,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { AddressPool, claimSlot, ipToNumber, type SlotClaim } from './addresses.js';
import { HostsFile, type HostsEntry } from './hosts-file.js';
import { stableJson } from './hashing.js';
import { ImageResolver } from './images.js';
import { LocalPod, type PodHost } from './pod.js';
import { NodeRegistration } from './node-registration.js';
import { ServiceProxy, type Backend } from './proxy.js';
import { ResyncLoop } from './resync.js';
import { statusOf } from './seed-client.js';
import type { ProcessKubelet, ProcessKubeletOptions, RunningPod } from './kubelet.js';
import { describePod, key, repositoryRoot } from './shared.js';

/** The pod network node agents take their addresses from; routed locally by the seed helper. */
export const POD_NETWORK = '198.18.0.0/15';

interface AgentPod {
  local: LocalPod;
  lastStatus: string;
  deleting: boolean;
}

interface Snapshot {
  pods: V1Pod[];
  services: V1Service[];
  slices: V1EndpointSlice[];
  secrets: Map<string, V1Secret>;
  configMaps: Map<string, V1ConfigMap>;
  claims: Map<string, V1PersistentVolumeClaim>;
  volumes: Map<string, V1PersistentVolume>;
}

class NodeAgent implements ProcessKubelet {
  readonly instanceId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly config = new KubeConfig();
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly slot: SlotClaim;
  private readonly podAddresses: AddressPool;
  private readonly balancerAddresses: AddressPool;
  private readonly hosts: HostsFile;
  private readonly proxy = new ServiceProxy();
  private readonly managed = new Map<string, AgentPod>();
  /** Pods whose final (grace 0) delete is in flight. */
  private readonly finishing = new Set<string>();
  private readonly podHost: PodHost;
  private readonly loop: ResyncLoop;
  readonly nodeName: string;
  private readonly nodeIP: string;
  private snapshot: Snapshot | undefined;
  private currentHosts: HostsEntry[] = [];
  private serviceIPs = new Map<string, string>();
  private readonly node: NodeRegistration;
  private readonly watches = new Set<AbortController>();

  constructor(private readonly options: ProcessKubeletOptions) {
    this.config.loadFromString(options.kubeconfig);
    this.core = this.config.makeApiClient(CoreV1Api);
    this.discovery = this.config.makeApiClient(DiscoveryV1Api);
    this.slot = claimSlot();
    const base = ipToNumber(`198.18.${this.slot.slot}.0`);
    this.nodeIP = options.nodeIP ?? `198.18.${this.slot.slot}.1`;
    this.podAddresses = new AddressPool(base + 2, base + 254);
    this.balancerAddresses = AddressPool.forLoadBalancers(this.slot.slot);
    this.nodeName = options.nodeName ?? `process-node-${this.slot.slot}`;
    this.loop = new ResyncLoop(() => this.reconcile(), options.resyncIntervalMs ?? 10_000, options.log, `process-kubelet (node agent ${this.nodeName})`);
    this.node = new NodeRegistration(this.config, {
      nodeName: this.nodeName,
      nodeIP: this.nodeIP,
      instanceId: this.instanceId,
      capacity: { cpu: '64', memory: '256Gi', pods: '250', 'ephemeral-storage': '500Gi' },
      onError: (error) => this.recordError(error),
    });
    this.hosts = new HostsFile(options.hostsFile ?? '/etc/hosts', this.instanceId);
    const images = new ImageResolver({ binaries: options.binaries, kubeBinDir: options.kubeBinDir, repositoryRoot: repositoryRoot() });
    mkdirSync(join(options.stateDir, 'pods'), { recursive: true });
    this.podHost = {
      secret: (namespace, name) => this.snapshot?.secrets.get(key(namespace, name)),
      configMap: (namespace, name) => this.snapshot?.configMaps.get(key(namespace, name)),
      claimDirectory: (namespace, claimName) => this.claimDirectory(namespace, claimName),
      images,
      backoff: { initialMs: options.backoff?.initialMs ?? 10_000, maxMs: options.backoff?.maxMs ?? 300_000 },
      maxTerminationGraceMs: options.maxTerminationGraceMs ?? 30_000,
      nodeName: this.nodeName,
      nodeIP: this.nodeIP,
      onChange: () => this.trigger(),
      onProcessStarted: (pid) => this.slot.recordProcessGroup(pid),
    };
  }

  async start(): Promise<void> {
    await this.node.register();
    const watched = [
      `/api/v1/pods`,
      '/api/v1/services',
      '/apis/discovery.k8s.io/v1/endpointslices',
      '/api/v1/secrets',
      '/api/v1/configmaps',
      '/api/v1/persistentvolumeclaims',
    ];
    for (const path of watched) this.watch(path, path === '/api/v1/pods' ? { fieldSelector: `spec.nodeName=${this.nodeName}` } : {});
    this.loop.startPeriodic();
  }

  private watch(path: string, query: Record<string, string>): void {
    if (this.loop.isStopped) return;
    const watcher = new Watch(this.config);
    let controller: AbortController | undefined;
    const restart = (): void => {
      if (controller) this.watches.delete(controller);
      if (!this.loop.isStopped) setTimeout(() => this.watch(path, query), 1_000).unref();
    };
    watcher
      .watch(path, { ...query, allowWatchBookmarks: false }, () => this.trigger(), restart)
      .then((created) => {
        controller = created;
        if (this.loop.isStopped) created.abort();
        else this.watches.add(created);
      })
      .catch(restart);
  }

  // --- Reconcile ------------------------------------------------------------------------------

  private trigger(): void {
    this.loop.trigger();
  }

  resync(): Promise<void> {
    return this.loop.resync();
  }

  private recordError(error: unknown): void {
    this.loop.recordError(error);
  }

  private async takeSnapshot(): Promise<Snapshot> {
    const [pods, services, slices, secrets, configMaps, claims, volumes] = await Promise.all([
      this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.nodeName}` }),
      this.core.listServiceForAllNamespaces(),
      this.discovery.listEndpointSliceForAllNamespaces(),
      this.core.listSecretForAllNamespaces(),
      this.core.listConfigMapForAllNamespaces(),
      this.core.listPersistentVolumeClaimForAllNamespaces(),
      this.core.listPersistentVolume(),
    ]);
    return {
      pods: pods.items,
      services: services.items,
      slices: slices.items,
      secrets: new Map(secrets.items.map((secret) => [key(secret.metadata?.namespace, secret.metadata?.name), secret])),
      configMaps: new Map(configMaps.items.map((configMap) => [key(configMap.metadata?.namespace, configMap.metadata?.name), configMap])),
      claims: new Map(claims.items.map((claim) => [key(claim.metadata?.namespace, claim.metadata?.name), claim])),
      volumes: new Map(volumes.items.map((volume) => [volume.metadata?.name ?? '', volume])),
    };
  }

  private async reconcile(): Promise<void> {
    const snapshot = await this.takeSnapshot();
    this.snapshot = snapshot;
    const bound = new Map(snapshot.pods.map((pod) => [key(pod.metadata?.namespace, pod.metadata?.name), pod]));
    // Pods gone from the API, replaced by another of the same name, or being deleted: stop them.
    for (const [podKey, managed] of [...this.managed]) {
      const seen = bound.get(podKey);
      if (seen && seen.metadata?.uid === managed.local.object.metadata?.uid && !seen.metadata?.deletionTimestamp) {
        // The spec of a running pod does not change; the latest object carries resourceVersion and status.
        managed.local.object = seen;
        continue;
      }
      if (managed.deleting) continue;
      managed.deleting = true;
      void this.terminate(podKey, managed, seen?.metadata?.uid === managed.local.object.metadata?.uid ? seen : undefined);
    }
    for (const [podKey, pod] of bound) {
      if (this.managed.has(podKey)) continue;
      if (pod.metadata?.deletionTimestamp) {
        // Nothing of it runs here (stopped earlier, or left by a previous agent): finish the
        // deletion, as the kubelet's status manager does until the object is gone.
        if (!this.finishing.has(podKey)) void this.finishDeletion(podKey, pod);
        continue;
      }
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const uid = pod.metadata?.uid ?? '';
      const ip = this.podAddresses.allocate(uid);
      const podDir = join(this.options.stateDir, 'pods', `${pod.metadata?.namespace}_${pod.metadata?.name}_${uid}`);
      this.managed.set(podKey, { local: new LocalPod(pod, ip, podDir, this.podHost), lastStatus: '', deleting: false });
    }
    // Names and forwarding first, processes second: a new etcd member resolves its peers on start-up.
    await this.reconcileServices(snapshot);
    for (const managed of this.managed.values()) if (!managed.deleting) managed.local.sync();
    await this.writePodStatuses();
  }

  /** As the kubelet does for a deleted pod: stop the containers, then remove the object for good. */
  private async terminate(podKey: string, managed: AgentPod, live: V1Pod | undefined): Promise<void> {
    const grace = live?.metadata?.deletionGracePeriodSeconds;
    await managed.local.stop(grace === undefined ? undefined : grace * 1000);
    if (this.managed.get(podKey) === managed) this.managed.delete(podKey);
    managed.local.removeScratch();
    this.podAddresses.release(managed.local.object.metadata?.uid ?? '');
    if (live) await this.finishDeletion(podKey, live);
    this.trigger();
  }

  private async finishDeletion(podKey: string, pod: V1Pod): Promise<void> {
    this.finishing.add(podKey);
    try {
      await this.core.deleteNamespacedPod({
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? 'default',
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } },
      });
    } catch (error) {
      if (statusOf(error) !== 404) this.recordError(error);
    } finally {
      this.finishing.delete(podKey);
    }
  }

  private async writePodStatuses(): Promise<void> {
    for (const [podKey, managed] of this.managed) {
      if (managed.deleting) continue;
      const local = managed.local.status();
      // The scheduler's PodScheduled condition and the apiserver's qosClass stay as they are.
      const previous = managed.local.object.status ?? {};
      const scheduled = previous.conditions?.find((condition) => condition.type === 'PodScheduled');
      const status = {
        ...local,
        qosClass: previous.qosClass ?? local.qosClass,
        conditions: [...(scheduled ? [scheduled] : []), ...(local.conditions ?? []).filter((condition) => condition.type !== 'PodScheduled')],
      };
      const serialized = stableJson({ ...status, conditions: status.conditions.map(({ lastTransitionTime: _time, ...rest }) => rest) });
      if (serialized === managed.lastStatus) continue;
      try {
        const latest = managed.local.object;
        const updated = await this.core.replaceNamespacedPodStatus({
          name: managed.local.name,
          namespace: managed.local.namespace,
          body: { ...latest, status },
        });
        if (this.managed.get(podKey) === managed) {
          managed.local.object = updated;
          managed.lastStatus = serialized;
        }
      } catch (error) {
        const code = statusOf(error);
        // A conflict means a newer object exists; the pass its watch event triggers writes again.
        if (code === 409 || code === 404) this.trigger();
        else this.recordError(error);
      }
    }
  }

  private claimDirectory(namespace: string, claimName: string): string | undefined {
    const claim = this.snapshot?.claims.get(key(namespace, claimName));
    const volumeName = claim?.spec?.volumeName;
    if (!volumeName || claim.status?.phase !== 'Bound') return undefined;
    const path = this.snapshot?.volumes.get(volumeName)?.spec?.hostPath?.path;
    if (!path) return undefined;
    mkdirSync(path, { recursive: true });
    return path;
  }

  // --- Services: proxy, names and load balancer addresses --------------------------------------

  private async reconcileServices(snapshot: Snapshot): Promise<void> {
    const listeners = new Map<string, { host: string; port: number; backends: Backend[] }>();
    const hostsEntries: HostsEntry[] = [];
    const serviceIPs = new Map<string, string>();
    const slicesByService = new Map<string, V1EndpointSlice[]>();
    for (const slice of snapshot.slices) {
      const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
      if (!service || slice.addressType !== 'IPv4') continue;
      const serviceKey = key(slice.metadata?.namespace, service);
      slicesByService.set(serviceKey, [...(slicesByService.get(serviceKey) ?? []), slice]);
    }
    for (const service of snapshot.services) {
      const namespace = service.metadata?.namespace ?? 'default';
      const name = service.metadata?.name ?? '';
      const serviceKey = key(namespace, name);
      const names = [`${name}.${namespace}.svc.cluster.local`, `${name}.${namespace}.svc`, `${name}.${namespace}`];
      const slices = slicesByService.get(serviceKey) ?? [];
      const clusterIP = service.spec?.clusterIP;
      if (!clusterIP || clusterIP === 'None') {
        // Headless: a name per endpoint with a hostname, as cluster DNS serves them.
        for (const slice of slices) {
          for (const endpoint of slice.endpoints ?? []) {
            if (!endpoint.hostname || endpoint.conditions?.ready === false) continue;
            for (const address of endpoint.addresses ?? []) hostsEntries.push({ ip: address, names: names.map((suffix) => `${endpoint.hostname}.${suffix}`) });
          }
        }
        continue;
      }
      if (service.spec?.type === 'ExternalName') continue;
      serviceIPs.set(serviceKey, clusterIP);
      hostsEntries.push({ ip: clusterIP, names });
      const type = service.spec?.type ?? 'ClusterIP';
      const balancerIP = type === 'LoadBalancer' ? this.balancerAddresses.allocate(`lb:${serviceKey}`) : undefined;
      for (const port of service.spec?.ports ?? []) {
        if ((port.protocol ?? 'TCP') !== 'TCP') continue;
        const backends: Backend[] = slices.flatMap((slice) => {
          const target = (slice.ports ?? []).find((candidate) => (candidate.name ?? '') === (port.name ?? ''))?.port;
          if (target === undefined) return [];
          return (slice.endpoints ?? [])
            .filter((endpoint) => endpoint.conditions?.ready !== false)
            .flatMap((endpoint) => (endpoint.addresses ?? []).map((address) => ({ ip: address, port: target })));
        });
        const portKey = `${serviceKey}/${port.name ?? port.port}`;
        listeners.set(`cluster:${portKey}`, { host: clusterIP, port: port.port, backends });
        if ((type === 'NodePort' || type === 'LoadBalancer') && port.nodePort) {
          listeners.set(`node:${portKey}`, { host: '127.0.0.1', port: port.nodePort, backends });
          listeners.set(`node-ip:${portKey}`, { host: this.nodeIP, port: port.nodePort, backends });
        }
        if (balancerIP) listeners.set(`lb:${portKey}`, { host: balancerIP, port: port.port, backends });
      }
      if (balancerIP && service.status?.loadBalancer?.ingress?.[0]?.ip !== balancerIP) {
        try {
          await this.core.replaceNamespacedServiceStatus({
            name,
            namespace,
            body: { ...service, status: { ...(service.status ?? {}), loadBalancer: { ingress: [{ ip: balancerIP, ipMode: 'VIP' }] } } },
          });
        } catch (error) {
          if (statusOf(error) !== 409 && statusOf(error) !== 404) this.recordError(error);
        }
      }
    }
    this.serviceIPs = serviceIPs;
    await this.proxy.sync(listeners);
    for (const [listenerKey, failure] of this.proxy.listenerFailures()) this.recordError(new Error(`listener ${listenerKey}: ${failure}`));
    this.currentHosts = hostsEntries;
    try {
      await this.hosts.write(hostsEntries);
    } catch (error) {
      this.recordError(error);
    }
  }

  // --- ProcessKubelet -------------------------------------------------------------------------

  pods(): RunningPod[] {
    return [...this.managed.values()].map(({ local }) => {
      // The owner as the API has it (a Deployment's pods name their ReplicaSet): tests of the
      // real seed look for the real controllers' objects.
      const controller = local.object.metadata?.ownerReferences?.find((reference) => reference.controller);
      const ordinal = local.object.metadata?.labels?.['apps.kubernetes.io/pod-index'];
      return describePod(local, {
        ownerKind: controller?.kind ?? '',
        ownerName: controller?.name ?? '',
        ordinal: ordinal === undefined ? undefined : Number.parseInt(ordinal, 10),
        revision: local.object.metadata?.labels?.['pod-template-hash'] ?? local.object.metadata?.labels?.['controller-revision-hash'] ?? '',
      });
    });
  }

  signalContainer(namespace: string, pod: string, container: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return this.managed.get(key(namespace, pod))?.local.runners.get(container)?.signal(signal) ?? false;
  }

  readLog(namespace: string, pod: string, container: string): string {
    const managed = this.managed.get(key(namespace, pod));
    if (!managed) return '';
    const path = managed.local.logPath(container);
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  serviceAddress(namespace: string, service: string): string | undefined {
    return this.serviceIPs.get(key(namespace, service));
  }

  hostsEntries(): HostsEntry[] {
    return this.currentHosts.map((entry) => ({ ip: entry.ip, names: [...entry.names] }));
  }

  recentErrors(): string[] {
    return this.loop.recentErrors();
  }

  async stop(): Promise<void> {
    if (this.loop.isStopped) return;
    const stopping = this.loop.stop();
    await this.node.stop(false);
    for (const controller of this.watches) controller.abort();
    this.watches.clear();
    await stopping;
    const pods = [...this.managed.values()];
    this.managed.clear();
    await Promise.all(
      pods.map(async ({ local }) => {
        await local.stop();
        local.removeScratch();
      }),
    );
    await this.proxy.close();
    await this.hosts.remove();
    this.slot.release();
  }
}

export async function startNodeAgent(options: ProcessKubeletOptions): Promise<ProcessKubelet> {
  const agent = new NodeAgent(options);
  await agent.start();
  await agent.resync();
  return agent;
}
