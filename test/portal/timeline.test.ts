// The portal's pure parts: the text/event-stream parser, and the milestones, badges and pool
// lines it renders from the API's cluster summary.
import { describe, expect, it } from 'vitest';
import { createClusterSchema } from '../../services/core/src/index.js';
import { summarizeCluster, type ClusterSummaryInput } from '../../services/core/src/state/cluster-summary.js';
import type { ClusterEvent, ClusterSummary, Condition } from '../../services/portal/src/api.js';
import { clusterNameProblem, generateClusterName } from '../../services/portal/src/names.js';
import { parseSseChunk } from '../../services/portal/src/sse.js';
import { milestonesOf, poolLine, stateBadge, upgradeLine, type Milestone } from '../../services/portal/src/timeline.js';

const AT = '2025-01-01T00:00:00.000Z';

const condition = (type: string, status: Condition['status'], message = ''): Condition => ({
  type,
  status,
  reason: status === 'True' ? 'Ok' : 'Waiting',
  message,
  lastTransitionTime: AT,
});
let nextId = 1;
const event = (reason: string, message = '', type: ClusterEvent['type'] = 'Normal'): ClusterEvent => ({ id: nextId++, type, reason, message, createdAt: AT });
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

// The portal renders the API's summary; these build it with the same core function the API runs.
const ready = ['EtcdReady', 'APIServerReady', 'ControllerManagerReady', 'SchedulerReady'].map((type) => condition(type, 'True'));
const addons = ['NetworkReady', 'DNSReady', 'TunnelReady', 'MetricsReady'].map((type) => condition(type, 'True'));
const readyNode = { phase: 'Ready', conditions: [condition('Ready', 'True')] };

function summarized(overrides: Partial<ClusterSummaryInput> = {}): ClusterSummary {
  return summarizeCluster({
    phase: 'Running',
    phaseReason: 'ControlPlaneReady',
    conditions: [...ready, ...addons],
    version: '1.37.2',
    generation: 1,
    observedGeneration: 1,
    deletionRequested: false,
    endpoint: 'https://10.0.0.1:30443',
    seedName: 'sandbox',
    pools: [{ id: 'np1', name: 'default', replicas: 1, deleting: false, conditions: [], nodes: [readyNode] }],
    ...overrides,
  });
}

const states = (milestones: Milestone[]) => Object.fromEntries(milestones.map((milestone) => [milestone.key, milestone.state]));

describe('progress milestones from the summary', () => {
  it('renders every step of the summary, in order, with the networking step, and times from events only for done steps', () => {
    const placed = event('Placed', 'placed on seed sandbox (1/50)');
    const milestones = milestonesOf(summarized(), [placed]);
    expect(milestones.map((milestone) => milestone.key)).toEqual(['placed', 'etcd', 'apiserver', 'controllers', 'networking', 'addons', 'nodes', 'running']);
    expect(milestones.every((milestone) => milestone.state === 'done')).toBe(true);
    expect(milestones[0].at).toBe(placed.createdAt);
    expect(milestonesOf(undefined)).toEqual([]);
  });

  it('shows neither "Running: done" nor a bare Running badge while a node is not Ready, and the pool card agrees', () => {
    const summary = summarized({
      pools: [
        {
          id: 'np1',
          name: 'default',
          replicas: 1,
          deleting: false,
          conditions: [],
          nodes: [{ phase: 'Unhealthy', conditions: [condition('Ready', 'False')] }],
        },
      ],
    });
    expect(states(milestonesOf(summary))).toMatchObject({ nodes: 'active', running: 'active' });
    expect(stateBadge(summary)).toEqual({ text: 'Running · Degraded', tone: 'degraded' });
    expect(poolLine(summary, 'np1', undefined)).toMatchObject({ ready: 0, desired: 1, state: 'Scaling' });
  });

  it('says why when the only pool cannot get a machine', () => {
    const refused = condition('MachinesProvisioned', 'False', 'the cloud refused machine default-x: You specified an invalid size for Droplet creation.');
    const summary = summarized({
      pools: [{ id: 'np1', name: 'default', replicas: 1, deleting: false, conditions: [{ ...refused, reason: 'ProvisioningFailed' }], nodes: [] }],
    });
    expect(summary.headline).toContain('Running · Degraded: no machines — pool default: the cloud refused machine default-x');
    expect(poolLine(summary, 'np1', undefined)?.headline).toBe(
      '0/1 nodes ready · no machines — the cloud refused machine default-x: You specified an invalid size for Droplet creation.',
    );
    expect(states(milestonesOf(summary))).toMatchObject({ nodes: 'failed', running: 'failed' });
  });

  it('follows an upgrade with its own step and keeps the running version apart from the target', () => {
    const summary = summarized({ phase: 'Updating', phaseReason: 'WaitingForControllers', upgradingFrom: '1.36.3', generation: 2, observedGeneration: 1 });
    expect(upgradeLine(summary)).toBe('Upgrade from 1.36.3 to 1.37.2');
    expect(summary.versions).toEqual({ current: '1.36.3', target: '1.37.2' });
    expect(states(milestonesOf(summary))).toMatchObject({ etcd: 'done', apiserver: 'done', controllers: 'active', upgrade: 'active' });
    expect(stateBadge(summary).text).toBe('Upgrading');
    expect(upgradeLine(summarized())).toBeUndefined();
  });

  it('shows a deleting cluster as deleting, nothing else in progress', () => {
    const milestones = milestonesOf(summarized({ phase: 'Deleting', phaseReason: 'DeletionRequested', deletionRequested: true }));
    expect(states(milestones)).toEqual({ placed: 'done', deleting: 'active' });
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
