// The one status model: each contradiction the portal showed before is a case here, and each
// must now be impossible because every view renders this function's output.
import { describe, expect, it } from 'vitest';
import {
  summarizeCluster,
  summarizePool,
  type ClusterSummary,
  type ClusterSummaryInput,
  type NodeSummaryInput,
  type PoolSummaryInput,
  type SummaryConditionInput,
} from '../../services/core/src/state/cluster-summary.js';
import { poolConverged, poolProgress, type PlannedNode } from '../../services/core/src/state/node-pool-plan.js';

const AT = '2026-01-01T00:00:00.000Z';
const condition = (
  type: string,
  status: SummaryConditionInput['status'],
  reason = status === 'True' ? 'Ready' : 'Waiting',
  message = '',
): SummaryConditionInput => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: AT,
});
const CONTROL_PLANE = ['EtcdReady', 'APIServerReady', 'ControllerManagerReady', 'SchedulerReady'].map((type) => condition(type, 'True'));
const ADDONS = ['NetworkReady', 'DNSReady', 'TunnelReady', 'MetricsReady'].map((type) => condition(type, 'True'));

const node = (phase: string, ready?: SummaryConditionInput['status']): NodeSummaryInput => ({ phase, conditions: ready ? [condition('Ready', ready)] : [] });
const pool = (replicas: number, nodes: NodeSummaryInput[], conditions: SummaryConditionInput[] = []): PoolSummaryInput => ({
  id: 'np1',
  name: 'default',
  replicas,
  deleting: false,
  conditions,
  nodes,
});

function input(overrides: Partial<ClusterSummaryInput> = {}): ClusterSummaryInput {
  return {
    phase: 'Running',
    phaseReason: 'ControlPlaneReady',
    conditions: [...CONTROL_PLANE, ...ADDONS],
    version: '1.36.3',
    generation: 1,
    observedGeneration: 1,
    deletionRequested: false,
    endpoint: 'https://10.0.0.1:30443',
    seedName: 'sandbox',
    pools: [pool(1, [node('Ready', 'True')])],
    ...overrides,
  };
}

const stepOf = (summary: ClusterSummary, id: string) => summary.timeline.find((step) => step.id === id);
const statuses = (summary: ClusterSummary) => Object.fromEntries(summary.timeline.map((step) => [step.id, step.status]));

/** What no view may show: "Running" done while anything it summarises is not. */
function expectNoUnqualifiedRunning(summary: ClusterSummary): void {
  const degraded = summary.qualifiers.length > 0 || summary.nodes.ready < summary.nodes.desired;
  if (!degraded) return;
  expect(summary.headline).not.toBe('Running');
  expect(stepOf(summary, 'running')?.status).not.toBe('done');
}

describe('cluster summary', () => {
  it('is Running with every step done only when control plane, add-ons and nodes all are', () => {
    const summary = summarizeCluster(input());
    expect(summary).toMatchObject({ state: 'Running', qualifiers: [], headline: 'Running', nodes: { ready: 1, desired: 1 } });
    expect(summary.versions).toEqual({ current: '1.36.3', target: null });
    expect(Object.values(statuses(summary)).every((status) => status === 'done')).toBe(true);
    expect(summary.timeline.map((step) => step.id)).toEqual(['placed', 'etcd', 'apiserver', 'controllers', 'networking', 'addons', 'nodes', 'running']);
  });

  it('never says "Running: done" while nodes are still joining', () => {
    const summary = summarizeCluster(input({ pools: [pool(2, [node('Ready', 'True'), node('Joining')])] }));
    expect(summary.state).toBe('Running');
    expect(summary.qualifiers).toEqual([expect.objectContaining({ type: 'Degraded', reason: 'NodesNotReady', short: '1/2 nodes ready' })]);
    expect(summary.headline).toBe('Running · Degraded: 1/2 nodes ready');
    expect(stepOf(summary, 'nodes')).toMatchObject({ title: 'Nodes ready 1/2', status: 'active' });
    expect(stepOf(summary, 'running')).toMatchObject({ title: 'Running · Degraded', status: 'active' });
    expectNoUnqualifiedRunning(summary);
  });

  it('counts a node ready only when its tenant Node is Ready: the nodes step, the pool card and the node row agree', () => {
    // The join marked the row Ready, then the health checker saw the Node go NotReady and the node Unhealthy.
    for (const sick of [node('Ready', 'False'), node('Unhealthy', 'False'), node('Unhealthy', 'True'), node('Ready', 'Unknown')]) {
      const summary = summarizeCluster(input({ pools: [pool(1, [sick])] }));
      expect(summary.nodes).toEqual({ ready: 0, desired: 1 });
      expect(summary.pools[0]).toMatchObject({ ready: 0, desired: 1, state: 'Scaling', reason: 'NodesNotReady' });
      expect(summary.pools[0].headline.startsWith('0/1 nodes ready')).toBe(true);
      expect(stepOf(summary, 'nodes')).toMatchObject({ title: 'Nodes ready 0/1' });
      expect(stepOf(summary, 'nodes')?.status).not.toBe('done');
      expectNoUnqualifiedRunning(summary);
    }
  });

  it('qualifies Running with the cloud message when the only pool cannot get a machine', () => {
    const refused = condition('MachinesProvisioned', 'False', 'ProvisioningFailed', 'the cloud refused machine default-x: insufficient capacity');
    const summary = summarizeCluster(input({ pools: [pool(1, [node('Provisioning')], [refused])] }));
    expect(summary.state).toBe('Running');
    expect(summary.qualifiers[0]).toMatchObject({ reason: 'PoolProvisioningFailed', short: 'no machines' });
    expect(summary.headline).toBe('Running · Degraded: no machines — pool default: the cloud refused machine default-x: insufficient capacity');
    expect(summary.pools[0]).toMatchObject({ state: 'Degraded', reason: 'PoolProvisioningFailed' });
    expect(summary.pools[0].headline).toBe('0/1 nodes ready · no machines — the cloud refused machine default-x: insufficient capacity');
    expect(stepOf(summary, 'nodes')?.status).toBe('failed');
    expect(stepOf(summary, 'running')?.status).toBe('failed');
    expectNoUnqualifiedRunning(summary);
    // Once a machine came up after all, the old refusal explains nothing.
    const recovered = summarizeCluster(input({ pools: [pool(1, [node('Ready', 'True')], [refused])] }));
    expect(recovered.headline).toBe('Running');
  });

  it('says NetworkNotReady when the network add-on or a pool says nodes have no pod network, with a networking step', () => {
    const addonDown = summarizeCluster(
      input({ conditions: [...CONTROL_PLANE, condition('NetworkReady', 'False', 'DaemonSetNotReady', 'cilium 0/1 ready'), ...ADDONS.slice(1)] }),
    );
    expect(addonDown.qualifiers[0]).toMatchObject({ reason: 'NetworkNotReady' });
    expect(stepOf(addonDown, 'networking')).toMatchObject({ status: 'active', detail: 'DaemonSetNotReady: cilium 0/1 ready' });
    expect(addonDown.addons.find((addon) => addon.condition === 'NetworkReady')).toMatchObject({ name: 'Networking', status: 'False' });

    const nodesReady = condition('NodesReady', 'False', 'NetworkPluginNotReady', 'node default-x joined but is NotReady: cni plugin not initialized');
    const poolDown = summarizeCluster(input({ pools: [pool(1, [node('Joining')], [nodesReady])] }));
    expect(poolDown.qualifiers.map((qualifier) => qualifier.reason)).toEqual(['NetworkNotReady']);
    expect(poolDown.pools[0]).toMatchObject({ state: 'Degraded', reason: 'NetworkNotReady' });
    expect(stepOf(poolDown, 'networking')?.detail).toContain('cni plugin not initialized');
    expectNoUnqualifiedRunning(poolDown);
  });

  it('lists the add-ons and says AddonsNotReady for the ones that are not', () => {
    const summary = summarizeCluster(
      input({ conditions: [...CONTROL_PLANE, ...ADDONS.slice(0, 3), condition('MetricsReady', 'False', 'Waiting', '0/1 available')] }),
    );
    expect(summary.addons.map((addon) => addon.name)).toEqual(['Networking', 'DNS', 'Tunnel', 'Metrics']);
    expect(summary.qualifiers[0]).toMatchObject({ reason: 'AddonsNotReady', short: 'Metrics not ready' });
    expect(stepOf(summary, 'addons')).toMatchObject({ title: 'Add-ons (DNS, Tunnel, Metrics)', status: 'active' });
  });

  it('keeps the running version apart from the target during an upgrade, with an upgrade step', () => {
    const summary = summarizeCluster(
      input({ phase: 'Updating', phaseReason: 'WaitingForAPIServer', version: '1.37.2', upgradingFrom: '1.36.3', generation: 2, observedGeneration: 1 }),
    );
    expect(summary.state).toBe('Upgrading');
    expect(summary.versions).toEqual({ current: '1.36.3', target: '1.37.2' });
    expect(summary.headline).toBe('Upgrading 1.36.3 → 1.37.2');
    expect(statuses(summary)).toMatchObject({ etcd: 'done', apiserver: 'active', controllers: 'pending', upgrade: 'active' });
    expect(stepOf(summary, 'apiserver')?.title).toBe('API server at 1.37.2');
    expect(stepOf(summary, 'upgrade')?.title).toBe('Upgrade 1.36.3 → 1.37.2');
    expect(stepOf(summary, 'running')).toBeUndefined();
    // Finished: the target is what runs.
    const done = summarizeCluster(input({ version: '1.37.2', generation: 2, observedGeneration: 2 }));
    expect(done.versions).toEqual({ current: '1.37.2', target: null });
    expect(stepOf(done, 'upgrade')).toBeUndefined();
  });

  it('gives a deleting cluster a deletion step and nothing else in progress', () => {
    const summary = summarizeCluster(input({ phase: 'Deleting', phaseReason: 'DeletionRequested', deletionRequested: true }));
    expect(summary.state).toBe('Deleting');
    expect(summary.headline).toBe('Deleting');
    expect(summary.timeline.map((step) => [step.id, step.status])).toEqual([
      ['placed', 'done'],
      ['deleting', 'active'],
    ]);
    expect(summary.timeline.some((step) => step.id === 'running')).toBe(false);
  });

  it('shows provisioning progress at the step the worker waits for, and a failure there with its reason', () => {
    const provisioning = summarizeCluster(
      input({
        phase: 'Provisioning',
        phaseReason: 'WaitingForAPIServer',
        conditions: [condition('EtcdReady', 'True'), condition('APIServerReady', 'False', 'Waiting', '0/2 ready')],
        endpoint: null,
        pools: [pool(1, [])],
      }),
    );
    expect(statuses(provisioning)).toMatchObject({
      placed: 'done',
      etcd: 'done',
      apiserver: 'active',
      controllers: 'pending',
      nodes: 'pending',
      running: 'pending',
    });
    expect(stepOf(provisioning, 'apiserver')?.detail).toBe('0/2 ready');
    expect(provisioning.headline).toBe('Provisioning');

    const failed = summarizeCluster(
      input({ phase: 'Failed', phaseReason: 'ProvisioningTimedOut', conditions: [condition('EtcdReady', 'False', 'Waiting', '0/1 members ready')], pools: [] }),
    );
    expect(statuses(failed)).toMatchObject({ etcd: 'failed', apiserver: 'pending', nodes: 'skipped', running: 'failed' });
    expect(stepOf(failed, 'etcd')?.detail).toBe('ProvisioningTimedOut: 0/1 members ready');
    expect(failed.headline).toBe('Failed (ProvisioningTimedOut)');
  });

  it('leaves a pool being deleted out of the counts', () => {
    const going = { ...pool(2, [node('Ready', 'True')]), id: 'np2', name: 'old', deleting: true };
    const summary = summarizeCluster(input({ pools: [pool(1, [node('Ready', 'True')]), going] }));
    expect(summary.nodes).toEqual({ ready: 1, desired: 1 });
    expect(summary.headline).toBe('Running');
    expect(summary.pools.find((candidate) => candidate.id === 'np2')).toMatchObject({ state: 'Deleting' });
    expect(summarizePool(going).headline).toBe('1/2 nodes ready · deleting');
  });

  it('counts a scale operation ready the same way: a Ready row whose Node reads NotReady is not ready, nor converged', () => {
    const planned = (nodeReady: boolean | undefined): PlannedNode => ({
      id: 'n1',
      phase: 'Ready',
      createdAt: new Date(AT),
      replacesNodeId: null,
      kubeletVersion: 'v1.36.3',
      nodeReady,
    });
    expect(poolProgress(1, [planned(false)]).ready).toBe(0);
    expect(poolConverged(1, [planned(false)])).toBe(false);
    expect(poolProgress(1, [planned(true)]).ready).toBe(1);
    // Before the health checker's first reading the join's own check (Node Ready) stands.
    expect(poolConverged(1, [planned(undefined)])).toBe(true);
  });
});
