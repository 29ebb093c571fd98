// The Pod status a kubelet writes, from what it knows of each container. Shared by the process
// kubelet (host processes) and the simulated tenant node (in-process stand-ins).
import type { V1Container, V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

export interface TerminatedView {
  kind: 'terminated';
  exitCode: number;
  signal?: string;
  reason: string;
  startedAt: Date;
  finishedAt: Date;
}

export type ContainerStateView = { kind: 'waiting'; reason: string; message?: string } | { kind: 'running'; startedAt: Date } | TerminatedView;

export interface ContainerView {
  state: ContainerStateView;
  lastTermination?: TerminatedView;
  restartCount: number;
  ready: boolean;
  started: boolean;
  imageID: string;
  containerID?: string;
}

/** Remembers when each condition last changed, as lastTransitionTime must. */
export class ConditionClock {
  private readonly transitions = new Map<string, { status: string; time: Date }>();

  condition(type: string, value: boolean, reason?: string): V1PodCondition {
    const status = value ? 'True' : 'False';
    const previous = this.transitions.get(type);
    if (previous?.status !== status) this.transitions.set(type, { status, time: new Date() });
    const transition = this.transitions.get(type);
    return { type, status, lastProbeTime: undefined, lastTransitionTime: transition?.time, ...(reason ? { reason } : {}) };
  }
}

export interface PodStatusInput {
  pod: V1Pod;
  containers: ReadonlyMap<string, ContainerView>;
  initContainers: ReadonlyMap<string, ContainerView>;
  /** Why a container that has no view yet is waiting; ContainerCreating / PodInitializing otherwise. */
  waiting: ReadonlyMap<string, { reason: string; message: string }>;
  /** All containers ready and the pod not terminating. */
  ready: boolean;
  hostIP: string;
  /** Unset until the pod has a sandbox (network), as with the real kubelet. */
  podIP?: string;
  startTime: Date;
  clock: ConditionClock;
  /** The PodReadyToStartContainers condition (sandbox created); left out when undefined. */
  sandboxReady?: boolean;
}

export function containersInitialized(pod: V1Pod, initContainers: ReadonlyMap<string, { state: ContainerStateView }>): boolean {
  return (pod.spec?.initContainers ?? []).every((container) => {
    const state = initContainers.get(container.name)?.state;
    return state?.kind === 'terminated' && state.exitCode === 0;
  });
}

export function buildPodStatus(input: PodStatusInput): V1PodStatus {
  const { pod, clock } = input;
  const containers = pod.spec?.containers ?? [];
  const initialized = containersInitialized(pod, input.initContainers);
  const statuses: V1ContainerStatus[] = containers.map((container) => containerStatus(container, input.containers.get(container.name), input, initialized));
  const initContainers = pod.spec?.initContainers ?? [];
  const allRunning = statuses.length > 0 && statuses.every((status) => status.state?.running !== undefined);
  const anyStarted = [...input.containers.values()].some((view) => view.state.kind === 'running' || view.restartCount > 0 || view.lastTermination);
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  let phase = allRunning || (anyStarted && restartPolicy !== 'Never') ? 'Running' : 'Pending';
  if (restartPolicy !== 'Always' && statuses.length > 0 && statuses.every((status) => status.state?.terminated !== undefined)) {
    phase = statuses.every((status) => status.state?.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
  }
  const conditions: V1PodCondition[] = [
    ...(input.sandboxReady === undefined ? [] : [clock.condition('PodReadyToStartContainers', input.sandboxReady)]),
    clock.condition('PodScheduled', true),
    clock.condition('Initialized', initialized, initialized ? undefined : 'ContainersNotInitialized'),
    clock.condition('ContainersReady', input.ready, input.ready ? undefined : 'ContainersNotReady'),
    clock.condition('Ready', input.ready, input.ready ? undefined : 'ContainersNotReady'),
  ];
  return {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(input.podIP ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] } : {}),
    startTime: input.startTime,
    // Immutable once the apiserver set it at creation (a real apiserver refuses a change, 422).
    qosClass: pod.status?.qosClass ?? podQosClass(pod),
    containerStatuses: statuses,
    ...(initContainers.length > 0
      ? { initContainerStatuses: initContainers.map((container) => containerStatus(container, input.initContainers.get(container.name), input, true)) }
      : {}),
  };
}

function containerStatus(container: V1Container, view: ContainerView | undefined, input: PodStatusInput, initialized: boolean): V1ContainerStatus {
  const image = container.image ?? '';
  if (!view) {
    const waiting = input.waiting.get(container.name) ?? { reason: initialized ? 'ContainerCreating' : 'PodInitializing', message: '' };
    return {
      name: container.name,
      image,
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } },
    };
  }
  const state = view.state;
  const last = view.lastTermination;
  return {
    name: container.name,
    image,
    imageID: view.imageID,
    containerID: view.containerID,
    ready: view.ready,
    started: view.started,
    restartCount: view.restartCount,
    state:
      state.kind === 'running'
        ? { running: { startedAt: state.startedAt } }
        : state.kind === 'waiting'
          ? { waiting: { reason: state.reason, ...(state.message ? { message: state.message } : {}) } }
          : {
              terminated: {
                exitCode: state.exitCode,
                reason: state.reason,
                startedAt: state.startedAt,
                finishedAt: state.finishedAt,
                ...(state.signal ? { signal: signalNumber(state.signal) } : {}),
              },
            },
    lastState: last ? { terminated: { exitCode: last.exitCode, reason: last.reason, startedAt: last.startedAt, finishedAt: last.finishedAt } } : {},
  };
}

/**
 * The QoS class as the apiserver computes it at creation (pkg/apis/core/helper/qos): Guaranteed
 * when every container has equal cpu and memory requests and limits, BestEffort when none has
 * any request or limit, Burstable otherwise. Init containers count too.
 */
export function podQosClass(pod: V1Pod): string {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const named = (resources: Record<string, unknown> | undefined) => Object.entries(resources ?? {}).filter(([name]) => name === 'cpu' || name === 'memory');
  if (containers.every((container) => named(container.resources?.requests).length === 0 && named(container.resources?.limits).length === 0))
    return 'BestEffort';
  const guaranteed = containers.every((container) => {
    const limits = container.resources?.limits ?? {};
    const requests = { ...limits, ...(container.resources?.requests ?? {}) };
    return (
      limits.cpu !== undefined &&
      limits.memory !== undefined &&
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- a manifest may give a quantity as a number (`cpu: 1`) despite the string type; String() compares it with '1'
      String(requests.cpu) === String(limits.cpu) &&
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- as above, for memory
      String(requests.memory) === String(limits.memory)
    );
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function signalNumber(signal: string): number {
  return ({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[signal] ?? 0;
}
