import type { KubeObject } from '../contracts.js';
import { isStatus, sleep, type KubeClient, type Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';

interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

/** nodeConditionToTaintKeyStatusMap: the NoSchedule taint each condition status stands for. */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: 'node.kubernetes.io/not-ready', Unknown: UNREACHABLE_TAINT },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
};
const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface NodeLifecycleOptions {
  /** --node-monitor-grace-period: how long a node may go without a Lease renewal or status update. */
  gracePeriodMs: number;
  /** --node-monitor-period: how often nodes are checked. */
  monitorPeriodMs: number;
}

/**
 * The health part of pkg/controller/nodelifecycle: a node is "probed" whenever its Lease renewTime
 * or its Ready heartbeat changes (observed on our own clock, as the real controller does to
 * tolerate skew); when no probe arrived within the grace period, its conditions become Unknown.
 */
export class NodeLifecycleController {
  private readonly nodes: Informer;
  private readonly leases: Informer;
  private readonly probes = new Map<string, { marker: string; observedAt: number }>();
  private readonly noScheduleQueue: WorkQueue;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly options: NodeLifecycleOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.noScheduleQueue = new WorkQueue((name) => this.syncNoScheduleTaints(name), logger, 'nodelifecycle-noschedule');
    this.nodes = new Informer(
      client,
      '/api/v1/nodes',
      (event, object) => {
        if (event !== 'deleted') this.noScheduleQueue.add(object.metadata.name ?? '');
      },
      logger,
    );
    this.leases = new Informer(client, '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', () => undefined, logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.nodes.run(signal), this.leases.run(signal), this.noScheduleQueue.run(signal), this.monitor(signal)]);
  }

  /**
   * doNoScheduleTaintingPass: the NoSchedule taints a Node carries follow its conditions (Ready
   * False → not-ready, Unknown → unreachable, pressures, network) and spec.unschedulable. This is
   * what lifts the not-ready taint TaintNodesByCondition admission put on the new Node.
   */
  private async syncNoScheduleTaints(name: string): Promise<void> {
    await this.nodes.hasSynced();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const node = await this.client.getOptional(`/api/v1/nodes/${name}`);
      if (!node || node.metadata.deletionTimestamp) return;
      const conditions = (node.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? [];
      const wanted = new Set<string>();
      for (const condition of conditions) {
        const key = CONDITION_TAINTS[condition.type]?.[condition.status];
        if (key) wanted.add(key);
      }
      if ((node.spec as { unschedulable?: boolean } | undefined)?.unschedulable === true) wanted.add(UNSCHEDULABLE_TAINT);
      const taints = this.taints(node);
      const managed = (taint: Taint): boolean => taint.effect === 'NoSchedule' && (taint.key === UNSCHEDULABLE_TAINT || CONDITION_TAINT_KEYS.has(taint.key));
      const present = new Set(taints.filter(managed).map((taint) => taint.key));
      const toAdd = [...wanted].filter((key) => !present.has(key));
      const toDelete = [...present].filter((key) => !wanted.has(key));
      if (toAdd.length === 0 && toDelete.length === 0) return;
      const next = [...taints.filter((taint) => !(managed(taint) && toDelete.includes(taint.key))), ...toAdd.map((key) => ({ key, effect: 'NoSchedule' }))];
      const spec = { ...((node.spec as Record<string, unknown> | undefined) ?? {}) };
      if (next.length > 0) spec.taints = next;
      else delete spec.taints;
      try {
        await this.client.request('PUT', `/api/v1/nodes/${name}`, { ...node, spec });
        return;
      } catch (error) {
        if (isStatus(error, 404)) return;
        if (!isStatus(error, 409)) throw error;
      }
    }
  }

  private async monitor(signal: AbortSignal): Promise<void> {
    await Promise.all([this.nodes.hasSynced(), this.leases.hasSynced()]);
    while (!signal.aborted) {
      for (const node of this.nodes.items()) {
        try {
          await this.check(node);
        } catch (error) {
          this.logger.error(`nodelifecycle ${node.metadata.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      await sleep(this.options.monitorPeriodMs, signal);
    }
  }

  private async check(node: KubeObject): Promise<void> {
    const name = node.metadata.name ?? '';
    const conditions = (node.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? [];
    const ready = conditions.find((condition) => condition.type === 'Ready');
    const lease = this.leases.get(`kube-node-lease/${name}`);
    const renewTime = (lease?.spec as { renewTime?: string } | undefined)?.renewTime ?? '';
    const marker = `${renewTime}|${ready?.lastHeartbeatTime ?? ''}|${ready?.status ?? ''}`;
    const now = this.now();
    const probe = this.probes.get(name);
    if (probe?.marker !== marker) {
      this.probes.set(name, { marker, observedAt: now });
      if (ready?.status === 'True' && this.taints(node).some((taint) => taint.key === UNREACHABLE_TAINT)) await this.setUnreachableTaints(name, false);
      return;
    }
    if (now - probe.observedAt <= this.options.gracePeriodMs) return;
    if (ready?.status === 'Unknown') {
      if (!this.taints(node).some((taint) => taint.key === UNREACHABLE_TAINT && taint.effect === 'NoExecute')) await this.setUnreachableTaints(name, true);
      return;
    }
    await this.markUnknown(name);
  }

  private taints(node: KubeObject): Taint[] {
    return (node.spec as { taints?: Taint[] } | undefined)?.taints ?? [];
  }

  /** The taint manager's unreachable taints: NoSchedule, and NoExecute stamped with the time it was added. */
  private async setUnreachableTaints(name: string, present: boolean): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const node = await this.client.getOptional(`/api/v1/nodes/${name}`);
      if (!node) return;
      const others = this.taints(node).filter((taint) => taint.key !== UNREACHABLE_TAINT);
      const timestamp = new Date(this.now()).toISOString().replace(/\.\d+Z$/, 'Z');
      const taints = present
        ? [...others, { key: UNREACHABLE_TAINT, effect: 'NoSchedule' }, { key: UNREACHABLE_TAINT, effect: 'NoExecute', timeAdded: timestamp }]
        : others;
      const spec = { ...((node.spec as Record<string, unknown> | undefined) ?? {}) };
      if (taints.length > 0) spec.taints = taints;
      else delete spec.taints;
      try {
        await this.client.request('PUT', `/api/v1/nodes/${name}`, { ...node, spec });
        return;
      } catch (error) {
        if (isStatus(error, 404)) return;
        if (!isStatus(error, 409)) throw error;
      }
    }
  }

  private async markUnknown(name: string): Promise<void> {
    const path = `/api/v1/nodes/${name}/status`;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const node = await this.client.getOptional(`/api/v1/nodes/${name}`);
      if (!node) return;
      const status = (node.status ?? {}) as { conditions?: NodeCondition[] };
      const timestamp = new Date(this.now()).toISOString().replace(/\.\d+Z$/, 'Z');
      const conditions = [...(status.conditions ?? [])];
      for (const type of MONITORED_CONDITIONS) {
        const index = conditions.findIndex((condition) => condition.type === type);
        if (index < 0) {
          conditions.push({
            type,
            status: 'Unknown',
            reason: 'NodeStatusNeverUpdated',
            message: 'Kubelet never posted node status.',
            lastHeartbeatTime: timestamp,
            lastTransitionTime: timestamp,
          });
        } else if (conditions[index].status !== 'Unknown') {
          conditions[index] = {
            ...conditions[index],
            status: 'Unknown',
            reason: 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
            lastTransitionTime: timestamp,
          };
        }
      }
      try {
        await this.client.request('PUT', path, { ...node, status: { ...status, conditions } });
        this.logger.info(`nodelifecycle: node ${name} stopped renewing its lease; conditions set to Unknown`);
        return;
      } catch (error) {
        if (isStatus(error, 404)) return;
        if (!isStatus(error, 409)) throw error;
      }
    }
  }
}
