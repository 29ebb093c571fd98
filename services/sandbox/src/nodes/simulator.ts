// A tenant node: it boots its cloud-config (sshd with the pool's keys, then `kubeadm join`) and
// behaves as a kubelet afterwards (Node status, Lease renewals, the pods bound to it as simulated
// containers, see pods.ts). With the real binaries
// (KUBE_BIN_DIR) the join is the real kubeadm and the kubelet kubemark's hollow one (real-kubelet.ts).
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { join as joinPath } from 'node:path';
import { RealBinaries } from '../real-binaries/index.js';
import { ApiStatusError, apiRequest, discoverCluster, microTime, requestNodeCertificate, rfc3339, type ApiTarget } from './join.js';
import { cniConfigured, DEFAULT_POD_SUBNET, nodePodRange, PodAddressPool, podSubnetOf, writePreinstalledCniConfig } from './pod-network.js';
import { NETWORK_NOT_READY_MESSAGE, NodePods, type PodSummary } from './pods.js';
import { joinWithRealBinaries, type RealKubelet } from './real-kubelet.js';
import { startKubeletServer, type KubeletServerHandle } from './kubelet-server.js';
import { startSshd, type SshdHandle } from './sshd.js';
import { parseNodeUserData, type JoinParameters } from './user-data.js';

export type NodePhase = 'joining' | 'ready' | 'failed' | 'dead' | 'stopped';

export interface NodeSimulatorOptions {
  /** The instance's cloud-config. */
  userData: string;
  /** The instance's own (loopback) address; sshd binds here and the Node reports it. */
  ip: string;
  /** Host keys, sshd config and authorized_keys live here. The caller removes it. */
  stateDir: string;
  /** 0 picks a free port (default); 22 works on a private loopback address when run as root. */
  sshPort?: number;
  /** Overrides the endpoint of the join line (e.g. when the instance sees the apiserver elsewhere). */
  endpointOverride?: string;
  /** kubelet's nodeLeaseRenewInterval; 10 s as in the kubelet by default. */
  leaseRenewIntervalMs?: number;
  /** How often the Node status heartbeat is posted; defaults to the lease interval. */
  statusUpdateIntervalMs?: number;
  leaseDurationSeconds?: number;
  /** kubeadm's discovery timeout (5 min by default). */
  discoveryTimeoutMs?: number;
  /** kubeadm's TLS bootstrap timeout (5 min by default). */
  certificateTimeoutMs?: number;
  onError?: (error: Error) => void;
  /**
   * The real `kubeadm join` and kubemark's hollow kubelet of the pinned version instead of the
   * simulated join and heartbeats (see real-kubelet.ts). Defaults to $KUBE_BIN_DIR's binaries
   * when it is set; null forces the simulation.
   */
  realBinaries?: RealBinaries | null;
  /**
   * Whether the node needs a network plugin before it is Ready. 'required' (default, as on the
   * cloud images the pools use): /etc/cni/net.d starts empty and the node stays NotReady
   * (NetworkPluginNotReady), with only host-network pods starting, until a CNI pod (cilium,
   * flannel…) writes its config. 'preinstalled': the node image ships a CNI configuration, so
   * the node is Ready once joined (for tests of the kubelet without any add-on).
   */
  networkPlugin?: 'required' | 'preinstalled';
  /** Run the pods bound to this node as simulated containers (default true). */
  runPods?: boolean;
  /** Restart back-off after a failed liveness probe; the kubelet's 10 s doubling to 5 min by default. */
  podBackoff?: { initialMs: number; maxMs: number };
}

export interface NodeSimulator {
  readonly nodeName: string;
  readonly ip: string;
  /** The InternalIP the Node reports (nodeNetworkAddress of ip). */
  readonly internalIP: string;
  readonly params: JoinParameters;
  readonly ssh: { host: string; port: number; user: string; hostPublicKey: string };
  /** Resolves once the Node is registered (Ready unless it waits for a network plugin); rejects when the join fails or is refused. */
  readonly joined: Promise<void>;
  phase(): NodePhase;
  /** The node's client credentials once joined (to check what it may do). */
  credentials(): { certPem: string; keyPem: string; caPem: string; server: string } | undefined;
  /** A dead machine: heartbeats stop and sshd goes away, the Node object stays. */
  kill(): Promise<void>;
  /** Only sshd stops (a crashed or misconfigured daemon): the kubelet keeps heartbeating. */
  stopSshd(): Promise<void>;
  stop(): Promise<void>;
  /** The node's /etc/cni/net.d. */
  readonly cniConfDir: string;
  /** The pods this node runs, as it sees them. */
  pods(): PodSummary[];
}

const KUBELET_CONDITIONS: Array<[string, string, string, string]> = [
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
];

/** The kubelet's port; the simulated kubelet serves healthz and container logs on it. */
const KUBELET_PORT = 10250;

/**
 * The node's address on its own network, as it reports it (InternalIP): the machine's loopback
 * address 127.a.b.c moved into the shared address space 100.64.0.0/10, which nothing on this
 * host routes to. The seed reaches the node only through the konnectivity tunnel, as a control
 * plane reaches nodes behind NAT; and the apiserver proxies to global unicast addresses only
 * (nodes/proxy refuses a loopback InternalIP with "address not allowed").
 */
export function nodeNetworkAddress(machineIp: string): string {
  const octets = machineIp.split('.').map(Number);
  if (octets.length !== 4 || octets[0] !== 127) return machineIp;
  const [, second, third, fourth] = octets as [number, number, number, number];
  return `100.${64 + (second % 64)}.${third}.${fourth}`;
}

export async function startNodeSimulator(options: NodeSimulatorOptions): Promise<NodeSimulator> {
  const params = parseNodeUserData(options.userData);
  const sshd: SshdHandle = await startSshd({
    ip: options.ip,
    port: options.sshPort ?? 0,
    stateDir: options.stateDir,
    authorizedKeys: params.sshAuthorizedKeys,
    ...(params.sshUser ? { user: params.sshUser } : {}),
  });
  const leaseIntervalMs = options.leaseRenewIntervalMs ?? 10_000;
  const statusIntervalMs = options.statusUpdateIntervalMs ?? leaseIntervalMs;
  const abort = new AbortController();
  let phase: NodePhase = 'joining';
  let target: ApiTarget | undefined;
  let caPem = '';
  let nodeUid: string | undefined;
  const realBinaries = options.realBinaries === undefined ? RealBinaries.fromEnvironment() : (options.realBinaries ?? undefined);
  let realKubelet: RealKubelet | undefined;
  let kubeletServer: KubeletServerHandle | undefined;
  const internalIP = nodeNetworkAddress(options.ip);
  const timers: NodeJS.Timeout[] = [];
  const transitionTimes = new Map<string, { status: string; time: string }>();
  const cniConfDir = joinPath(options.stateDir, 'etc', 'cni', 'net.d');
  mkdirSync(cniConfDir, { recursive: true });
  if ((options.networkPlugin ?? 'required') === 'preinstalled') writePreinstalledCniConfig(cniConfDir);
  const networkError = (): string | undefined => (cniConfigured(cniConfDir) ? undefined : NETWORK_NOT_READY_MESSAGE);
  let podAddresses: PodAddressPool | undefined;
  let nodePods: NodePods | undefined;
  let cniWatcher: FSWatcher | undefined;
  const report = (error: unknown): void => {
    if (abort.signal.aborted) return;
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  };

  const nodeStatus = () => {
    const now = rfc3339();
    const network = networkError();
    // The kubelet's Ready condition carries the runtime's network error while the CNI is missing.
    const ready: [string, string, string, string] = network
      ? ['Ready', 'False', 'KubeletNotReady', network]
      : ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'];
    return {
      conditions: [...KUBELET_CONDITIONS, ready].map(([type, status, reason, message]) => {
        const previous = transitionTimes.get(type);
        if (previous?.status !== status) transitionTimes.set(type, { status, time: now });
        return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: transitionTimes.get(type)?.time };
      }),
      addresses: [
        { type: 'InternalIP', address: internalIP },
        { type: 'Hostname', address: params.nodeName },
      ],
      capacity: { cpu: '2', memory: '4019516Ki', pods: '110', 'ephemeral-storage': '30298176Ki' },
      allocatable: { cpu: '2', memory: '3917116Ki', pods: '110', 'ephemeral-storage': '27922798445' },
      daemonEndpoints: { kubeletEndpoint: { Port: kubeletServer?.port ?? KUBELET_PORT } },
      nodeInfo: {
        machineID: params.nodeName,
        systemUUID: params.nodeName,
        bootID: `${params.nodeName}-${Date.now()}`,
        kernelVersion: '6.8.0-generic',
        osImage: 'Ubuntu 24.04 LTS',
        containerRuntimeVersion: 'containerd://1.7.12',
        kubeletVersion: `v${params.kubernetesVersion ?? '0.0.0'}`,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  };

  const postStatusOnce = async (): Promise<void> => {
    if (!target) return;
    const node = await apiRequest<{ spec?: { podCIDR?: string }; status?: object }>(target, 'GET', `/api/v1/nodes/${params.nodeName}`);
    // The kubelet hands a podCIDR kube-controller-manager assigned later to the runtime.
    if (node.spec?.podCIDR && podAddresses && podAddresses.cidr !== node.spec.podCIDR) podAddresses.setRange(node.spec.podCIDR);
    await apiRequest(target, 'PUT', `/api/v1/nodes/${params.nodeName}/status`, {
      ...node,
      status: { ...node.status, ...nodeStatus() },
    });
  };

  // Heartbeats and CNI wake-ups may coincide: one update at a time, with a conflict retried on a
  // fresh read as the kubelet's tryUpdateNodeStatus does.
  const postStatus = singleFlight(async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        await postStatusOnce();
        return;
      } catch (error) {
        if (!(error instanceof ApiStatusError && error.status === 409) || attempt >= 4) throw error;
      }
    }
  });

  const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${params.nodeName}`;
  // A renewal slower than the interval (a loaded machine) must not race the next one into a 409.
  const renewLease = singleFlight(async (): Promise<void> => {
    if (!target) return;
    try {
      const lease = await apiRequest<{ metadata: Record<string, unknown>; spec?: Record<string, unknown> }>(target, 'GET', leasePath);
      await apiRequest(target, 'PUT', leasePath, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: params.nodeName, leaseDurationSeconds: options.leaseDurationSeconds ?? 40, renewTime: microTime() },
      });
    } catch (error) {
      if (!(error instanceof ApiStatusError && error.status === 404)) throw error;
      await apiRequest(target, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: params.nodeName,
          namespace: 'kube-node-lease',
          // As the kubelet does, so the Lease goes with its Node when the Node is deleted.
          ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: params.nodeName, uid: nodeUid }] } : {}),
        },
        spec: { holderIdentity: params.nodeName, leaseDurationSeconds: options.leaseDurationSeconds ?? 40, renewTime: microTime() },
      });
    }
  });

  const joinReal = async (binaries: RealBinaries): Promise<void> => {
    realKubelet = await joinWithRealBinaries({
      binaries,
      params,
      endpoint: options.endpointOverride ?? params.endpoint,
      stateDir: options.stateDir,
      timeoutMs: (options.discoveryTimeoutMs ?? 300_000) + (options.certificateTimeoutMs ?? 300_000),
      signal: abort.signal,
    });
    target = realKubelet.target;
    caPem = realKubelet.target.caPem ?? '';
    if (abort.signal.aborted) return;
    phase = 'ready';
  };

  const join = async (): Promise<void> => {
    if (realBinaries) return joinReal(realBinaries);
    const endpoint = options.endpointOverride ?? params.endpoint;
    const info = await discoverCluster({
      endpoint,
      tokenId: params.tokenId,
      tokenSecret: params.tokenSecret,
      caCertHashes: params.caCertHashes,
      timeoutMs: options.discoveryTimeoutMs ?? 300_000,
      signal: abort.signal,
    });
    caPem = info.caPem;
    // kubeadm talks to the endpoint it was given, trusting the discovered CA.
    const server = `https://${endpoint}`;
    const bootstrap: ApiTarget = { server, caPem, credentials: { token: `${params.tokenId}.${params.tokenSecret}` } };
    const certificate = await requestNodeCertificate({
      target: bootstrap,
      nodeName: params.nodeName,
      timeoutMs: options.certificateTimeoutMs ?? 300_000,
      signal: abort.signal,
    });
    target = { server, caPem, credentials: certificate };
    const api = target;
    // On the machine's own address, not the InternalIP: only the node's agent reaches it.
    kubeletServer = await startKubeletServer({
      nodeName: params.nodeName,
      host: options.ip,
      port: KUBELET_PORT,
      servingAddresses: [internalIP, options.ip],
      clientCaPem: caPem,
      api,
      containerLog: (namespace, pod, container, previous) =>
        nodePods?.containerLog(namespace, pod, container, previous) ?? { status: 404, message: `pod "${pod}" does not exist` },
    });
    if (abort.signal.aborted) {
      await kubeletServer.close();
      return;
    }
    const labels = {
      ...params.labels,
      'kubernetes.io/hostname': params.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
    };
    try {
      const created = await apiRequest<{ metadata: { uid: string } }>(target, 'POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: params.nodeName,
          labels,
          annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
        },
        spec: params.taints.length > 0 ? { taints: params.taints } : {},
      });
      nodeUid = created.metadata.uid;
    } catch (error) {
      // A kubelet whose Node already exists (a restarted machine) carries on with it.
      if (!(error instanceof ApiStatusError && error.status === 409)) throw error;
      nodeUid = (await apiRequest<{ metadata: { uid: string } }>(target, 'GET', `/api/v1/nodes/${params.nodeName}`)).metadata.uid;
    }
    await postStatus();
    if (options.runPods ?? true) await startPods(target);
    // As a real kubelet: its lease controller's first round ran before the Node existed and could
    // not set the Lease's owner, so the Lease appears on the next round, one interval later.
    if (abort.signal.aborted) return;
    phase = 'ready';
    timers.push(
      setInterval(() => {
        renewLease().catch(report);
      }, leaseIntervalMs),
    );
    timers.push(
      setInterval(() => {
        postStatus().catch(report);
      }, statusIntervalMs),
    );
  };

  const startPods = async (api: ApiTarget): Promise<void> => {
    const node = await apiRequest<{ spec?: { podCIDR?: string } }>(api, 'GET', `/api/v1/nodes/${params.nodeName}`);
    let range = node.spec?.podCIDR;
    if (!range) {
      // kubeadm join reads the ClusterConfiguration; without node IPAM its podSubnet is all there is.
      const config = await apiRequest<{ data?: Record<string, string> }>(api, 'GET', '/api/v1/namespaces/kube-system/configmaps/kubeadm-config').catch(
        () => undefined,
      );
      range = nodePodRange(podSubnetOf(config?.data?.ClusterConfiguration) ?? DEFAULT_POD_SUBNET, options.ip);
    }
    const pool = new PodAddressPool(range);
    podAddresses = pool;
    if (abort.signal.aborted) return;
    const pods = new NodePods({
      target: api,
      nodeName: params.nodeName,
      nodeIP: internalIP,
      clusterCaPem: caPem,
      cniConfDir,
      networkError,
      allocateIP: () => pool.allocate(),
      releaseIP: (ip) => pool.release(ip),
      resyncIntervalMs: statusIntervalMs,
      backoff: options.podBackoff ?? { initialMs: 10_000, maxMs: 300_000 },
      report,
    });
    nodePods = pods;
    // The agent's way to the kubelet: the InternalIP's kubelet port is the machine's listener.
    if (kubeletServer) pods.portMap.set([internalIP], kubeletServer.port, kubeletServer.port, options.ip);
    pods.start();
    // A plugin writing its config wakes the node at once rather than at the next heartbeat.
    let wasReady = networkError() === undefined;
    cniWatcher = watch(cniConfDir, () => {
      const ready = networkError() === undefined;
      if (ready === wasReady) return;
      wasReady = ready;
      postStatus().catch(report);
      pods.resync();
    });
    cniWatcher.on('error', report);
  };

  const joined = join().catch((error: unknown) => {
    if (phase === 'joining') phase = 'failed';
    throw error;
  });
  // The caller may never await it (a cloud hook); the failure still shows in phase() and onError.
  joined.catch(report);

  const halt = async (next: NodePhase): Promise<void> => {
    abort.abort();
    for (const timer of timers.splice(0)) clearInterval(timer);
    if (phase !== 'stopped') phase = next;
    cniWatcher?.close();
    await Promise.all([nodePods?.stop(), next === 'dead' ? realKubelet?.kill() : realKubelet?.stop(), sshd.stop(), kubeletServer?.close()]);
  };

  return {
    nodeName: params.nodeName,
    ip: options.ip,
    internalIP,
    params,
    ssh: { host: options.ip, port: sshd.port, user: sshd.user, hostPublicKey: sshd.hostPublicKey },
    joined,
    phase: () => phase,
    credentials: () =>
      target?.credentials?.certPem && target.credentials.keyPem
        ? { certPem: target.credentials.certPem, keyPem: target.credentials.keyPem, caPem, server: target.server }
        : undefined,
    kill: () => halt('dead'),
    stopSshd: () => sshd.stop(),
    stop: () => halt('stopped'),
    cniConfDir,
    pods: () => nodePods?.summaries() ?? [],
  };
}

/** Runs `task` one call at a time; calls made meanwhile share one more run after the current one. */
function singleFlight(task: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const run = (): Promise<void> => {
    if (!current) {
      current = task().finally(() => {
        current = undefined;
      });
      return current;
    }
    next ??= current
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        return run();
      });
    return next;
  };
  return run;
}
