// The Node a process kubelet registers and keeps alive, in both modes: its status (capacity,
// addresses, conditions, node info) and the Lease heartbeat the node lifecycle controller reads.
// The kubelet's instance id goes onto the Node (INSTANCE_ANNOTATION): it says which process runs
// the pods the scheduler binds there, so a second live process can never take the same Node and
// a dead one's Node can be recognised and cleared.
import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { statusOf } from './seed-client.js';

/** On a process kubelet's Node: the instance id (`<pid>-<random>`) of the process that runs its pods. */
export const INSTANCE_ANNOTATION = 'sandbox.harbormaster.dev/process-kubelet';

const LEASE_SECONDS = 40;
const LEASE_RENEW_MS = 5_000;

/** metav1.MicroTime's wire format: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Instance ids start with the kubelet's pid; a process that no longer exists runs nothing. */
export function instanceAlive(instanceId: string): boolean {
  const pid = Number.parseInt(instanceId.split('-')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(error instanceof Error && 'code' in error && error.code === 'ESRCH');
  }
}

export interface NodeRegistrationOptions {
  nodeName: string;
  nodeIP: string;
  instanceId: string;
  /** What the Node reports as capacity (and allocatable). */
  capacity: Record<string, string>;
  onError: (error: unknown) => void;
}

export class NodeRegistration {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private leaseTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private registered = false;

  constructor(
    config: KubeConfig,
    private readonly options: NodeRegistrationOptions,
  ) {
    this.core = config.makeApiClient(CoreV1Api);
    this.coordination = config.makeApiClient(CoordinationV1Api);
  }

  get nodeName(): string {
    return this.options.nodeName;
  }

  /**
   * Registers the Node, or takes over the one a previous process of this name left, and posts
   * Ready. A Node another live process holds is refused: both would run the pods bound to it.
   */
  async register(): Promise<void> {
    const { nodeName, instanceId } = this.options;
    const labels = {
      'kubernetes.io/hostname': nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
    };
    let node: V1Node;
    try {
      node = await this.core.createNode({
        body: { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels, annotations: { [INSTANCE_ANNOTATION]: instanceId } } },
      });
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      const existing = await this.core.readNode({ name: nodeName });
      const holder = existing.metadata?.annotations?.[INSTANCE_ANNOTATION];
      if (holder && holder !== instanceId && instanceAlive(holder)) {
        throw new Error(`Node ${nodeName} belongs to the running process kubelet ${holder}; give this one another nodeName`, { cause: error });
      }
      node = await this.core.patchNode({
        name: nodeName,
        body: [{ op: 'add', path: '/metadata/annotations', value: { ...(existing.metadata?.annotations ?? {}), [INSTANCE_ANNOTATION]: instanceId } }],
      });
    }
    this.registered = true;
    await this.core.replaceNodeStatus({ name: nodeName, body: { ...node, status: this.status() } });
    await this.renewLease();
    this.scheduleLease();
  }

  /** Stops the heartbeat; with `remove`, deletes the Node and its Lease (the machine is gone). */
  async stop(remove: boolean): Promise<void> {
    this.stopped = true;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (!remove || !this.registered) return;
    const { nodeName } = this.options;
    await this.coordination.deleteNamespacedLease({ name: nodeName, namespace: 'kube-node-lease' }).catch(() => undefined);
    await this.core.deleteNode({ name: nodeName }).catch(() => undefined);
  }

  /**
   * The Nodes of process kubelets that no longer exist, with the pods bound to them, go: those
   * pods lie about running, and their controllers replace them wherever the scheduler finds room.
   * (A real cluster gets there through the node lifecycle controller's eviction and pod GC.)
   */
  async reapDeadPeers(): Promise<void> {
    const nodes = await this.core.listNode();
    for (const node of nodes.items) {
      const name = node.metadata?.name ?? '';
      const holder = node.metadata?.annotations?.[INSTANCE_ANNOTATION];
      if (!holder || name === this.options.nodeName || instanceAlive(holder)) continue;
      const pods = await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` });
      for (const pod of pods.items) {
        await this.core
          .deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? 'default', gracePeriodSeconds: 0 })
          .catch((error: unknown) => {
            if (statusOf(error) !== 404) throw error;
          });
      }
      await this.coordination.deleteNamespacedLease({ name, namespace: 'kube-node-lease' }).catch(() => undefined);
      await this.core.deleteNode({ name }).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
      });
    }
  }

  private status(): V1Node['status'] {
    const { nodeName, nodeIP, instanceId, capacity } = this.options;
    const now = new Date();
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    return {
      capacity,
      allocatable: capacity,
      addresses: [
        { type: 'InternalIP', address: nodeIP },
        { type: 'Hostname', address: nodeName },
      ],
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'process kubelet'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'process kubelet'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'process kubelet'),
        condition('Ready', 'True', 'KubeletReady', 'process kubelet is posting ready status'),
      ],
      nodeInfo: {
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        bootID: instanceId,
        containerRuntimeVersion: 'process://1.0.0',
        kernelVersion: '',
        kubeProxyVersion: '',
        kubeletVersion: 'v0.0.0-process-kubelet',
        machineID: nodeName,
        operatingSystem: 'linux',
        osImage: 'process kubelet',
        systemUUID: nodeName,
      },
    };
  }

  private scheduleLease(): void {
    if (this.stopped) return;
    this.leaseTimer = setTimeout(() => {
      void this.renewLease()
        .catch((error: unknown) => this.options.onError(error))
        .finally(() => this.scheduleLease());
    }, LEASE_RENEW_MS);
  }

  /**
   * The node heartbeat the node lifecycle controller reads (kube-node-lease/<node>). renewTime is
   * a MicroTime, which the apiserver parses with exactly six fractional digits; client-node
   * serialises a Date with three (400), so the time goes in as a JSON patch of the string.
   */
  private async renewLease(): Promise<void> {
    const namespace = 'kube-node-lease';
    const { nodeName } = this.options;
    try {
      await this.coordination.readNamespacedLease({ name: nodeName, namespace });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      const node = await this.core.readNode({ name: nodeName });
      await this.coordination.createNamespacedLease({
        namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name: nodeName,
            namespace,
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata?.uid ?? '' }],
          },
          spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_SECONDS },
        },
      });
    }
    await this.coordination.patchNamespacedLease({
      name: nodeName,
      namespace,
      body: [
        { op: 'add', path: '/spec/holderIdentity', value: nodeName },
        { op: 'add', path: '/spec/renewTime', value: microTime(new Date()) },
      ],
    });
  }
}
