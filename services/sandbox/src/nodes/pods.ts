// The simulated node's kubelet half: it runs the Pods bound to the node as in-process stand-ins
// (stand-ins.ts), with the node's own credentials and only what the Node authorizer grants a
// kubelet (a pods watch by spec.nodeName, pods/status, delete of its own pods, events).
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { V1Container, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { buildPodStatus, ConditionClock, type ContainerStateView, type ContainerView, type TerminatedView } from '../kubelet/pod-status.js';
import { ProbeSet, runProbe, type ProbeContext, type ProbeResult } from '../kubelet/probes.js';
import { ApiStatusError, apiRequest, rfc3339, type ApiTarget } from './join.js';
import { expandKubeVariables } from '../kubelet/expansion.js';
import { ContainerLog } from './container-log.js';
import type { ContainerLogLookup } from './kubelet-server.js';
import { endpointsOf, PortMap, standInFor, StandInServers, type RunningStandIn, type StandIn, type StandInRuntime } from './stand-ins.js';

/** The kubelet's runtimeState.networkErrors() wording with containerd and no CNI config. */
export const NETWORK_NOT_READY_MESSAGE =
  'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';

export interface NodePodsOptions {
  target: ApiTarget;
  nodeName: string;
  nodeIP: string;
  /** The cluster CA, as the service-account volume's ca.crt carries it. */
  clusterCaPem: string;
  cniConfDir: string;
  /** Undefined when the CNI is configured; the kubelet's network error otherwise. */
  networkError(): string | undefined;
  /** The next free address of the node's pod range. */
  allocateIP(): string;
  releaseIP(ip: string): void;
  /** Relist period, covering a watch that silently missed events. */
  resyncIntervalMs: number;
  /** Container restart back-off after a failed liveness or startup probe (kubelet: 10 s doubling to 5 min). */
  backoff: { initialMs: number; maxMs: number };
  report(error: unknown): void;
}

export interface PodSummary {
  namespace: string;
  name: string;
  ip: string | undefined;
  ready: boolean;
}

type PodObject = V1Pod & { metadata: { name: string; namespace: string; uid: string } };

function isPodObject(value: unknown): value is PodObject {
  const metadata = (value as { metadata?: { name?: unknown; namespace?: unknown; uid?: unknown } } | null)?.metadata;
  return typeof metadata?.name === 'string' && typeof metadata.namespace === 'string' && typeof metadata.uid === 'string';
}

/** An image reference as containerd reports it: the repository pinned by a (here: derived) digest. */
function imageIdOf(image: string): string {
  const repository = image.split('@')[0]?.replace(/:[^/:]+$/, '') ?? image;
  return `${repository}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

class SimContainer implements ContainerView {
  state: ContainerStateView = { kind: 'waiting', reason: 'ContainerCreating' };
  lastTermination: TerminatedView | undefined;
  restartCount = 0;
  ready = false;
  started = false;
  readonly imageID: string;
  containerID: string | undefined;
  private probes: ProbeSet | undefined;
  private servers: StandInServers | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private stopped = false;
  private workload: RunningStandIn | undefined;
  /** This run's output, and the previous run's once it restarted (kubectl logs --previous). */
  log = new ContainerLog();
  previousLog: ContainerLog | undefined;

  constructor(
    private readonly container: V1Container,
    private readonly standIn: StandIn,
    private readonly pod: SimPod,
  ) {
    this.imageID = imageIdOf(container.image ?? '');
  }

  /** An init container: its stand-in's work, then a clean exit. */
  runToCompletion(): void {
    const startedAt = new Date();
    this.containerID = `containerd://${randomBytes(32).toString('hex')}`;
    this.standIn.run?.({ pod: this.pod.object, container: this.container, cniConfDir: this.pod.host.cniConfDir }, true);
    this.state = { kind: 'terminated', exitCode: 0, reason: 'Completed', startedAt, finishedAt: new Date() };
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    if (this.containerID) {
      this.previousLog = this.log;
      this.log = new ContainerLog();
    }
    this.containerID = `containerd://${randomBytes(32).toString('hex')}`;
    const standInContext = { pod: this.pod.object, container: this.container, cniConfDir: this.pod.host.cniConfDir };
    for (const line of this.standIn.startLog?.(standInContext) ?? []) this.log.write(line);
    const servers = new StandInServers(this.pod.host.portMap, this.pod.dialHosts());
    this.servers = servers;
    await servers.listen(endpointsOf(this.standIn, this.container), (port, path) => this.workload?.answer?.(port, path));
    if (this.stopped) {
      await servers.close();
      return;
    }
    if (this.standIn.start) {
      const log = this.log;
      const runtime: StandInRuntime = {
        ...standInContext,
        argv: [...(this.container.command ?? []), ...(this.container.args ?? [])].map((arg) =>
          expandKubeVariables(arg, (name) => this.pod.envValue(this.container, name)),
        ),
        log: (line) => log.write(line),
        readFile: (path) => this.pod.readFile(this.container, path),
        dial: (host, port) => this.pod.host.dial(host, port),
      };
      try {
        this.workload = await this.standIn.start(runtime);
      } catch (error) {
        log.write(`Error: ${error instanceof Error ? error.message : String(error)}`);
        await servers.close();
        this.servers = undefined;
        throw error;
      }
      if (this.stopped) {
        await this.workload.stop();
        return;
      }
    }
    this.state = { kind: 'running', startedAt: new Date() };
    this.standIn.run?.(standInContext, false);
    const context: ProbeContext = {
      podIP: this.pod.ip ?? this.pod.host.nodeIP,
      ports: this.container.ports ?? [],
      // Exec probes never reach runProbe: there is no process to exec in.
      execCommand: () => undefined,
      connectTo: (host, port) => this.pod.host.portMap.resolve(host, port),
    };
    const probes = new ProbeSet({
      startupProbe: this.container.startupProbe,
      readinessProbe: this.container.readinessProbe,
      livenessProbe: this.container.livenessProbe,
      run: (probe): Promise<ProbeResult> => {
        if (probe.exec) return Promise.resolve(this.standIn.exec?.(probe.exec.command ?? []) ?? { ok: true });
        return runProbe(probe, context);
      },
      onChange: () => {
        if (this.probes !== probes) return;
        this.ready = probes.ready;
        this.started = probes.started;
        this.pod.changed();
      },
      onFailure: () => {
        if (this.probes !== probes) return;
        void this.killForRestart();
      },
    });
    this.probes = probes;
    this.ready = probes.ready;
    this.started = probes.started;
    probes.start();
    this.pod.changed();
  }

  /** A failed liveness/startup probe: the kubelet kills the container and restarts it after back-off. */
  private async killForRestart(): Promise<void> {
    const startedAt = this.state.kind === 'running' ? this.state.startedAt : new Date();
    await this.halt();
    if (this.stopped) return;
    const terminated: TerminatedView = { kind: 'terminated', exitCode: 137, reason: 'Error', startedAt, finishedAt: new Date() };
    // A liveness kill is a failure to the restart policy: Always and OnFailure restart, Never does not.
    if (this.pod.object.spec?.restartPolicy === 'Never') {
      this.state = terminated;
      this.pod.changed();
      return;
    }
    this.lastTermination = terminated;
    const { initialMs, maxMs } = this.pod.host.backoff;
    this.backoffMs = this.backoffMs === 0 ? initialMs : Math.min(this.backoffMs * 2, maxMs);
    this.state = {
      kind: 'waiting',
      reason: 'CrashLoopBackOff',
      message: `back-off ${Math.round(this.backoffMs / 1000)}s restarting failed container=${this.container.name} pod=${this.pod.name}_${this.pod.namespace}(${this.pod.uid})`,
    };
    this.pod.changed();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restartCount++;
      this.start().catch((error: unknown) => this.pod.host.report(error));
    }, this.backoffMs);
  }

  private async halt(): Promise<void> {
    this.probes?.stop();
    this.probes = undefined;
    this.ready = false;
    this.started = false;
    const workload = this.workload;
    this.workload = undefined;
    await Promise.all([workload?.stop(), this.servers?.close()]);
    this.servers = undefined;
    this.log.end();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const startedAt = this.state.kind === 'running' ? this.state.startedAt : undefined;
    await this.halt();
    // Stand-ins exit cleanly on SIGTERM.
    if (startedAt) this.state = { kind: 'terminated', exitCode: 0, reason: 'Completed', startedAt, finishedAt: new Date() };
  }
}

class SimPod {
  readonly containers = new Map<string, SimContainer>();
  readonly initContainers = new Map<string, SimContainer>();
  private readonly waiting = new Map<string, { reason: string; message: string }>();
  private readonly clock = new ConditionClock();
  private readonly startTime = new Date();
  ip: string | undefined;
  private sandboxReady = false;
  private terminating: Promise<void> | undefined;
  private networkEventSent = false;
  private lastPosted = '';
  private posting: Promise<void> = Promise.resolve();
  private postQueued = false;
  private closed = false;

  constructor(
    public object: PodObject,
    readonly host: NodePods,
  ) {}

  get name(): string {
    return this.object.metadata.name;
  }

  get namespace(): string {
    return this.object.metadata.namespace;
  }

  get uid(): string {
    return this.object.metadata.uid;
  }

  get hostNetwork(): boolean {
    return this.object.spec?.hostNetwork === true;
  }

  /**
   * A file the pod's volumes put at `path` in the container: projected service-account tokens
   * (a TokenRequest bound to this pod, as the kubelet makes it), ConfigMap and Secret keys.
   * Without a volume there, the service-account directory the ServiceAccount admission plugin
   * would have mounted.
   */
  async readFile(container: V1Container, path: string): Promise<string> {
    const missing = new Error(`open ${path}: no such file or directory`);
    const mount = (container.volumeMounts ?? [])
      .filter((candidate) => path.startsWith(`${candidate.mountPath.replace(/\/$/, '')}/`))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const serviceAccount = this.object.spec?.serviceAccountName ?? 'default';
    if (!mount) {
      const file = /^\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/(ca\.crt|token|namespace)$/.exec(path)?.[1];
      if (file === 'ca.crt') return this.host.clusterCaPem;
      if (file === 'namespace') return this.namespace;
      if (file === 'token') return this.token(serviceAccount, undefined, 3607);
      throw missing;
    }
    const relative = path.slice(mount.mountPath.replace(/\/$/, '').length + 1);
    const volume = (this.object.spec?.volumes ?? []).find((candidate) => candidate.name === mount.name);
    const keyOf = (items: Array<{ key: string; path: string }> | undefined): string | undefined =>
      items ? items.find((item) => item.path === relative)?.key : relative;
    const fromObject = async (kind: 'configmaps' | 'secrets', name: string, key: string | undefined): Promise<string | undefined> => {
      if (key === undefined) return undefined;
      const object = await apiRequest<{ data?: Record<string, string> }>(this.host.target, 'GET', `/api/v1/namespaces/${this.namespace}/${kind}/${name}`);
      const value = object.data?.[key];
      return value === undefined ? undefined : kind === 'secrets' ? Buffer.from(value, 'base64').toString('utf8') : value;
    };
    if (volume?.configMap?.name) return (await fromObject('configmaps', volume.configMap.name, keyOf(volume.configMap.items))) ?? Promise.reject(missing);
    if (volume?.secret?.secretName) return (await fromObject('secrets', volume.secret.secretName, keyOf(volume.secret.items))) ?? Promise.reject(missing);
    for (const source of volume?.projected?.sources ?? []) {
      const token = source.serviceAccountToken;
      if (token?.path === relative) return this.token(serviceAccount, token.audience, token.expirationSeconds ?? 3600);
      if (source.configMap?.name) {
        const value = await fromObject('configmaps', source.configMap.name, keyOf(source.configMap.items));
        if (value !== undefined) return value;
      }
      if (source.secret?.name) {
        const value = await fromObject('secrets', source.secret.name, keyOf(source.secret.items));
        if (value !== undefined) return value;
      }
    }
    throw missing;
  }

  private async token(serviceAccount: string, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const response = await apiRequest<{ status?: { token?: string } }>(
      this.host.target,
      'POST',
      `/api/v1/namespaces/${this.namespace}/serviceaccounts/${serviceAccount}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          ...(audience ? { audiences: [audience] } : {}),
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: this.name, uid: this.uid },
        },
      },
    );
    const token = response.status?.token;
    if (!token) throw new Error(`no token for service account ${this.namespace}/${serviceAccount}`);
    return token;
  }

  /** A container's environment variable as the kubelet resolves it: a literal or a downward-API field. */
  envValue(container: V1Container, name: string): string | undefined {
    const variable = (container.env ?? []).find((candidate) => candidate.name === name);
    if (!variable) return undefined;
    if (variable.value !== undefined) return variable.value;
    const fields: Record<string, string | undefined> = {
      'status.hostIP': this.host.nodeIP,
      'status.podIP': this.ip,
      'metadata.name': this.name,
      'metadata.namespace': this.namespace,
      'metadata.uid': this.uid,
      'spec.nodeName': this.object.spec?.nodeName,
      'spec.serviceAccountName': this.object.spec?.serviceAccountName,
    };
    const path = variable.valueFrom?.fieldRef?.fieldPath;
    return path ? (fields[path] ?? '') : '';
  }

  /** The kubelet's validateContainerLogStatus over the simulated containers. */
  containerLog(name: string, previous: boolean): ContainerLogLookup {
    const spec = this.object.spec;
    const known = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some((container) => container.name === name);
    if (!known) return { status: 404, message: `container "${name}" not found in pod "${this.name}"` };
    const container = this.containers.get(name) ?? this.initContainers.get(name);
    if (!container) {
      const waiting = this.waiting.get(name);
      return { status: 400, message: `container "${name}" in pod "${this.name}" is waiting to start: ${waiting?.reason ?? 'ContainerCreating'}` };
    }
    if (previous) {
      return container.previousLog
        ? { log: container.previousLog }
        : { status: 400, message: `previous terminated container "${name}" in pod "${this.name}" not found` };
    }
    if (container.state.kind === 'waiting' && !container.previousLog)
      return { status: 400, message: `container "${name}" in pod "${this.name}" is waiting to start: ${container.state.reason}` };
    return { log: container.state.kind === 'waiting' && container.previousLog ? container.previousLog : container.log };
  }

  /** The addresses a probe of this pod may name: the pod's own, or the node's in the host network. */
  dialHosts(): string[] {
    return this.hostNetwork ? [this.host.nodeIP, '127.0.0.1', 'localhost'] : this.ip ? [this.ip] : [];
  }

  get ready(): boolean {
    const containers = this.object.spec?.containers ?? [];
    return !this.terminating && containers.length > 0 && containers.every((container) => this.containers.get(container.name)?.ready === true);
  }

  /** Brings the pod forward as far as it can go now; safe to call on every event. */
  sync(): void {
    if (this.closed) return;
    if (this.object.metadata.deletionTimestamp) {
      this.terminating ??= this.terminate();
      return;
    }
    if (this.terminating) return;
    if (!this.sandboxReady) {
      const networkError = this.hostNetwork ? undefined : this.host.networkError();
      if (networkError) {
        for (const container of this.object.spec?.containers ?? []) this.waiting.set(container.name, { reason: 'ContainerCreating', message: '' });
        if (!this.networkEventSent) {
          this.networkEventSent = true;
          this.host.event(this, 'Warning', 'NetworkNotReady', `network is not ready: ${networkError}`);
        }
        this.changed();
        return;
      }
      this.ip = this.hostNetwork ? this.host.nodeIP : this.host.allocateIP();
      this.sandboxReady = true;
      this.waiting.clear();
    }
    // Init containers run one after the other to completion before any app container starts.
    for (const container of this.object.spec?.initContainers ?? []) {
      if (this.initContainers.has(container.name)) continue;
      const init = new SimContainer(container, standInFor(container.image ?? ''), this);
      this.initContainers.set(container.name, init);
      try {
        init.runToCompletion();
      } catch (error) {
        this.host.report(error);
      }
    }
    for (const container of this.object.spec?.containers ?? []) {
      if (this.containers.has(container.name)) continue;
      const simulated = new SimContainer(container, standInFor(container.image ?? ''), this);
      this.containers.set(container.name, simulated);
      simulated.start().catch((error: unknown) => {
        simulated.state = { kind: 'waiting', reason: 'CreateContainerError', message: error instanceof Error ? error.message : String(error) };
        this.changed();
      });
    }
    this.changed();
  }

  /** Graceful deletion: stop the containers, report them, then remove the object (grace 0). */
  private async terminate(): Promise<void> {
    await Promise.all([...this.containers.values()].map((container) => container.stop()));
    this.changed();
    await this.posting;
    try {
      await apiRequest(this.host.target, 'DELETE', `/api/v1/namespaces/${this.namespace}/pods/${this.name}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (error) {
      if (!(error instanceof ApiStatusError && (error.status === 404 || error.status === 409))) this.host.report(error);
    }
  }

  status(): V1PodStatus {
    const status = buildPodStatus({
      pod: this.object,
      containers: this.containers,
      initContainers: this.initContainers,
      waiting: this.waiting,
      ready: this.ready,
      hostIP: this.host.nodeIP,
      ...(this.ip ? { podIP: this.ip } : {}),
      startTime: this.startTime,
      clock: this.clock,
      sandboxReady: this.sandboxReady && !this.terminating,
    });
    // A pod whose containers all stopped for its deletion is terminal, whatever its restart policy.
    const statuses = status.containerStatuses ?? [];
    if (this.terminating && statuses.length > 0 && statuses.every((container) => container.state?.terminated)) {
      status.phase = statuses.every((container) => container.state?.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    return status;
  }

  /** Something changed: post the status (coalesced, one request at a time). */
  changed(): void {
    if (this.closed || this.postQueued) return;
    this.postQueued = true;
    this.posting = this.posting.then(async () => {
      this.postQueued = false;
      if (this.closed) return;
      await this.postStatus().catch((error: unknown) => {
        if (!(error instanceof ApiStatusError && error.status === 404)) this.host.report(error);
      });
    });
  }

  private async postStatus(): Promise<void> {
    const status = this.status();
    const serialized = JSON.stringify(status);
    if (serialized === this.lastPosted) return;
    const path = `/api/v1/namespaces/${this.namespace}/pods/${this.name}`;
    for (let attempt = 0; ; attempt++) {
      const current = await apiRequest<PodObject>(this.host.target, 'GET', path);
      if (current.metadata.uid !== this.uid) return;
      try {
        await apiRequest(this.host.target, 'PUT', `${path}/status`, { ...current, status });
        this.lastPosted = serialized;
        return;
      } catch (error) {
        if (!(error instanceof ApiStatusError && error.status === 409) || attempt >= 3) throw error;
      }
    }
  }

  /** The Pod object is gone (or the node stops): stand-ins go, the address is free again. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.containers.values(), ...this.initContainers.values()].map((container) => container.stop()));
    if (this.ip && !this.hostNetwork) this.host.releaseIP(this.ip);
  }
}

/** Runs the node's pods; start() lists and watches them until stop(). */
export class NodePods {
  /** The nodes whose addresses exist on the node network now. */
  private static readonly onNetwork = new Set<NodePods>();
  readonly portMap = new PortMap();
  private readonly pods = new Map<string, SimPod>();
  private readonly abort = new AbortController();
  private resyncTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: NodePodsOptions) {}

  get target(): ApiTarget {
    return this.options.target;
  }

  get nodeIP(): string {
    return this.options.nodeIP;
  }

  get clusterCaPem(): string {
    return this.options.clusterCaPem;
  }

  /**
   * A connection made on the node's network: its own address and its pods' addresses reach the
   * listeners that stand for them (refused where nothing listens), anything else is dialled as is.
   */
  dial(host: string, port: number): Promise<Duplex> {
    // The node network is flat, as a VPC is: every simulated node of this process is reachable.
    const nodes = [this, ...[...NodePods.onNetwork].filter((other) => other !== this)];
    const local = nodes.map((node) => node.portMap.resolve(host, port)).find((target) => target !== undefined);
    const ours = nodes.some((node) => host === node.options.nodeIP || [...node.pods.values()].some((pod) => pod.ip === host));
    if (!local && ours) {
      const refused: NodeJS.ErrnoException = new Error(`dial tcp ${host}:${port}: connect: connection refused`);
      refused.code = 'ECONNREFUSED';
      return Promise.reject(refused);
    }
    const target = local ?? { host, port };
    return new Promise((resolve, reject) => {
      const socket = connect(target);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  /** The pod's container output for the kubelet port. */
  containerLog(namespace: string, name: string, container: string, previous: boolean): ContainerLogLookup {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) return { status: 404, message: `pod "${name}" does not exist` };
    return pod.containerLog(container, previous);
  }

  get cniConfDir(): string {
    return this.options.cniConfDir;
  }

  get backoff(): { initialMs: number; maxMs: number } {
    return this.options.backoff;
  }

  networkError(): string | undefined {
    return this.options.networkError();
  }

  allocateIP(): string {
    return this.options.allocateIP();
  }

  releaseIP(ip: string): void {
    this.options.releaseIP(ip);
  }

  report(error: unknown): void {
    if (!this.abort.signal.aborted) this.options.report(error);
  }

  start(): void {
    NodePods.onNetwork.add(this);
    this.running = this.loop();
    this.resyncTimer = setInterval(() => this.resync(), this.options.resyncIntervalMs);
  }

  /** Re-runs every pod's sync, e.g. when the network became ready. */
  resync(): void {
    for (const pod of this.pods.values()) pod.sync();
  }

  summaries(): PodSummary[] {
    return [...this.pods.values()].map((pod) => ({ namespace: pod.namespace, name: pod.name, ip: pod.ip, ready: pod.ready }));
  }

  async stop(): Promise<void> {
    NodePods.onNetwork.delete(this);
    this.abort.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.running;
    await Promise.all([...this.pods.values()].map((pod) => pod.close()));
    this.pods.clear();
  }

  event(pod: SimPod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = rfc3339();
    apiRequest(this.options.target, 'POST', `/api/v1/namespaces/${pod.namespace}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${pod.name}.${randomBytes(8).toString('hex')}`, namespace: pod.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.options.nodeName },
      reportingComponent: 'kubelet',
      reportingInstance: this.options.nodeName,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    }).catch((error: unknown) => this.report(error));
  }

  private upsert(object: PodObject): void {
    const key = `${object.metadata.namespace}/${object.metadata.name}`;
    let pod = this.pods.get(key);
    if (pod && pod.uid !== object.metadata.uid) {
      this.remove(key);
      pod = undefined;
    }
    const phase = object.status?.phase;
    if (!pod && (phase === 'Succeeded' || phase === 'Failed')) return;
    if (!pod) {
      pod = new SimPod(object, this);
      this.pods.set(key, pod);
    }
    pod.object = object;
    pod.sync();
  }

  private remove(key: string): void {
    const pod = this.pods.get(key);
    if (!pod) return;
    this.pods.delete(key);
    pod.close().catch((error: unknown) => this.report(error));
  }

  private async loop(): Promise<void> {
    const selector = `fieldSelector=${encodeURIComponent(`spec.nodeName=${this.options.nodeName}`)}`;
    while (!this.abort.signal.aborted) {
      try {
        const list = await apiRequest<{ metadata?: { resourceVersion?: string }; items?: unknown[] }>(this.options.target, 'GET', `/api/v1/pods?${selector}`);
        const seen = new Set<string>();
        for (const item of list.items ?? []) {
          if (!isPodObject(item)) continue;
          seen.add(`${item.metadata.namespace}/${item.metadata.name}`);
          this.upsert(item);
        }
        for (const key of [...this.pods.keys()]) if (!seen.has(key)) this.remove(key);
        await watchStream(
          this.options.target,
          `/api/v1/pods?${selector}&watch=true&allowWatchBookmarks=true&resourceVersion=${list.metadata?.resourceVersion ?? ''}`,
          (type, object) => {
            if (!isPodObject(object)) return;
            if (type === 'DELETED') this.remove(`${object.metadata.namespace}/${object.metadata.name}`);
            else if (type === 'ADDED' || type === 'MODIFIED') this.upsert(object);
          },
          this.abort.signal,
        );
      } catch (error) {
        this.report(error);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1_000);
          this.abort.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
    }
  }
}

/** A watch as the client-go reflector reads it: one JSON event per line until the server ends it. */
function watchStream(target: ApiTarget, path: string, onEvent: (type: string, object: unknown) => void, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const credentials = target.credentials;
    const req = request(
      new URL(path, target.server),
      {
        method: 'GET',
        ...(target.caPem ? { ca: target.caPem } : {}),
        ...(credentials?.certPem ? { cert: credentials.certPem, key: credentials.keyPem } : {}),
        headers: { accept: 'application/json', ...(credentials?.token ? { authorization: `Bearer ${credentials.token}` } : {}) },
        agent: false,
      },
      (response) => {
        response.setEncoding('utf8');
        const status = response.statusCode ?? 0;
        let buffer = '';
        response.on('data', (chunk: string) => {
          buffer += chunk;
          if (status >= 400) return;
          for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line) continue;
            let event: { type?: unknown; object?: unknown };
            try {
              event = JSON.parse(line) as { type?: unknown; object?: unknown };
            } catch (error) {
              req.destroy(error instanceof Error ? error : new Error(String(error)));
              return;
            }
            if (event.type === 'ERROR') {
              req.destroy(new Error(`watch ${path} ended with an error: ${JSON.stringify(event.object)}`));
              return;
            }
            if (typeof event.type === 'string') onEvent(event.type, event.object);
          }
        });
        response.on('end', () => (status >= 400 ? reject(new ApiStatusError(status, buffer, `GET ${path}`)) : resolve()));
        response.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
      },
    );
    req.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
    signal.addEventListener('abort', () => req.destroy(), { once: true });
    req.end();
  });
}
