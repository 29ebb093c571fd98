// The portal's pure parts: the text/event-stream parser and the milestones the progress
// timeline derives from the stream.
import { describe, expect, it } from 'vitest';
import { createClusterSchema } from '../../services/core/src/index.js';
import type { Cluster, ClusterEvent, Condition, NodePool } from '../../services/portal/src/api.js';
import { clusterNameProblem, generateClusterName } from '../../services/portal/src/names.js';
import { parseSseChunk } from '../../services/portal/src/sse.js';
import { deriveMilestones } from '../../services/portal/src/timeline.js';

const AT = '2025-01-01T00:00:00.000Z';

function cluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    id: 'c1',
    projectId: 'p1',
    name: 'brisk-harbor-7kq2',
    version: '1.37.0',
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

const condition = (type: string, status: Condition['status'], message = ''): Condition => ({ type, status, reason: status === 'True' ? 'Ok' : 'Waiting', message, lastTransitionTime: AT });
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
    const { messages, rest } = parseSseChunk('retry: 2000\n\n: keep-alive\n\nid: 7\nevent: cluster-event\ndata: {"a":\ndata: 1}\n\nevent: cluster\r\ndata: {}\r\n\r\nid: 8\nevent: clus');
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
    const milestones = deriveMilestones(cluster({ conditions: [condition('EtcdReady', 'True'), condition('APIServerReady', 'False', '0/2 ready')] }), [event('Placed', 'placed on seed sandbox (1/50)')], [pool(1, 0)]);
    expect(states(milestones)).toEqual({ placed: 'done', etcd: 'done', apiserver: 'active', controllerManager: 'pending', nodes: 'pending', running: 'pending' });
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
    expect(milestones.find((milestone) => milestone.key === 'nodes')).toMatchObject({ state: 'failed', detail: 'NodeProvisioningFailed: the cloud refused the size' });
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
