import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type {
  V1ConfigMap,
  V1Deployment,
  V1DeploymentCondition,
  V1EndpointSubset,
  V1Endpoints,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ReplicaSet,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V1Volume,
} from '@kubernetes/client-node';
import { AddressPool, claimSlot, type SlotClaim } from './addresses.js';
import type { BackoffSettings } from './container.js';
import { HostsFile, type HostsEntry } from './hosts-file.js';
import { randomSuffix, stableJson, templateHash } from './hashing.js';
import { ImageResolver, type BinaryOverrides } from './images.js';
import { LocalPod, type PodHost } from './pod.js';
import { startNodeAgent } from './node-agent.js';
import { resolvePort } from './probes.js';
import { ServiceProxy, type Backend } from './proxy.js';
import { KubernetesSeedClient, statusOf, type SeedClient, type SeedKind, type SeedObjects } from './seed-client.js';

export const INSTANCE_ANNOTATION = 'sandbox.harbormaster.dev/process-kubelet';

export interface ProcessKubeletOptions {
  /** Admin kubeconfig of the seed, as YAML text. */
  kubeconfig: string;
  /** Pod directories, logs and persistent volumes live here. */
  stateDir: string;
  /** Namespaces to run workloads from; 'all' (default) watches the whole cluster. */
  namespaces?: string[] | 'all';
  /** Overrides of image basename → executable. */
  binaries?: BinaryOverrides;
  kubeBinDir?: string;
  nodeName?: string;
  /** Additional address NodePorts listen on besides 127.0.0.1. */
  nodeIP?: string;
  backoff?: Partial<BackoffSettings>;
  /** Upper bound on terminationGracePeriodSeconds, so tests do not wait 30 s for a stuck process. */
  maxTerminationGraceMs?: number;
  /**
   * The safety-net pass (default 10 s). Passes are driven by the seed watch and by the local
   * processes' own changes (exit, probe result); a pass lists nine kinds across the whole seed,
   * so running one every second was most of the test suite's own CPU. The real kubelet's
   * periodic sync is a minute.
   */
  resyncIntervalMs?: number;
  hostsFile?: string;
  /** Maintain Endpoints objects (a real cluster's endpoints controller would already do it). */
  manageEndpoints?: boolean;
  /**
   * false: node-agent mode (node-agent.ts) for a seed with its own kube-controller-manager and
   * kube-scheduler: no Deployment, ReplicaSet, StatefulSet or Endpoints work, only a Node with a
   * Lease, the Pods bound to it, Service forwarding from EndpointSlices and names. Default true.
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
  ownerKind: string;
  ownerName: string;
  ordinal: number | undefined;
  revision: string;
  containers: RunningContainer[];
}

export interface ProcessKubelet {
  readonly instanceId: string;
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

interface Owner {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  uid: string;
}

interface ManagedPod {
  local: LocalPod;
  owner: Owner;
  revision: string;
  ordinal: number | undefined;
  addressKey: string;
  lastStatus: string;
  /**
   * Readiness as last written to the Pod's status. Workload statuses count this, not the live
   * probe: a controller derives readyReplicas from Pods in the API, so a Deployment must never
   * read ready before its Pods do.
   */
  publishedReady: boolean;
}

interface Snapshot {
  deployments: V1Deployment[];
  replicaSets: V1ReplicaSet[];
  statefulSets: V1StatefulSet[];
  pods: V1Pod[];
  services: V1Service[];
  endpoints: V1Endpoints[];
  secrets: Map<string, V1Secret>;
  configMaps: Map<string, V1ConfigMap>;
  claims: V1PersistentVolumeClaim[];
}

const POD_TEMPLATE_HASH = 'pod-template-hash';
const STS_POD_NAME = 'statefulset.kubernetes.io/pod-name';
const STS_POD_INDEX = 'apps.kubernetes.io/pod-index';
const STS_REVISION = 'controller-revision-hash';

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

function repositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(directory, 'package.json')) && existsSync(join(directory, 'services'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) return process.cwd();
    directory = parent;
  }
}

class Kubelet implements ProcessKubelet {
  readonly instanceId = `${process.pid}-${randomBytes(4).toString('hex')}`;
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
  private readonly errors: string[] = [];
  private snapshot: Snapshot | undefined;
  private currentHosts: HostsEntry[] = [];
  private running: Promise<void> | undefined;
  private rerunRequested = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;
  private readonly lastWorkloadStatus = new Map<string, string>();
  private readonly lastEndpoints = new Map<string, string>();

  constructor(private readonly options: ProcessKubeletOptions) {
    this.seed = options.seedClient ?? KubernetesSeedClient.fromYaml(options.kubeconfig);
    this.slot = claimSlot();
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
      nodeName: options.nodeName ?? 'sandbox-node',
      nodeIP: options.nodeIP ?? '127.0.0.1',
      onChange: () => this.trigger(),
      onProcessStarted: (pid) => this.slot.recordProcessGroup(pid),
    };
  }

  start(): void {
    this.stopWatch = this.seed.watch(this.options.namespaces ?? 'all', () => this.trigger());
    this.schedulePeriodic();
  }

  private schedulePeriodic(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.resync().finally(() => this.schedulePeriodic());
    }, this.options.resyncIntervalMs ?? 10_000);
  }

  private trigger(): void {
    if (this.stopped) return;
    void this.resync();
  }

  resync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      // Coalesce bursts of watch events into one extra pass after the current one.
      this.rerunRequested = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.rerunRequested = false;
        try {
          await this.reconcile();
        } catch (error) {
          this.recordError(error);
        }
      } while (this.rerunRequested && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private recordError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.errors.push(`${new Date().toISOString()} ${message}`);
    if (this.errors.length > 50) this.errors.shift();
    this.options.log?.(`process-kubelet: ${message}`);
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
    const [deployments, replicaSets, statefulSets, pods, services, endpoints, secrets, configMaps, claims] = await Promise.all([
      this.listAll('Deployment'),
      this.listAll('ReplicaSet'),
      this.listAll('StatefulSet'),
      this.listAll('Pod'),
      this.listAll('Service'),
      this.options.manageEndpoints === false ? Promise.resolve([]) : this.listAll('Endpoints'),
      this.listAll('Secret'),
      this.listAll('ConfigMap'),
      this.listAll('PersistentVolumeClaim'),
    ]);
    return {
      deployments,
      replicaSets,
      statefulSets,
      pods,
      services,
      endpoints,
      secrets: new Map(secrets.map((secret) => [key(secret.metadata?.namespace, secret.metadata?.name), secret])),
      configMaps: new Map(configMaps.map((configMap) => [key(configMap.metadata?.namespace, configMap.metadata?.name), configMap])),
      claims,
    };
  }

  private async reconcile(): Promise<void> {
    const snapshot = await this.takeSnapshot();
    this.snapshot = snapshot;
    await this.reapExternallyDeletedPods(snapshot);
    await this.collectOrphans(snapshot);
    for (const deployment of snapshot.deployments) {
      try {
        await this.reconcileDeployment(deployment, snapshot);
      } catch (error) {
        this.recordError(error);
      }
    }
    for (const statefulSet of snapshot.statefulSets) {
      try {
        await this.reconcileStatefulSet(statefulSet, snapshot);
      } catch (error) {
        this.recordError(error);
      }
    }
    await this.syncReplicaSets(snapshot);
    this.removeDeletedClaimDirectories(snapshot);
    // Names first, processes second: a new etcd member resolves its peers on start-up.
    await this.reconcileServices(snapshot);
    for (const pod of this.managed.values()) pod.local.sync();
    await this.writePodStatuses();
    await this.writeWorkloadStatuses(snapshot);
  }

  /** Pods deleted through the API (kubectl delete pod) stop here, as a kubelet would. */
  private async reapExternallyDeletedPods(snapshot: Snapshot): Promise<void> {
    const present = new Map(snapshot.pods.map((pod) => [key(pod.metadata?.namespace, pod.metadata?.name), pod]));
    for (const [podKey, managed] of [...this.managed]) {
      const seen = present.get(podKey);
      const sameObject = seen && seen.metadata?.uid === managed.local.object.metadata?.uid;
      if (sameObject && !seen.metadata?.deletionTimestamp) continue;
      await this.terminate(podKey, managed, sameObject === true);
    }
  }

  /** Pods whose Deployment or StatefulSet is gone, and leftovers of this kubelet in the seed. */
  private async collectOrphans(snapshot: Snapshot): Promise<void> {
    const owners = new Set<string>([
      ...snapshot.deployments.map((object) => object.metadata?.uid ?? ''),
      ...snapshot.statefulSets.map((object) => object.metadata?.uid ?? ''),
    ]);
    for (const [podKey, managed] of [...this.managed]) {
      if (!owners.has(managed.owner.uid)) await this.terminate(podKey, managed, true);
    }
    for (const pod of snapshot.pods) {
      const podKey = key(pod.metadata?.namespace, pod.metadata?.name);
      const creator = pod.metadata?.annotations?.[INSTANCE_ANNOTATION];
      if (!creator || this.managed.has(podKey)) continue;
      // Ours but not running, or left on this node by a kubelet process that no longer exists
      // (a restarted sandbox): the Pod object lies, so it goes and its controller replaces it.
      const abandoned = creator !== this.instanceId && pod.spec?.nodeName === this.podHost.nodeName && !instanceAlive(creator);
      if (creator === this.instanceId || abandoned) {
        await this.seed.delete('Pod', pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '');
      }
    }
  }

  private async terminate(podKey: string, managed: ManagedPod, deleteObject: boolean): Promise<void> {
    // Listed (as terminating) until its processes have exited, like a pod in Terminating.
    await managed.local.stop();
    if (this.managed.get(podKey) === managed) this.managed.delete(podKey);
    managed.local.removeScratch();
    // StatefulSet members keep their address for the replacement pod of the same ordinal.
    if (managed.ordinal === undefined) this.podAddresses.release(managed.addressKey);
    if (deleteObject) await this.seed.delete('Pod', managed.local.namespace, managed.local.name);
  }

  private podsOf(owner: { metadata?: { uid?: string } }): ManagedPod[] {
    return [...this.managed.values()].filter((pod) => pod.owner.uid === owner.metadata?.uid && !pod.local.isTerminating);
  }

  private async reconcileDeployment(deployment: V1Deployment, snapshot: Snapshot): Promise<void> {
    const metadata = deployment.metadata ?? {};
    const template = deployment.spec?.template;
    if (!template || !metadata.uid || deployment.spec?.paused) return;
    const desired = deployment.spec?.replicas ?? 1;
    const hash = templateHash(template);
    const pods = this.podsOf(deployment);
    const current = pods.filter((pod) => pod.revision === hash);
    const old = pods.filter((pod) => pod.revision !== hash);
    const owner: Owner = { kind: 'Deployment', name: metadata.name ?? '', uid: metadata.uid };
    const recreate = deployment.spec?.strategy?.type === 'Recreate';

    if (recreate && old.length > 0) {
      for (const pod of old) await this.terminate(key(pod.local.namespace, pod.local.name), pod, true);
      return;
    }
    // Scale down the current revision, not-ready pods first, newest first.
    if (current.length > desired) {
      const victims = [...current].sort((a, b) => Number(a.local.ready) - Number(b.local.ready)).slice(0, current.length - desired);
      for (const pod of victims) await this.terminate(key(pod.local.namespace, pod.local.name), pod, true);
      return;
    }
    // maxSurge 1 while old pods exist (rolling update), otherwise create everything missing.
    const ceiling = old.length > 0 ? desired + 1 : desired;
    let total = pods.length;
    for (let count = current.length; count < desired && total < ceiling; count++, total++) {
      await this.createDeploymentPod(deployment, hash, owner, await this.ensureReplicaSet(deployment, hash, snapshot));
    }
    // maxUnavailable 0: an old pod goes only while the ready count stays at the desired count.
    let ready = pods.filter((pod) => pod.local.ready).length;
    for (const pod of [...old].sort((a, b) => Number(a.local.ready) - Number(b.local.ready))) {
      if (!pod.local.ready) {
        await this.terminate(key(pod.local.namespace, pod.local.name), pod, true);
        continue;
      }
      if (ready - 1 < desired) break;
      ready--;
      await this.terminate(key(pod.local.namespace, pod.local.name), pod, true);
    }
  }

  /** Keeps at most revisionHistoryLimit (default 10) scaled-down old ReplicaSets. */
  private async pruneReplicaSetHistory(snapshot: Snapshot): Promise<void> {
    for (const deployment of snapshot.deployments) {
      const limit = deployment.spec?.revisionHistoryLimit ?? 10;
      const current = deployment.spec?.template ? `${deployment.metadata?.name}-${templateHash(deployment.spec.template)}` : '';
      const revision = (replicaSet: V1ReplicaSet): number =>
        Number.parseInt(replicaSet.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '0', 10);
      const history = snapshot.replicaSets
        .filter((replicaSet) => isControlledBy(replicaSet, deployment.metadata?.uid) && replicaSet.metadata?.name !== current)
        .filter((replicaSet) => !this.podsOf(deployment).some((pod) => pod.revision === replicaSet.metadata?.labels?.[POD_TEMPLATE_HASH]))
        .sort((a, b) => revision(b) - revision(a));
      for (const replicaSet of history.slice(limit)) {
        await this.seed.delete('ReplicaSet', replicaSet.metadata?.namespace ?? 'default', replicaSet.metadata?.name ?? '');
        snapshot.replicaSets = snapshot.replicaSets.filter((candidate) => candidate !== replicaSet);
      }
    }
  }

  private async createDeploymentPod(deployment: V1Deployment, hash: string, owner: Owner, replicaSet: V1ReplicaSet): Promise<void> {
    const metadata = deployment.metadata ?? {};
    const template = deployment.spec?.template ?? {};
    const name = `${replicaSet.metadata?.name}-${randomSuffix()}`;
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
        annotations: { ...(template.metadata?.annotations ?? {}), [INSTANCE_ANNOTATION]: this.instanceId },
        ownerReferences: [
          ownerReference('apps/v1', { kind: 'ReplicaSet', name: replicaSet.metadata?.name ?? '', uid: replicaSet.metadata?.uid ?? '' }),
        ],
      },
      spec: { ...(template.spec ?? { containers: [] }), nodeName: this.podHost.nodeName },
    };
    await this.launch(pod, owner, hash, undefined, `pod:${key(metadata.namespace, name)}`);
  }

  /** The ReplicaSet `<deployment>-<pod-template-hash>` that owns the pods of one revision. */
  private async ensureReplicaSet(deployment: V1Deployment, hash: string, snapshot: Snapshot): Promise<V1ReplicaSet> {
    const metadata = deployment.metadata ?? {};
    const name = `${metadata.name}-${hash}`;
    const existing = snapshot.replicaSets.find(
      (replicaSet) => replicaSet.metadata?.namespace === metadata.namespace && replicaSet.metadata?.name === name,
    );
    if (existing) {
      const controller = existing.metadata?.ownerReferences?.find((reference) => reference.controller);
      if (controller?.uid !== metadata.uid) throw new Error(`ReplicaSet ${metadata.namespace}/${name} is not controlled by Deployment ${metadata.name}`);
      return existing;
    }
    const template = deployment.spec?.template ?? {};
    const revision =
      Math.max(
        0,
        ...snapshot.replicaSets
          .filter((replicaSet) => isControlledBy(replicaSet, metadata.uid))
          .map((replicaSet) => Number.parseInt(replicaSet.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '0', 10)),
      ) + 1;
    const replicaSet: V1ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
        annotations: { 'deployment.kubernetes.io/revision': String(revision) },
        ownerReferences: [ownerReference('apps/v1', { kind: 'Deployment', name: metadata.name ?? '', uid: metadata.uid ?? '' })],
      },
      spec: {
        replicas: 0,
        selector: {
          matchLabels: { ...(deployment.spec?.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash },
          ...(deployment.spec?.selector?.matchExpressions ? { matchExpressions: deployment.spec.selector.matchExpressions } : {}),
        },
        template: { ...template, metadata: { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash } } },
      },
    };
    const created = await this.seed.create('ReplicaSet', replicaSet);
    snapshot.replicaSets.push(created);
    return created;
  }

  /** ReplicaSet replicas and status follow the pods of their revision; orphans are removed. */
  private async syncReplicaSets(snapshot: Snapshot): Promise<void> {
    const deployments = new Map(snapshot.deployments.map((deployment) => [deployment.metadata?.uid ?? '', deployment]));
    await this.pruneReplicaSetHistory(snapshot);
    for (const replicaSet of snapshot.replicaSets) {
      const controller = replicaSet.metadata?.ownerReferences?.find((reference) => reference.controller && reference.kind === 'Deployment');
      if (!controller) continue;
      const deployment = deployments.get(controller.uid);
      if (!deployment) {
        // Garbage collection of ReplicaSets whose Deployment is gone.
        await this.seed.delete('ReplicaSet', replicaSet.metadata?.namespace ?? 'default', replicaSet.metadata?.name ?? '');
        continue;
      }
      const hash = replicaSet.metadata?.labels?.[POD_TEMPLATE_HASH];
      const pods = this.podsOf(deployment).filter((pod) => pod.revision === hash);
      const ready = pods.filter((pod) => pod.publishedReady).length;
      try {
        let current = replicaSet;
        if ((current.spec?.replicas ?? 1) !== pods.length && current.spec) {
          current = await this.seed.replace('ReplicaSet', { ...current, spec: { ...current.spec, replicas: pods.length } });
        }
        const status = {
          replicas: pods.length,
          readyReplicas: ready,
          availableReplicas: ready,
          fullyLabeledReplicas: pods.length,
          observedGeneration: current.metadata?.generation,
        };
        if (stableJson(current.status ?? {}) !== stableJson(status)) {
          await this.writeStatusWithRetry('ReplicaSet', current, (latest) => ({ ...latest, status }));
        }
      } catch (error) {
        if (statusOf(error) !== 409) this.recordError(error);
      }
    }
  }

  private async launch(pod: V1Pod, owner: Owner, revision: string, ordinal: number | undefined, addressKey: string): Promise<void> {
    const created = await this.seed.create('Pod', pod);
    const namespace = created.metadata?.namespace ?? 'default';
    const name = created.metadata?.name ?? '';
    const ip = this.podAddresses.allocate(addressKey);
    const podDir = join(this.options.stateDir, 'pods', `${namespace}_${name}_${created.metadata?.uid ?? 'uid'}`);
    const local = new LocalPod(created, ip, podDir, this.podHost);
    this.managed.set(key(namespace, name), { local, owner, revision, ordinal, addressKey, lastStatus: '', publishedReady: false });
  }

  private async reconcileStatefulSet(statefulSet: V1StatefulSet, snapshot: Snapshot): Promise<void> {
    const metadata = statefulSet.metadata ?? {};
    const spec = statefulSet.spec;
    if (!spec || !metadata.uid) return;
    const desired = spec.replicas ?? 1;
    const revision = `${metadata.name}-${templateHash(spec.template)}`;
    const parallel = spec.podManagementPolicy === 'Parallel';
    const owner: Owner = { kind: 'StatefulSet', name: metadata.name ?? '', uid: metadata.uid };
    const byOrdinal = new Map<number, ManagedPod>();
    for (const pod of this.podsOf(statefulSet)) if (pod.ordinal !== undefined) byOrdinal.set(pod.ordinal, pod);

    for (let ordinal = 0; ordinal < desired; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (!pod) {
        const created = await this.createStatefulSetPod(statefulSet, ordinal, revision, owner, snapshot);
        if (!parallel || !created) return;
        continue;
      }
      // OrderedReady: the next ordinal starts only once this one is Running and Ready.
      if (!parallel && !pod.local.ready) return;
    }
    const excess = [...byOrdinal.keys()].filter((ordinal) => ordinal >= desired).sort((a, b) => b - a);
    if (excess.length > 0) {
      // Scale down one at a time from the highest ordinal (all at once when Parallel).
      for (const ordinal of parallel ? excess : excess.slice(0, 1)) {
        const pod = byOrdinal.get(ordinal);
        if (pod) await this.terminate(key(pod.local.namespace, pod.local.name), pod, true);
      }
      return;
    }
    if ((spec.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
    const partition = spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    const members = [...byOrdinal.values()];
    if (!members.every((pod) => pod.local.ready)) return;
    // Rolling update from the highest ordinal down, one member at a time, each only after
    // the whole set is ready again.
    const outdated = members
      .filter((pod) => pod.revision !== revision && (pod.ordinal ?? 0) >= partition)
      .sort((a, b) => (b.ordinal ?? 0) - (a.ordinal ?? 0));
    const next = outdated[0];
    if (next) await this.terminate(key(next.local.namespace, next.local.name), next, true);
  }

  private async createStatefulSetPod(
    statefulSet: V1StatefulSet,
    ordinal: number,
    revision: string,
    owner: Owner,
    snapshot: Snapshot,
  ): Promise<boolean> {
    const metadata = statefulSet.metadata ?? {};
    const spec = statefulSet.spec;
    const namespace = metadata.namespace ?? 'default';
    const name = `${metadata.name}-${ordinal}`;
    const existing = snapshot.pods.find((pod) => pod.metadata?.namespace === namespace && pod.metadata?.name === name);
    if (existing) {
      // A pod of that name from someone else, or still being deleted: it has to go first.
      if (!existing.metadata?.deletionTimestamp) await this.seed.delete('Pod', namespace, name);
      return false;
    }
    const claimVolumes: V1Volume[] = [];
    for (const claimTemplate of spec?.volumeClaimTemplates ?? []) {
      const templateName = claimTemplate.metadata?.name ?? '';
      const claimName = `${templateName}-${metadata.name}-${ordinal}`;
      await this.ensureClaim(statefulSet, claimTemplate, claimName, snapshot);
      claimVolumes.push({ name: templateName, persistentVolumeClaim: { claimName } });
    }
    const template = spec?.template ?? {};
    const claimNames = new Set(claimVolumes.map((volume) => volume.name));
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        labels: {
          ...(template.metadata?.labels ?? {}),
          [STS_REVISION]: revision,
          [STS_POD_NAME]: name,
          [STS_POD_INDEX]: String(ordinal),
        },
        annotations: { ...(template.metadata?.annotations ?? {}), [INSTANCE_ANNOTATION]: this.instanceId },
        ownerReferences: [ownerReference('apps/v1', owner)],
      },
      spec: {
        ...(template.spec ?? { containers: [] }),
        volumes: [...(template.spec?.volumes ?? []).filter((volume) => !claimNames.has(volume.name)), ...claimVolumes],
        hostname: name,
        subdomain: spec?.serviceName,
        nodeName: this.podHost.nodeName,
      },
    };
    await this.launch(pod, owner, revision, ordinal, `sts:${key(namespace, metadata.name)}/${ordinal}`);
    return true;
  }

  private async ensureClaim(
    statefulSet: V1StatefulSet,
    claimTemplate: V1PersistentVolumeClaim,
    claimName: string,
    snapshot: Snapshot,
  ): Promise<void> {
    const namespace = statefulSet.metadata?.namespace ?? 'default';
    if (snapshot.claims.some((claim) => claim.metadata?.namespace === namespace && claim.metadata?.name === claimName)) return;
    const claim: V1PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: claimName,
        namespace,
        labels: { ...(claimTemplate.metadata?.labels ?? {}), ...(statefulSet.spec?.selector?.matchLabels ?? {}) },
        annotations: claimTemplate.metadata?.annotations,
      },
      spec: { accessModes: ['ReadWriteOnce'], ...(claimTemplate.spec ?? {}) },
    };
    let created: V1PersistentVolumeClaim;
    try {
      created = await this.seed.create('PersistentVolumeClaim', claim);
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      const found = await this.seed.get('PersistentVolumeClaim', namespace, claimName);
      if (!found) throw error;
      created = found;
    }
    snapshot.claims.push(created);
    mkdirSync(this.claimPath(created), { recursive: true });
    try {
      const capacity = claimTemplate.spec?.resources?.requests ?? {};
      await this.seed.replaceStatus('PersistentVolumeClaim', {
        ...created,
        status: { phase: 'Bound', accessModes: created.spec?.accessModes, capacity },
      });
    } catch (error) {
      this.recordError(error);
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
          managed.publishedReady = status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
        }
      } catch (error) {
        this.recordError(error);
      }
    }
  }

  private async writeStatusWithRetry<K extends 'Pod' | 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'Service'>(
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

  private async writeWorkloadStatuses(snapshot: Snapshot): Promise<void> {
    for (const deployment of snapshot.deployments) {
      const desired = deployment.spec?.replicas ?? 1;
      const hash = deployment.spec?.template ? templateHash(deployment.spec.template) : '';
      const pods = this.podsOf(deployment);
      const ready = pods.filter((pod) => pod.publishedReady).length;
      const updated = pods.filter((pod) => pod.revision === hash).length;
      const available = ready >= desired;
      const complete = updated === desired && pods.length === desired && ready === desired;
      const previous = deployment.status?.conditions ?? [];
      const conditions: V1DeploymentCondition[] = [
        deploymentCondition(previous, 'Available', available, available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
        deploymentCondition(previous, 'Progressing', true, complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
          complete ? `ReplicaSet "${deployment.metadata?.name}-${hash}" has successfully progressed.` : `ReplicaSet "${deployment.metadata?.name}-${hash}" is progressing.`),
      ];
      const status = {
        observedGeneration: deployment.metadata?.generation,
        replicas: pods.length,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: ready,
        unavailableReplicas: Math.max(0, desired - ready),
        conditions,
      };
      await this.writeWorkloadStatus('Deployment', deployment, status, (latest) => ({ ...latest, status }));
    }
    for (const statefulSet of snapshot.statefulSets) {
      const desired = statefulSet.spec?.replicas ?? 1;
      const updateRevision = `${statefulSet.metadata?.name}-${templateHash(statefulSet.spec?.template)}`;
      const pods = this.podsOf(statefulSet);
      const updated = pods.filter((pod) => pod.revision === updateRevision).length;
      const rolledOut = updated === desired && pods.length === desired;
      const currentRevision = rolledOut || !statefulSet.status?.currentRevision ? updateRevision : statefulSet.status.currentRevision;
      const ready = pods.filter((pod) => pod.publishedReady).length;
      const status = {
        observedGeneration: statefulSet.metadata?.generation,
        replicas: pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
        currentReplicas: pods.filter((pod) => pod.revision === currentRevision).length,
        updatedReplicas: updated,
        currentRevision,
        updateRevision,
        collisionCount: 0,
      };
      await this.writeWorkloadStatus('StatefulSet', statefulSet, status, (latest) => ({ ...latest, status }));
    }
  }

  private async writeWorkloadStatus<K extends 'Deployment' | 'StatefulSet'>(
    kind: K,
    object: SeedObjects[K],
    status: object,
    withStatus: (latest: SeedObjects[K]) => SeedObjects[K],
  ): Promise<void> {
    const statusKey = `${kind}/${key(object.metadata?.namespace, object.metadata?.name)}/${object.metadata?.uid}`;
    const serialized = stableJson(status);
    const existing = stableJson(object.status ?? {});
    // Either check alone suffices: a server that normalises status (drops zero values) must
    // not make every pass write again, since each write triggers another watch-driven pass.
    if (this.lastWorkloadStatus.get(statusKey) === serialized || existing === serialized) return;
    try {
      await this.writeStatusWithRetry(kind, object, withStatus);
      this.lastWorkloadStatus.set(statusKey, serialized);
    } catch (error) {
      this.recordError(error);
    }
  }

  private async reconcileServices(snapshot: Snapshot): Promise<void> {
    const listeners = new Map<string, { host: string; port: number; backends: Backend[] }>();
    const hostsEntries: HostsEntry[] = [];
    const liveServiceKeys = new Set<string>();
    const readyPods = [...this.managed.values()].filter((pod) => !pod.local.isTerminating);
    for (const service of snapshot.services) {
      const namespace = service.metadata?.namespace ?? 'default';
      const name = service.metadata?.name ?? '';
      const serviceKey = key(namespace, name);
      liveServiceKeys.add(serviceKey);
      const selector = service.spec?.selector;
      const selected = selector
        ? readyPods.filter((pod) => pod.local.namespace === namespace && Object.entries(selector).every(([label, value]) => pod.local.labels[label] === value))
        : [];
      if (selector && this.options.manageEndpoints !== false) await this.writeEndpoints(service, selected, snapshot);
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
            const target = resolvePort(port.targetPort ?? port.port, (pod.local.object.spec?.containers ?? []).flatMap((container) => container.ports ?? []));
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
          this.recordError(error);
        }
      }
    }
    for (const serviceKey of [...this.lastEndpoints.keys()]) if (!liveServiceKeys.has(serviceKey)) this.lastEndpoints.delete(serviceKey);
    await this.proxy.sync(listeners);
    for (const [listenerKey, failure] of this.proxy.listenerFailures()) this.recordError(new Error(`listener ${listenerKey}: ${failure}`));
    this.currentHosts = hostsEntries;
    try {
      await this.hosts.write(hostsEntries);
    } catch (error) {
      // Without names the pods still run; the error shows up in recentErrors().
      this.recordError(error);
    }
  }

  private async writeEndpoints(service: V1Service, selected: ManagedPod[], snapshot: Snapshot): Promise<void> {
    const namespace = service.metadata?.namespace ?? 'default';
    const name = service.metadata?.name ?? '';
    const address = (pod: ManagedPod): { ip: string; hostname?: string; nodeName: string; targetRef: { kind: string; namespace: string; name: string; uid?: string } } => ({
      ip: pod.local.ip,
      ...(pod.local.object.spec?.subdomain === name && pod.local.object.spec.hostname ? { hostname: pod.local.object.spec.hostname } : {}),
      nodeName: this.podHost.nodeName,
      targetRef: { kind: 'Pod', namespace, name: pod.local.name, uid: pod.local.object.metadata?.uid },
    });
    const sorted = [...selected].sort((a, b) => a.local.name.localeCompare(b.local.name));
    const readyAddresses = sorted.filter((pod) => pod.local.ready || service.spec?.publishNotReadyAddresses === true).map(address);
    const notReadyAddresses = sorted.filter((pod) => !(pod.local.ready || service.spec?.publishNotReadyAddresses === true)).map(address);
    const subsets: V1EndpointSubset[] = [];
    if (readyAddresses.length + notReadyAddresses.length > 0) {
      const containerPorts = sorted[0]?.local.object.spec?.containers.flatMap((container) => container.ports ?? []) ?? [];
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
    const serviceKey = key(namespace, name);
    const serialized = stableJson(subsets);
    const existing = snapshot.endpoints.find((endpoints) => endpoints.metadata?.namespace === namespace && endpoints.metadata?.name === name);
    if (existing && (stableJson(existing.subsets ?? []) === serialized || this.lastEndpoints.get(serviceKey) === serialized)) {
      this.lastEndpoints.set(serviceKey, serialized);
      return;
    }
    try {
      const body: V1Endpoints = {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name, namespace, labels: service.metadata?.labels, resourceVersion: existing?.metadata?.resourceVersion },
        subsets,
      };
      if (existing) await this.seed.replace('Endpoints', body);
      else await this.seed.create('Endpoints', body);
      this.lastEndpoints.set(serviceKey, serialized);
    } catch (error) {
      const code = statusOf(error);
      // Someone else wrote meanwhile: the next pass recomputes from a fresh list.
      if (code !== 409) this.recordError(error);
    }
  }

  pods(): RunningPod[] {
    return [...this.managed.values()].map((pod) => {
      const status = pod.local.status();
      return {
        namespace: pod.local.namespace,
        name: pod.local.name,
        ip: pod.local.ip,
        ready: pod.local.ready,
        terminating: pod.local.isTerminating,
        phase: status.phase ?? 'Pending',
        ownerKind: pod.owner.kind,
        ownerName: pod.owner.name,
        ordinal: pod.ordinal,
        revision: pod.revision,
        containers: (pod.local.object.spec?.containers ?? []).map((container) => {
          const runner = pod.local.runners.get(container.name);
          const containerStatus = status.containerStatuses?.find((candidate) => candidate.name === container.name);
          const state = containerStatus?.state;
          return {
            name: container.name,
            pid: runner?.pid,
            ready: runner?.ready ?? false,
            restartCount: runner?.restartCount ?? 0,
            state: state?.running ? 'running' : state?.waiting ? `waiting:${state.waiting.reason}` : state?.terminated ? `terminated:${state.terminated.reason}` : 'unknown',
            logPath: pod.local.logPath(container.name),
          };
        }),
      };
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
    return this.serviceAddresses.lookup(`svc:${key(namespace, service)}`);
  }

  hostsEntries(): HostsEntry[] {
    return this.currentHosts.map((entry) => ({ ip: entry.ip, names: [...entry.names] }));
  }

  recentErrors(): string[] {
    return [...this.errors];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopWatch?.();
    await this.running?.catch(() => undefined);
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
    await this.proxy.close();
    await this.hosts.remove();
    this.slot.release();
  }
}

/** Instance ids start with the kubelet's pid. */
function instanceAlive(instanceId: string): boolean {
  const pid = Number.parseInt(instanceId.split('-')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(error instanceof Error && 'code' in error && error.code === 'ESRCH');
  }
}

function isControlledBy(object: { metadata?: { ownerReferences?: V1OwnerReference[] } }, uid: string | undefined): boolean {
  return object.metadata?.ownerReferences?.some((reference) => reference.controller && reference.uid === uid) ?? false;
}

function ownerReference(apiVersion: string, owner: { kind: string; name: string; uid: string }): V1OwnerReference {
  return { apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

function deploymentCondition(
  previous: V1DeploymentCondition[],
  type: string,
  value: boolean,
  reason: string,
  message: string,
): V1DeploymentCondition {
  const status = value ? 'True' : 'False';
  const before = previous.find((condition) => condition.type === type);
  const transitioned = !before || before.status !== status;
  const now = new Date();
  return {
    type,
    status,
    reason,
    message,
    lastUpdateTime: before && !transitioned && before.reason === reason ? before.lastUpdateTime : now,
    lastTransitionTime: transitioned ? now : before.lastTransitionTime,
  };
}

export async function startProcessKubelet(options: ProcessKubeletOptions): Promise<ProcessKubelet> {
  if (options.controllers === false) return startNodeAgent(options);
  const kubelet = new Kubelet(options);
  kubelet.start();
  await kubelet.resync();
  return kubelet;
}
