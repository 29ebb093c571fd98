// The portal's pure parts: the text/event-stream parser and the milestones the progress
// timeline derives from the stream.
import { describe, expect, it } from 'vitest';
import { createClusterSchema } from '../../services/core/src/index.js';
import type { Cluster, ClusterEvent, Condition, NodePool } from '../../services/portal/src/api.js';
import { clusterNameProblem, generateClusterName } from '../../services/portal/src/names.js';
import { parseSseChunk } from '../../services/portal/src/sse.js';
import { deriveMilestones, upgradeInProgress } from '../../services/portal/src/timeline.js';

const AT = '2025-01-01T00:00:00.000Z';

function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    id: 'c1',
    projectId: 'p1',
    name: 'brisk-harbor-7kq2',
    version: '1.37.2',
    seed: { id: 's1', name: 'sandbox' },
    exposeStrategy: 'NodePort',
    etcdReplicas: 1,
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    phase: 'Provisioning',
    phaseReason: 'Placed',
    conditions: [],
    endpoint: null,
    generation: 1,
    observedGeneration: 0,
    createdAt: AT,
    updatedAt: AT,
    deletionRequestedAt: null,
    ...overrides,
  };
}

const condition = (type: string, status: Condition['status'], message = ''): Condition => ({
  type,
  status,
  reason: status === 'True' ? 'Ok' : 'Waiting',
  message,
  lastTransitionTime: AT,
});
let nextId = 1;
const event = (reason: string, message = '', type: ClusterEvent['type'] = 'Normal'): ClusterEvent => ({ id: nextId++, type, reason, message, createdAt: AT });
const pool = (replicas: number, ready: number): NodePool => ({
  id: 'np1',
  clusterId: 'c1',
  name: 'default',
  credentialId: 'cr1',
  provider: 'digitalocean',
  region: 'fra1',
  size: 's-2vcpu-4gb',
  image: 'ubuntu-24-04-x64',
  replicas,
  status: { nodes: replicas, ready },
  createdAt: AT,
  deletionRequestedAt: null,
});

const states = (milestones: ReturnType<typeof deriveMilestones>) => Object.fromEntries(milestones.map((milestone) => [milestone.key, milestone.state]));

describe('event-stream parser', () => {
  it('splits events, joins multi-line data, keeps ids and retry, skips comments and keeps the unfinished rest', () => {
    const { messages, rest } = parseSseChunk(
      'retry: 2000\n\n: keep-alive\n\nid: 7\nevent: cluster-event\ndata: {"a":\ndata: 1}\n\nevent: cluster\r\ndata: {}\r\n\r\nid: 8\nevent: clus',
    );
    expect(messages).toEqual([
      { event: '', data: '', retry: 2000 },
      { event: 'cluster-event', data: '{"a":\n1}', id: '7', retry: undefined },
      { event: 'cluster', data: '{}', id: undefined, retry: undefined },
    ]);
    expect(rest).toBe('id: 8\nevent: clus');
  });
});

describe('progress milestones', () => {
  it('marks the first unfinished control-plane step as in progress, with the condition message', () => {
    const milestones = deriveMilestones(
      cluster({ conditions: [condition('EtcdReady', 'True'), condition('APIServerReady', 'False', '0/2 ready')] }),
      [event('Placed', 'placed on seed sandbox (1/50)')],
      [pool(1, 0)],
    );
    expect(states(milestones)).toEqual({
      placed: 'done',
      etcd: 'done',
      apiserver: 'active',
      controllerManager: 'pending',
      nodes: 'pending',
      running: 'pending',
    });
    expect(milestones.find((milestone) => milestone.key === 'apiserver')?.detail).toBe('0/2 ready');
  });

  it('counts nodes joining k/N from the pools, and from a newer NodeJoined event', () => {
    const running = cluster({ phase: 'Running', conditions: ['EtcdReady', 'APIServerReady', 'ControllerManagerReady'].map((type) => condition(type, 'True')) });
    const partly = deriveMilestones(running, [event('NodeJoined', 'node default-abc joined (2/3 ready)')], [pool(3, 1)]);
    expect(partly.find((milestone) => milestone.key === 'nodes')).toMatchObject({ label: 'Nodes joining 2/3', state: 'active' });
    expect(states(partly).running).toBe('done');
    const all = deriveMilestones(running, [], [pool(3, 3)]);
    expect(all.find((milestone) => milestone.key === 'nodes')).toMatchObject({ label: 'Nodes joining 3/3', state: 'done' });
    expect(deriveMilestones(running, [], []).find((milestone) => milestone.key === 'nodes')?.state).toBe('skipped');
  });

  it('shows a failed phase as a failure of the step that did not finish, with the reason', () => {
    const failed = cluster({ phase: 'Failed', phaseReason: 'ProvisioningTimedOut', conditions: [condition('EtcdReady', 'False', '0/1 members ready')] });
    const milestones = deriveMilestones(failed, [event('Placed'), event('ProgressDeadlineExceeded', 'not converged within 600s', 'Warning')], []);
    expect(states(milestones)).toMatchObject({ placed: 'done', etcd: 'failed', apiserver: 'pending', running: 'failed' });
    expect(milestones.find((milestone) => milestone.key === 'etcd')?.detail).toBe('ProvisioningTimedOut: not converged within 600s');
  });

  it('shows a node warning as a failed node step', () => {
    const running = cluster({ phase: 'Running', conditions: ['EtcdReady', 'APIServerReady', 'ControllerManagerReady'].map((type) => condition(type, 'True')) });
    const milestones = deriveMilestones(running, [event('NodeProvisioningFailed', 'the cloud refused the size', 'Warning')], [pool(1, 0)]);
    expect(milestones.find((milestone) => milestone.key === 'nodes')).toMatchObject({
      state: 'failed',
      detail: 'NodeProvisioningFailed: the cloud refused the size',
    });
  });
});

describe('progress milestones during an upgrade', () => {
  const ready = ['EtcdReady', 'APIServerReady', 'ControllerManagerReady', 'SchedulerReady'].map((type) => condition(type, 'True'));
  // What the cluster went through before the upgrade: created, converged, one ready event per step.
  const created = () => [
    event('Placed', 'placed on seed sandbox (1/50)'),
    event('EtcdReady'),
    event('APIServerReady'),
    event('ControllerManagerReady'),
    event('ControlPlaneReady', 'control plane 1.36.3 is ready at https://10.0.0.1:30443'),
  ];
  const upgrading = (overrides: Partial<Cluster> = {}) =>
    cluster({
      version: '1.37.2',
      phase: 'Updating',
      phaseReason: 'UpgradeRequested',
      conditions: ready,
      generation: 2,
      observedGeneration: 1,
      endpoint: 'https://10.0.0.1:30443',
      ...overrides,
    });
  const labelOf = (milestones: ReturnType<typeof deriveMilestones>, key: string) => milestones.find((milestone) => milestone.key === key)?.label;

  it('counts nothing from before the request once an upgrade was just requested: the API server is next', () => {
    const current = upgrading();
    const events = [...created(), event('UpgradeRequested', 'upgrade from 1.36.3 to 1.37.2 requested')];
    const milestones = deriveMilestones(current, events, []);
    expect(states(milestones)).toEqual({
      placed: 'done',
      etcd: 'done',
      apiserver: 'active',
      controllerManager: 'pending',
      nodes: 'skipped',
      running: 'pending',
    });
    expect(labelOf(milestones, 'apiserver')).toBe('API server 1.37.2 rolled out');
    expect(labelOf(milestones, 'controllerManager')).toBe('Controller manager 1.37.2 rolled out');
    expect(upgradeInProgress(current, events)).toMatchObject({ from: '1.36.3', to: '1.37.2' });
  });

  it('shows the new apiserver rolling out with its condition, then the controller manager once the controllers were applied', () => {
    const events = [
      ...created(),
      event('UpgradeRequested', 'upgrade from 1.36.3 to 1.37.2 requested'),
      event('AppliedApiserver', 'applied Deployment/kube-apiserver'),
    ];
    const rollingOut = upgrading({
      phaseReason: 'WaitingForAPIServer',
      conditions: ready.map((candidate) =>
        candidate.type === 'APIServerReady' ? condition('APIServerReady', 'False', 'rolling out (0/1 ready, 0 updated)') : candidate,
      ),
    });
    const waiting = deriveMilestones(
      rollingOut,
      [...events, event('APIServerReadyFalse', 'APIServerReady is False: rolling out (0/1 ready, 0 updated)', 'Warning')],
      [],
    );
    expect(states(waiting)).toMatchObject({ etcd: 'done', apiserver: 'active', controllerManager: 'pending', running: 'pending' });
    expect(waiting.find((milestone) => milestone.key === 'apiserver')?.detail).toBe('rolling out (0/1 ready, 0 updated)');

    const rolledOut = [
      ...events,
      event('APIServerReadyFalse', '', 'Warning'),
      event('APIServerReady'),
      event('AppliedControllers', 'applied Deployment/kube-controller-manager, Deployment/kube-scheduler'),
    ];
    const milestones = deriveMilestones(upgrading({ phaseReason: 'WaitingForControllers' }), rolledOut, []);
    expect(states(milestones)).toEqual({ placed: 'done', etcd: 'done', apiserver: 'done', controllerManager: 'active', nodes: 'skipped', running: 'pending' });
    // The controllers applied for the new version prove the rollout even without a condition flip.
    const withoutFlip = deriveMilestones(upgrading({ phaseReason: 'WaitingForControllers' }), [...events, event('AppliedControllers')], []);
    expect(states(withoutFlip)).toMatchObject({ apiserver: 'done', controllerManager: 'active' });
  });

  it('follows etcd as well when the new minor pairs with another etcd release', () => {
    const events = [...created(), event('UpgradeRequested', 'upgrade from 1.35.4 to 1.36.3 requested'), event('AppliedEtcd', 'applied StatefulSet/etcd')];
    const rolling = upgrading({
      version: '1.36.3',
      phaseReason: 'WaitingForEtcd',
      conditions: ready.map((candidate) => (candidate.type === 'EtcdReady' ? condition('EtcdReady', 'False', '0/1 members ready (quorum 1)') : candidate)),
    });
    const milestones = deriveMilestones(rolling, [...events, event('EtcdReadyFalse', '', 'Warning')], []);
    expect(states(milestones)).toMatchObject({ etcd: 'active', apiserver: 'pending', controllerManager: 'pending' });
    expect(labelOf(milestones, 'etcd')).toBe('etcd ready for 1.36.3');
    const quorum = deriveMilestones(
      upgrading({ version: '1.36.3', phaseReason: 'WaitingForAPIServer' }),
      [...events, event('EtcdReadyFalse', '', 'Warning'), event('EtcdReady'), event('AppliedApiserver')],
      [],
    );
    expect(states(quorum)).toMatchObject({ etcd: 'done', apiserver: 'active' });
  });

  it('shows every step done again once the upgrade finished', () => {
    const events = [
      ...created(),
      event('UpgradeRequested', 'upgrade from 1.36.3 to 1.37.2 requested'),
      event('AppliedApiserver'),
      event('APIServerReady'),
      event('AppliedControllers'),
      event('ControlPlaneReady', 'control plane 1.37.2 is ready at https://10.0.0.1:30443'),
    ];
    const finished = upgrading({ phase: 'Running', phaseReason: 'ControlPlaneReady', observedGeneration: 2 });
    const milestones = deriveMilestones(finished, events, [pool(1, 1)]);
    expect(states(milestones)).toEqual({ placed: 'done', etcd: 'done', apiserver: 'done', controllerManager: 'done', nodes: 'done', running: 'done' });
    expect(labelOf(milestones, 'apiserver')).toBe('API server ready');
    expect(upgradeInProgress(finished, events)).toBeUndefined();
  });

  it('shows an upgrade that timed out as a failure of the step it waits for, with the reason', () => {
    const events = [
      event('ProgressDeadlineExceeded', 'not converged within 1200s; waiting for: the LoadBalancer has no address yet (WaitingForEndpoint)', 'Warning'),
      ...created(),
      event('UpgradeRequested', 'upgrade from 1.36.3 to 1.37.2 requested'),
      event('AppliedApiserver'),
      event('APIServerReadyFalse', 'APIServerReady is False: /readyz: HTTP 500', 'Warning'),
      event('ProgressDeadlineExceeded', 'not converged within 1200s; waiting for: /readyz failed (WaitingForAPIServer)', 'Warning'),
    ];
    const failed = upgrading({
      phase: 'Failed',
      phaseReason: 'UpdateTimedOut',
      conditions: ready.map((candidate) => (candidate.type === 'APIServerReady' ? condition('APIServerReady', 'False', '/readyz: HTTP 500') : candidate)),
    });
    const milestones = deriveMilestones(failed, events, []);
    expect(states(milestones)).toEqual({
      placed: 'done',
      etcd: 'done',
      apiserver: 'failed',
      controllerManager: 'pending',
      nodes: 'skipped',
      running: 'failed',
    });
    expect(milestones.find((milestone) => milestone.key === 'apiserver')?.detail).toBe(
      'UpdateTimedOut: not converged within 1200s; waiting for: /readyz failed (WaitingForAPIServer)',
    );
    expect(upgradeInProgress(failed, events)).toMatchObject({ from: '1.36.3', to: '1.37.2' });
  });
});

describe('generated cluster names', () => {
  it('always satisfy the API name rule, and the portal check agrees with it', () => {
    for (let i = 0; i < 200; i += 1) {
      const name = generateClusterName();
      expect(clusterNameProblem(name)).toBeUndefined();
      expect(createClusterSchema.safeParse({ name }).success).toBe(true);
    }
    for (const bad of ['Bad_Name', '-x', 'a'.repeat(41)]) expect(createClusterSchema.safeParse({ name: bad }).success).toBe(false);
    expect(clusterNameProblem('Bad_Name')).toBeDefined();
    expect(clusterNameProblem('-x')).toBeDefined();
    expect(clusterNameProblem('a'.repeat(41))).toBeDefined();
  });
});
