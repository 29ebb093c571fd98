// The process kubelet: runs the Pods of a seed as host processes and reports their status. The
// workloads that create those Pods (Deployment → ReplicaSet → Pod, StatefulSet → Pod) and the
// Endpoints of Services are the controller manager's: kubesim's (kubesim/controllers, role
// kube-controller-manager) or a real one; the seed's scheduler (kubesim's kube-scheduler role, or
// a real one) binds them to the Node this kubelet registers. See README.md for the whole split.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KubeConfig, type V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { AddressPool, claimSlot, type SlotClaim } from './addresses.js';
import type { BackoffSettings } from './container.js';
import { HostsFile, type HostsEntry } from './hosts-file.js';
import { stableJson } from './hashing.js';
import { ImageResolver, type BinaryOverrides } from './images.js';
import { LocalPod, type PodHost } from './pod.js';
import { startNodeAgent } from './node-agent.js';
import { INSTANCE_ANNOTATION, NodeRegistration } from './node-registration.js';
import { resolvePort } from './probes.js';
import { ServiceProxy, type Backend } from './proxy.js';
import { ResyncLoop } from './resync.js';
import { describePod, key, repositoryRoot, workloadOf } from './shared.js';
import { KubernetesSeedClient, statusOf, type SeedClient, type SeedKind, type SeedObjects } from './seed-client.js';

export { INSTANCE_ANNOTATION };

export interface ProcessKubeletOptions {
  /** Admin kubeconfig of the seed, as YAML text. */
  kubeconfig: string;
  /** Pod directories, logs and persistent volumes live here. */
  stateDir: string;
  /** Namespaces to run pods from; 'all' (default) watches the whole cluster. */
  namespaces?: string[] | 'all';
  /** Overrides of image basename → executable. */
  binaries?: BinaryOverrides;
  kubeBinDir?: string;
  /**
   * The Node this kubelet registers and runs the pods of. Default `sandbox-node-<slot>` (or
   * `process-node-<slot>` in node-agent mode): the slot is unique among live kubelets on this
   * host, so two never share a Node.
   */
  nodeName?: string;
  /** Additional address NodePorts listen on besides 127.0.0.1. */
  nodeIP?: string;
  backoff?: Partial<BackoffSettings>;
  /** Upper bound on terminationGracePeriodSeconds, so tests do not wait 30 s for a stuck process. */
  maxTerminationGraceMs?: number;
  /**
   * The safety-net pass (default 10 s). Passes are driven by the seed watch and by the local
   * processes' own changes (exit, probe result); a pass lists five kinds across the whole seed,
   * so running one every second was most of the test suite's own CPU. The real kubelet's
   * periodic sync is a minute.
   */
  resyncIntervalMs?: number;
  hostsFile?: string;
  /**
   * false: node-agent mode (node-agent.ts) for a seed with its own kube-scheduler and real
   * networking controllers: a Node with a Lease, the Pods the scheduler bound to it, Service
   * forwarding from EndpointSlices and names. Default true: kubesim's seed, where this kubelet
   * registers a Node for kubesim's scheduler and forwards Services to the pods it runs. Neither
   * mode runs workload controllers or binds pods; the seed's controller manager and scheduler do.
   */
  controllers?: boolean;
  /** Replaces the client-node implementation, for driving the runtime without an API server. */
  seedClient?: SeedClient;
  log?: (message: string) => void;
}

export interface RunningContainer {
  name: string;
  pid: number | undefined;
  ready: boolean;
  restartCount: number;
  state: string;
  logPath: string;
}

export interface RunningPod {
  namespace: string;
  name: string;
  ip: string;
  ready: boolean;
  terminating: boolean;
  phase: string;
  /** The workload behind the pod: a ReplicaSet's pods name their Deployment. */
  ownerKind: string;
  ownerName: string;
  ordinal: number | undefined;
  /** pod-template-hash, or a StatefulSet's controller-revision-hash. */
  revision: string;
  containers: RunningContainer[];
}

export interface ProcessKubelet {
  readonly instanceId: string;
  /** The Node it registered: the scheduler binds pods here for it to run. */
  readonly nodeName: string;
  /** Runs one reconcile pass now and waits for it. */
  resync(): Promise<void>;
  pods(): RunningPod[];
  /** Test hook: signal a container's process group (SIGKILL simulates a crash). */
  signalContainer(namespace: string, pod: string, container: string, signal?: NodeJS.Signals): boolean;
  readLog(namespace: string, pod: string, container: string): string;
  /** The loopback address a (non-headless) Service's name resolves to. */
  serviceAddress(namespace: string, service: string): string | undefined;
  hostsEntries(): HostsEntry[];
  /** Errors of the most recent reconcile passes, newest last. */
  recentErrors(): string[];
  stop(): Promise<void>;
}

interface ManagedPod {
  local: LocalPod;
  ownerKind: string;
  ownerName: string;
  revision: string;
  ordinal: number | undefined;
  addressKey: string;
  lastStatus: string;
}

interface Snapshot {
  pods: V1Pod[];
  services: V1Service[];
  secrets: Map<string, V1Secret>;
  configMaps: Map<string, V1ConfigMap>;
  claims: V1PersistentVolumeClaim[];
}

const STS_POD_NAME = 'statefulset.kubernetes.io/pod-name';

class Kubelet implements ProcessKubelet {
  readonly instanceId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly nodeName: string;
  private readonly node: NodeRegistration;
  private readonly seed: SeedClient;
  private readonly slot: SlotClaim;
  private readonly podAddresses: AddressPool;
  private readonly serviceAddresses: AddressPool;
  private readonly balancerAddresses: AddressPool;
  private readonly hosts: HostsFile;
  private readonly proxy = new ServiceProxy();
  private readonly images: ImageResolver;
  private readonly managed = new Map<string, ManagedPod>();
  private readonly podHost: PodHost;
  private readonly loop: ResyncLoop;
  private snapshot: Snapshot | undefined;
  private currentHosts: HostsEntry[] = [];
  private stopWatch: (() => void) | undefined;

  constructor(private readonly options: ProcessKubeletOptions) {
    this.seed = options.seedClient ?? KubernetesSeedClient.fromYaml(options.kubeconfig);
    this.loop = new ResyncLoop(() => this.reconcile(), options.resyncIntervalMs ?? 10_000, options.log, 'process-kubelet');
    this.slot = claimSlot();
    this.nodeName = options.nodeName ?? `sandbox-node-${this.slot.slot}`;
    const config = new KubeConfig();
    config.loadFromString(options.kubeconfig);
    this.node = new NodeRegistration(config, {
      nodeName: this.nodeName,
      nodeIP: options.nodeIP ?? '127.0.0.1',
      instanceId: this.instanceId,
      // This host runs every pod of the seed: the Node reports enough that the scheduler's
      // resource check is never what stops a sandbox.
      capacity: { cpu: '256', memory: '1Ti', pods: '2000', 'ephemeral-storage': '2Ti' },
      onError: (error) => this.loop.recordError(error),
    });
    this.podAddresses = AddressPool.forPods(this.slot.slot);
    this.serviceAddresses = AddressPool.forServices(this.slot.slot);
    this.balancerAddresses = AddressPool.forLoadBalancers(this.slot.slot);
    this.hosts = new HostsFile(options.hostsFile ?? '/etc/hosts', this.instanceId);
    this.images = new ImageResolver({ binaries: options.binaries, kubeBinDir: options.kubeBinDir, repositoryRoot: repositoryRoot() });
    mkdirSync(join(options.stateDir, 'pods'), { recursive: true });
    mkdirSync(join(options.stateDir, 'volumes'), { recursive: true });
    this.podHost = {
      secret: (namespace, name) => this.snapshot?.secrets.get(key(namespace, name)),
      configMap: (namespace, name) => this.snapshot?.configMaps.get(key(namespace, name)),
      claimDirectory: (namespace, claimName) => this.claimDirectory(namespace, claimName),
      images: this.images,
      backoff: { initialMs: options.backoff?.initialMs ?? 10_000, maxMs: options.backoff?.maxMs ?? 300_000 },
      maxTerminationGraceMs: options.maxTerminationGraceMs ?? 30_000,
      nodeName: this.nodeName,
      nodeIP: options.nodeIP ?? '127.0.0.1',
      onChange: () => this.loop.trigger(),
      onProcessStarted: (pid) => this.slot.recordProcessGroup(pid),
    };
  }

  async start(): Promise<void> {
    await this.node.register();
    this.stopWatch = this.seed.watch(this.options.namespaces ?? 'all', () => this.loop.trigger());
    this.loop.startPeriodic();
  }

  resync(): Promise<void> {
    return this.loop.resync();
  }

  private namespacesToList(): Array<string | undefined> {
    const scope = this.options.namespaces ?? 'all';
    return scope === 'all' ? [undefined] : scope;
  }

  private async listAll<K extends SeedKind>(kind: K): Promise<Array<SeedObjects[K]>> {
    const results = await Promise.all(
      this.namespacesToList().map(async (namespace) => {
        try {
          return await this.seed.list(kind, namespace);
        } catch (error) {
          // A namespace that does not exist (yet, or any more) simply has nothing to run.
          if (statusOf(error) === 404) return [];
          throw error;
        }
      }),
    );
    return results.flat();
  }

  private async takeSnapshot(): Promise<Snapshot> {
    const [pods, services, secrets, configMaps, claims] = await Promise.all([
      this.listAll('Pod'),
      this.listAll('Service'),
      this.listAll('Secret'),
      this.listAll('ConfigMap'),
      this.listAll('PersistentVolumeClaim'),
    ]);
    return {
      pods,
      services,
      secrets: new Map(secrets.map((secret) => [key(secret.metadata?.namespace, secret.metadata?.name), secret])),
      configMaps: new Map(configMaps.map((configMap) => [key(configMap.metadata?.namespace, configMap.metadata?.name), configMap])),
      claims,
    };
  }

  private async reconcile(): Promise<void> {
    const snapshot = await this.takeSnapshot();
    this.snapshot = snapshot;
    // Housekeeping of other kubelets' leftovers: never a reason to hold back this node's pods.
    await this.node.reapDeadPeers().catch((error: unknown) => this.loop.recordError(error));
    await this.reapDeletedPods(snapshot);
    await this.admitBoundPods(snapshot);
    this.removeDeletedClaimDirectories(snapshot);
    // Names first, processes second: a new etcd member resolves its peers on start-up.
    await this.reconcileServices(snapshot);
    for (const pod of this.managed.values()) pod.local.sync();
    await this.writePodStatuses();
  }

  /** Pods deleted through the API (kubectl delete pod, a controller scaling down) stop here, as a kubelet would. */
  private async reapDeletedPods(snapshot: Snapshot): Promise<void> {
    const present = new Map(snapshot.pods.map((pod) => [key(pod.metadata?.namespace, pod.metadata?.name), pod]));
    for (const [podKey, managed] of [...this.managed]) {
      const seen = present.get(podKey);
      const sameObject = seen !== undefined && seen.metadata?.uid === managed.local.object.metadata?.uid;
      if (sameObject && !seen.metadata?.deletionTimestamp) continue;
      await this.terminate(podKey, managed, sameObject ? seen : undefined);
    }
  }

  /**
   * Starts the pods the scheduler bound to this node. One that shows it was started
   * (status.startTime) but does not run in this process was started by an earlier process of
   * this Node, now gone (registration refuses a live one): its Pod object lies about running, so
   * it goes and its controller replaces it.
   */
  private async admitBoundPods(snapshot: Snapshot): Promise<void> {
    for (const pod of snapshot.pods) {
      const podKey = key(pod.metadata?.namespace, pod.metadata?.name);
      if (pod.spec?.nodeName !== this.nodeName || this.managed.has(podKey)) continue;
      const namespace = pod.metadata?.namespace ?? 'default';
      const name = pod.metadata?.name ?? '';
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      // Nothing of it runs (any more): finish the deletion, as the kubelet's status manager does.
      if (pod.metadata?.deletionTimestamp || pod.status?.startTime) {
        await this.seed.delete('Pod', namespace, name);
        continue;
      }
      this.launch(pod);
    }
  }

  private launch(pod: V1Pod): void {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const workload = workloadOf(pod);
    // A StatefulSet member keeps its address across re-creation, like its name.
    const member = workload.ordinal !== undefined && pod.metadata?.labels?.[STS_POD_NAME] === name;
    const addressKey = member ? `sts:${key(namespace, workload.ownerName)}/${workload.ordinal}` : `pod:${key(namespace, name)}`;
    const ip = this.podAddresses.allocate(addressKey);
    const podDir = join(this.options.stateDir, 'pods', `${namespace}_${name}_${pod.metadata?.uid ?? 'uid'}`);
    const local = new LocalPod(pod, ip, podDir, this.podHost);
    this.managed.set(key(namespace, name), { local, ...workload, ordinal: member ? workload.ordinal : undefined, addressKey, lastStatus: '' });
  }

  private async terminate(podKey: string, managed: ManagedPod, live: V1Pod | undefined): Promise<void> {
    // Listed (as terminating) until its processes have exited and its object is gone, like a pod in Terminating.
    const grace = live?.metadata?.deletionGracePeriodSeconds;
    await managed.local.stop(grace === undefined ? undefined : grace * 1000);
    managed.local.removeScratch();
    // StatefulSet members keep their address for the replacement pod of the same ordinal.
    if (managed.ordinal === undefined) this.podAddresses.release(managed.addressKey);
    try {
      if (live) await this.seed.delete('Pod', managed.local.namespace, managed.local.name);
    } finally {
      if (this.managed.get(podKey) === managed) this.managed.delete(podKey);
    }
  }

  private claimPath(claim: V1PersistentVolumeClaim): string {
    return join(this.options.stateDir, 'volumes', `${claim.metadata?.namespace}_${claim.metadata?.name}_${claim.metadata?.uid}`);
  }

  private claimDirectory(namespace: string, claimName: string): string | undefined {
    const claim = this.snapshot?.claims.find((candidate) => candidate.metadata?.namespace === namespace && candidate.metadata?.name === claimName);
    if (!claim) return undefined;
    const path = this.claimPath(claim);
    mkdirSync(path, { recursive: true });
    return path;
  }

  /** A deleted PVC takes its data with it (reclaim policy Delete). */
  private removeDeletedClaimDirectories(snapshot: Snapshot): void {
    const live = new Set(snapshot.claims.map((claim) => this.claimPath(claim)));
    const root = join(this.options.stateDir, 'volumes');
    const inUse = new Set<string>();
    for (const pod of this.managed.values()) {
      for (const volume of pod.local.object.spec?.volumes ?? []) {
        if (volume.persistentVolumeClaim) inUse.add(`${pod.local.namespace}_${volume.persistentVolumeClaim.claimName}_`);
      }
    }
    for (const entry of readdirSync(root)) {
      const path = join(root, entry);
      if (live.has(path)) continue;
      if ([...inUse].some((prefix) => entry.startsWith(prefix))) continue;
      rmSync(path, { recursive: true, force: true });
    }
  }

  private async writePodStatuses(): Promise<void> {
    for (const [podKey, managed] of this.managed) {
      const status = managed.local.status();
      const serialized = stableJson(status);
      if (serialized === managed.lastStatus) continue;
      try {
        const updated = await this.writeStatusWithRetry('Pod', managed.local.object, (latest) => ({ ...latest, status }));
        if (updated && this.managed.get(podKey) === managed) {
          managed.local.object = updated;
          managed.lastStatus = serialized;
        }
      } catch (error) {
        this.loop.recordError(error);
      }
    }
  }

  private async writeStatusWithRetry<K extends 'Pod' | 'Service'>(
    kind: K,
    object: SeedObjects[K],
    withStatus: (latest: SeedObjects[K]) => SeedObjects[K],
  ): Promise<SeedObjects[K] | undefined> {
    try {
      return await this.seed.replaceStatus(kind, withStatus(object));
    } catch (error) {
      const code = statusOf(error);
      if (code === 404) return undefined;
      if (code !== 409) throw error;
      const latest = await this.seed.get(kind, object.metadata?.namespace ?? 'default', object.metadata?.name ?? '');
      if (!latest) return undefined;
      return this.seed.replaceStatus(kind, withStatus(latest));
    }
  }

  private async reconcileServices(snapshot: Snapshot): Promise<void> {
    const listeners = new Map<string, { host: string; port: number; backends: Backend[] }>();
    const hostsEntries: HostsEntry[] = [];
    const readyPods = [...this.managed.values()].filter((pod) => !pod.local.isTerminating);
    for (const service of snapshot.services) {
      const namespace = service.metadata?.namespace ?? 'default';
      const name = service.metadata?.name ?? '';
      const serviceKey = key(namespace, name);
      const selector = service.spec?.selector;
      const selected = selector
        ? readyPods.filter((pod) => pod.local.namespace === namespace && Object.entries(selector).every(([label, value]) => pod.local.labels[label] === value))
        : [];
      const headless = service.spec?.clusterIP === 'None';
      const names = [`${name}.${namespace}.svc.cluster.local`, `${name}.${namespace}.svc`, `${name}.${namespace}`];
      if (headless) {
        const publishNotReady = service.spec?.publishNotReadyAddresses === true;
        for (const pod of readyPods) {
          const spec = pod.local.object.spec;
          if (pod.local.namespace !== namespace || spec?.subdomain !== name || !spec.hostname) continue;
          if (!pod.local.ready && !publishNotReady) continue;
          hostsEntries.push({ ip: pod.local.ip, names: names.map((suffix) => `${spec.hostname}.${suffix}`) });
        }
        continue;
      }
      if (!selector || service.spec?.type === 'ExternalName') continue;
      const serviceIP = this.serviceAddresses.allocate(`svc:${serviceKey}`);
      hostsEntries.push({ ip: serviceIP, names });
      const type = service.spec?.type ?? 'ClusterIP';
      const balancerIP = type === 'LoadBalancer' ? this.balancerAddresses.allocate(`lb:${serviceKey}`) : undefined;
      for (const port of service.spec?.ports ?? []) {
        if ((port.protocol ?? 'TCP') !== 'TCP') continue;
        const backends = selected
          .filter((pod) => pod.local.ready)
          .flatMap((pod) => {
            const target = resolvePort(
              port.targetPort ?? port.port,
              (pod.local.object.spec?.containers ?? []).flatMap((container) => container.ports ?? []),
            );
            return target === undefined ? [] : [{ ip: pod.local.ip, port: target }];
          });
        const portKey = `${serviceKey}/${port.name ?? port.port}`;
        listeners.set(`cluster:${portKey}`, { host: serviceIP, port: port.port, backends });
        if ((type === 'NodePort' || type === 'LoadBalancer') && port.nodePort) {
          listeners.set(`node:${portKey}`, { host: '127.0.0.1', port: port.nodePort, backends });
          const nodeIP = this.podHost.nodeIP;
          if (nodeIP !== '127.0.0.1') listeners.set(`node-ip:${portKey}`, { host: nodeIP, port: port.nodePort, backends });
        }
        if (balancerIP) listeners.set(`lb:${portKey}`, { host: balancerIP, port: port.port, backends });
      }
      if (balancerIP && service.status?.loadBalancer?.ingress?.[0]?.ip !== balancerIP) {
        try {
          await this.writeStatusWithRetry('Service', service, (latest) => ({
            ...latest,
            status: { ...(latest.status ?? {}), loadBalancer: { ingress: [{ ip: balancerIP, ipMode: 'VIP' }] } },
          }));
        } catch (error) {
          this.loop.recordError(error);
        }
      }
    }
    await this.proxy.sync(listeners);
    for (const [listenerKey, failure] of this.proxy.listenerFailures()) this.loop.recordError(new Error(`listener ${listenerKey}: ${failure}`));
    this.currentHosts = hostsEntries;
    try {
      await this.hosts.write(hostsEntries);
    } catch (error) {
      // Without names the pods still run; the error shows up in recentErrors().
      this.loop.recordError(error);
    }
  }

  pods(): RunningPod[] {
    return [...this.managed.values()].map((pod) =>
      describePod(pod.local, { ownerKind: pod.ownerKind, ownerName: pod.ownerName, revision: pod.revision, ordinal: pod.ordinal }),
    );
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
    return this.serviceAddresses.lookup(`svc:${key(namespace, service)}`);
  }

  hostsEntries(): HostsEntry[] {
    return this.currentHosts.map((entry) => ({ ip: entry.ip, names: [...entry.names] }));
  }

  recentErrors(): string[] {
    return this.loop.recentErrors();
  }

  async stop(): Promise<void> {
    if (this.loop.isStopped) return;
    this.stopWatch?.();
    await this.loop.stop();
    const pods = [...this.managed.entries()];
    this.managed.clear();
    await Promise.all(
      pods.map(async ([, managed]) => {
        await managed.local.stop();
        managed.local.removeScratch();
        // The processes are gone, so the Pod objects would only lie about running replicas.
        await this.seed.delete('Pod', managed.local.namespace, managed.local.name).catch(() => undefined);
      }),
    );
    await this.node.stop(true);
    await this.proxy.close();
    await this.hosts.remove();
    this.slot.release();
  }
}

export async function startProcessKubelet(options: ProcessKubeletOptions): Promise<ProcessKubelet> {
  if (options.controllers === false) return startNodeAgent(options);
  const kubelet = new Kubelet(options);
  try {
    await kubelet.start();
  } catch (error) {
    await kubelet.stop();
    throw error;
  }
  await kubelet.resync();
  return kubelet;
}
