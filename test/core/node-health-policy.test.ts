import { describe, expect, it } from 'vitest';
import {
  evaluatePoolHealth,
  PLANNED_REPLACEMENT,
  remediationBudget,
  type Condition,
  type HealthCheckSettings,
  type NodeHealthInput,
  type NodeObservation,
  type NodePhase,
  type PoolHealthInput,
} from '../../services/core/src/index.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ago = (seconds: number): Date => new Date(NOW.getTime() - seconds * 1000);
const SETTINGS: HealthCheckSettings = { startupTimeoutSeconds: 900, unhealthyTimeoutSeconds: 300, maxUnhealthyPercent: 40 };

const healthy = (now = NOW): NodeObservation => ({
  node: { ready: { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: new Date(now.getTime() - 5_000) } },
  leaseRenewTime: new Date(now.getTime() - 3_000),
  ssh: { ok: true, reason: 'SshProbeSucceeded', message: 'ok' },
});
const dead = (): NodeObservation => ({
  node: { ready: { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: ago(120) } },
  leaseRenewTime: ago(120),
  ssh: { ok: false, reason: 'SshProbeFailed', message: 'connect ECONNREFUSED' },
});
const notRegistered = (): NodeObservation => ({ node: null, leaseRenewTime: null, ssh: null });
const sshFailingSince = (seconds: number): Condition => ({
  type: 'SshReachable',
  status: 'False',
  reason: 'SshProbeFailed',
  message: 'refused',
  lastTransitionTime: ago(seconds).toISOString(),
});

let counter = 0;
function node(phase: NodePhase, observation: NodeObservation, extra: Partial<NodeHealthInput> = {}): NodeHealthInput {
  counter += 1;
  return {
    id: `node-${counter}`,
    name: `worker-${counter}`,
    phase,
    phaseReason: '',
    createdAt: ago(3600),
    unhealthySince: null,
    lastHeartbeatAt: null,
    conditions: [],
    observation,
    ...extra,
  };
}

function evaluate(nodes: NodeHealthInput[], overrides: Partial<PoolHealthInput> = {}) {
  return evaluatePoolHealth({ settings: SETTINGS, poolConditions: [], apiReachable: true, nodes, now: NOW, ...overrides });
}

const conditionOf = (conditions: readonly Condition[], type: string): Condition | undefined => conditions.find((condition) => condition.type === type);

describe('node health policy: one node', () => {
  const cases: Array<{ name: string; input: NodeHealthInput; phase: NodePhase; reason?: string; transition?: string; unhealthySince?: Date | null }> = [
    { name: 'a healthy Ready node stays Ready', input: node('Ready', healthy()), phase: 'Ready', transition: undefined },
    {
      name: 'a Ready node whose Lease and SSH fail turns Unhealthy at once',
      input: node('Ready', dead()),
      phase: 'Unhealthy',
      reason: 'LeaseStale',
      transition: 'Unhealthy',
      unhealthySince: NOW,
    },
    {
      name: 'Ready=False from the kubelet is unhealthy, reason from the Node',
      input: node('Ready', {
        ...healthy(),
        node: { ready: { status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down', lastHeartbeatTime: ago(2) } },
      }),
      phase: 'Unhealthy',
      reason: 'KubeletNotReady',
      transition: 'Unhealthy',
    },
    {
      name: 'one failed SSH probe shows in SshReachable but leaves a Ready node Ready',
      input: node('Ready', { ...healthy(), ssh: { ok: false, reason: 'SshTimeout', message: 'no answer within 5000 ms' } }),
      phase: 'Ready',
      transition: undefined,
    },
    {
      name: 'SSH failing for 29 s is still within its grace',
      input: node('Ready', { ...healthy(), ssh: { ok: false, reason: 'SshProbeFailed', message: 'refused' } }, { conditions: [sshFailingSince(29)] }),
      phase: 'Ready',
      transition: undefined,
    },
    {
      name: 'SSH failing for 30 s makes a Ready node Unhealthy (SSH is a health signal of its own)',
      input: node('Ready', { ...healthy(), ssh: { ok: false, reason: 'SshProbeFailed', message: 'refused' } }, { conditions: [sshFailingSince(30)] }),
      phase: 'Unhealthy',
      reason: 'SshProbeFailed',
      transition: 'Unhealthy',
      unhealthySince: NOW,
    },
    {
      name: 'a changed host key counts at once: it is not transient',
      input: node('Ready', { ...healthy(), ssh: { ok: false, reason: 'HostKeyMismatch', message: 'host key changed' } }),
      phase: 'Unhealthy',
      reason: 'HostKeyMismatch',
      transition: 'Unhealthy',
    },
    { name: 'an unprobed node (no address yet) is not held against it', input: node('Ready', { ...healthy(), ssh: null }), phase: 'Ready' },
    {
      name: 'a deleted Node object makes a Ready node unhealthy',
      input: node('Ready', { node: null, leaseRenewTime: null, ssh: { ok: true, reason: 'SshProbeSucceeded', message: 'ok' } }),
      phase: 'Unhealthy',
      reason: 'NodeNotFound',
      transition: 'Unhealthy',
    },
    {
      name: 'a Node registered moments ago without its Lease yet is alive by its status heartbeat (a real kubelet creates the Lease on its next round)',
      input: node('Ready', { ...healthy(), leaseRenewTime: null }),
      phase: 'Ready',
      transition: undefined,
    },
    {
      name: 'no Lease and a node status older than the grace period is unhealthy',
      input: node('Ready', {
        ...healthy(),
        leaseRenewTime: null,
        node: { ready: { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: ago(41) } },
      }),
      phase: 'Unhealthy',
      reason: 'LeaseNotFound',
      transition: 'Unhealthy',
    },
    { name: 'a lease renewed exactly 40 s ago is still fresh', input: node('Ready', { ...healthy(), leaseRenewTime: ago(40) }), phase: 'Ready' },
    {
      name: 'a lease renewed 41 s ago is stale',
      input: node('Ready', { ...healthy(), leaseRenewTime: ago(41) }),
      phase: 'Unhealthy',
      reason: 'LeaseStale',
      transition: 'Unhealthy',
    },
    {
      name: 'an Unhealthy node whose checks pass again recovers and forgets when it went bad',
      input: node('Unhealthy', healthy(), { phaseReason: 'LeaseStale', unhealthySince: ago(100) }),
      phase: 'Ready',
      reason: 'HealthChecksPassing',
      transition: 'Recovered',
      unhealthySince: null,
    },
    {
      name: 'an Unhealthy node inside the unhealthy timeout keeps waiting (and its first-seen time)',
      input: node('Unhealthy', dead(), { phaseReason: 'LeaseStale', unhealthySince: ago(299) }),
      phase: 'Unhealthy',
      reason: 'LeaseStale',
      transition: undefined,
      unhealthySince: ago(299),
    },
    {
      name: 'a Provisioning node inside its startup window is left alone',
      input: node('Provisioning', notRegistered(), { createdAt: ago(899) }),
      phase: 'Provisioning',
    },
    {
      name: 'a Joining node inside its startup window is left alone',
      input: node('Joining', { ...notRegistered(), ssh: { ok: true, reason: 'SshProbeSucceeded', message: 'ok' } }, { createdAt: ago(60) }),
      phase: 'Joining',
    },
    {
      name: 'a Joining node that registered healthy is the reconciler’s to mark Ready, even past the startup timeout',
      input: node('Joining', healthy(), { createdAt: ago(1000) }),
      phase: 'Joining',
    },
    {
      name: 'Replacing and its conditions are observed, never changed',
      input: node('Replacing', dead(), { phaseReason: 'LeaseStale', unhealthySince: ago(400) }),
      phase: 'Replacing',
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const [decision] = evaluate([testCase.input]).nodes;
      expect(decision.phase).toBe(testCase.phase);
      if (testCase.reason !== undefined) expect(decision.phaseReason).toBe(testCase.reason);
      expect(decision.transition).toBe(testCase.transition);
      if (testCase.unhealthySince !== undefined) expect(decision.unhealthySince).toEqual(testCase.unhealthySince);
    });
  }

  it('writes the three conditions with reasons a person can act on', () => {
    const [decision] = evaluate([node('Ready', dead())]).nodes;
    expect(decision.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['LeaseFresh', 'False', 'LeaseStale'],
      ['Ready', 'True', 'KubeletReady'],
      ['SshReachable', 'False', 'SshProbeFailed'],
    ]);
    expect(conditionOf(decision.conditions, 'LeaseFresh')?.message).toBe('last renewed 120 s ago (stale after 40 s)');
    // SSH has only just failed (still within its grace), so the Lease is what makes it unhealthy.
    expect(decision.problem).toBe('LeaseFresh False (LeaseStale): last renewed 120 s ago (stale after 40 s)');
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it on a change', () => {
    const earlier = '2026-03-01T11:00:00.000Z';
    const previous: Condition[] = [
      { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'x', lastTransitionTime: earlier },
      { type: 'SshReachable', status: 'True', reason: 'SshProbeSucceeded', message: 'ok', lastTransitionTime: earlier },
    ];
    const [decision] = evaluate([
      node('Ready', { ...healthy(), ssh: { ok: false, reason: 'SshProbeFailed', message: 'refused' } }, { conditions: previous }),
    ]).nodes;
    expect(conditionOf(decision.conditions, 'Ready')?.lastTransitionTime).toBe(earlier);
    expect(conditionOf(decision.conditions, 'SshReachable')?.lastTransitionTime).toBe(NOW.toISOString());
  });

  it('takes the newest heartbeat of the Lease, the Node status and what was recorded before', () => {
    const [decision] = evaluate([node('Ready', { ...healthy(), leaseRenewTime: ago(7) }, { lastHeartbeatAt: ago(30) })]).nodes;
    expect(decision.lastHeartbeatAt).toEqual(ago(5));
    const [gone] = evaluate([node('Ready', notRegistered(), { lastHeartbeatAt: ago(30) })]).nodes;
    expect(gone.lastHeartbeatAt).toEqual(ago(30));
  });

  it('Deleting and Deleted nodes are not judged at all', () => {
    const result = evaluate([node('Deleting', dead()), node('Deleted', dead())]);
    expect(result.nodes).toEqual([]);
    expect(result.budget.counted).toBe(0);
  });
});

describe('node health policy: flapping', () => {
  const at = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1000);
  const round = (current: NodeHealthInput, observation: NodeObservation, now: Date) => {
    const [decision] = evaluatePoolHealth({ settings: SETTINGS, poolConditions: [], apiReachable: true, nodes: [current], now }).nodes;
    const next: NodeHealthInput = {
      ...current,
      phase: decision.phase,
      phaseReason: decision.phaseReason,
      unhealthySince: decision.unhealthySince,
      conditions: decision.conditions,
      observation,
    };
    return { decision, next };
  };
  const sshDown = (now: Date): NodeObservation => ({ ...healthy(now), ssh: { ok: false, reason: 'SshTimeout', message: 'slow' } });

  it('SSH failing every other round never flips the phase: each success restarts the grace', () => {
    let current = node('Ready', sshDown(at(0)));
    for (let index = 0; index < 8; index += 1) {
      const { decision, next } = round(current, index % 2 === 0 ? healthy(at((index + 1) * 15)) : sshDown(at((index + 1) * 15)), at(index * 15));
      expect(decision.phase).toBe('Ready');
      expect(decision.transition).toBeUndefined();
      current = next;
    }
  });

  it('a node that is Unhealthy and recovers goes back to Ready and forgets when it went bad', () => {
    let current = node('Ready', dead());
    let step = round(current, healthy(at(15)), at(0));
    expect(step.decision).toMatchObject({ phase: 'Unhealthy', transition: 'Unhealthy', unhealthySince: at(0) });
    current = step.next;
    step = round(current, dead(), at(15));
    expect(step.decision).toMatchObject({ phase: 'Ready', transition: 'Recovered', unhealthySince: null });
    // Bad again: a fresh unhealthy period, not the old one resumed.
    current = { ...step.next, observation: dead() };
    step = round(current, dead(), at(30));
    expect(step.decision).toMatchObject({ phase: 'Unhealthy', unhealthySince: at(30) });
  });

  it('a node that goes bad again after recovering starts a new unhealthy period: it is not replaced on the old one', () => {
    const [decision] = evaluate([node('Ready', dead(), { unhealthySince: null })]).nodes;
    expect(decision.unhealthySince).toEqual(NOW);
    const result = evaluate([
      node('Unhealthy', dead(), { phaseReason: 'LeaseStale', unhealthySince: decision.unhealthySince }),
      node('Ready', healthy()),
      node('Ready', healthy()),
    ]);
    expect(result.remediate).toEqual([]);
    expect(result.nodes[0].heldBack).toBe(false);
  });
});

describe('node health policy: startup timeout', () => {
  it('a Provisioning node past its startup timeout is due for remediation at once (reason StartupTimeout)', () => {
    const stuck = node('Provisioning', notRegistered(), { createdAt: ago(900) });
    const result = evaluate([stuck, node('Ready', healthy()), node('Ready', healthy())]);
    const decision = result.nodes[0];
    expect(decision.phase).toBe('Replacing');
    expect(decision.phaseReason).toBe('StartupTimeout');
    expect(decision.transition).toBe('Replacing');
    expect(result.remediate).toEqual([stuck.id]);
  });

  it('a timed-out Joining node held back by the short-circuit stays Unhealthy with StartupTimeout', () => {
    const result = evaluate([node('Joining', notRegistered(), { createdAt: ago(1000) }), node('Ready', dead()), node('Ready', healthy())]);
    expect(result.nodes[0].phase).toBe('Unhealthy');
    expect(result.nodes[0].phaseReason).toBe('StartupTimeout');
    expect(result.nodes[0].heldBack).toBe(true);
    expect(result.remediate).toEqual([]);
  });

  it('StartupTimeout sticks while the node stays unhealthy, so it stays due at once', () => {
    const result = evaluate([
      node(
        'Unhealthy',
        { ...notRegistered(), ssh: { ok: false, reason: 'SshProbeFailed', message: 'refused' } },
        { phaseReason: 'StartupTimeout', unhealthySince: ago(1), createdAt: ago(2000) },
      ),
      node('Ready', healthy()),
      node('Ready', healthy()),
    ]);
    expect(result.nodes[0].phaseReason).toBe('StartupTimeout');
    expect(result.nodes[0].phase).toBe('Replacing');
  });
});

describe('node health policy: remediation and the maxUnhealthy short-circuit', () => {
  const budgetCases: Array<{ phases: NodePhase[]; percent: number; counted: number; unhealthy: number; max: number; allowed: boolean }> = [
    // CAPI: floor(percent × counted), allowed while unhealthy ≤ max.
    { phases: ['Ready', 'Ready', 'Unhealthy'], percent: 40, counted: 3, unhealthy: 1, max: 1, allowed: true },
    { phases: ['Ready', 'Unhealthy', 'Unhealthy'], percent: 40, counted: 3, unhealthy: 2, max: 1, allowed: false },
    { phases: ['Ready', 'Unhealthy', 'Replacing'], percent: 40, counted: 3, unhealthy: 2, max: 1, allowed: false },
    { phases: ['Ready', 'Unhealthy'], percent: 40, counted: 2, unhealthy: 1, max: 0, allowed: false },
    { phases: ['Unhealthy'], percent: 100, counted: 1, unhealthy: 1, max: 1, allowed: true },
    { phases: ['Unhealthy'], percent: 0, counted: 1, unhealthy: 1, max: 0, allowed: false },
    { phases: ['Ready', 'Ready', 'Ready'], percent: 0, counted: 3, unhealthy: 0, max: 0, allowed: true },
    // 40 % of 25 is 10: 10 unhealthy may be remediated, 11 may not.
    {
      phases: [...Array<NodePhase>(15).fill('Ready'), ...Array<NodePhase>(10).fill('Unhealthy')],
      percent: 40,
      counted: 25,
      unhealthy: 10,
      max: 10,
      allowed: true,
    },
    {
      phases: [...Array<NodePhase>(14).fill('Ready'), ...Array<NodePhase>(11).fill('Unhealthy')],
      percent: 40,
      counted: 25,
      unhealthy: 11,
      max: 10,
      allowed: false,
    },
    // Starting nodes count neither way; Deleting ones are on their way out.
    { phases: ['Ready', 'Ready', 'Unhealthy', 'Provisioning', 'Joining', 'Deleting'], percent: 40, counted: 3, unhealthy: 1, max: 1, allowed: true },
    { phases: [], percent: 40, counted: 0, unhealthy: 0, max: 0, allowed: true },
  ];
  for (const testCase of budgetCases) {
    it(`${testCase.unhealthy} unhealthy of ${testCase.counted} at ${testCase.percent}% → max ${testCase.max}, ${testCase.allowed ? 'allowed' : 'short-circuited'}`, () => {
      const nodes = testCase.phases.map((phase) => ({ phase, phaseReason: phase === 'Ready' ? 'HealthChecksPassing' : 'LeaseStale' }));
      expect(remediationBudget(nodes, testCase.percent)).toEqual({
        counted: testCase.counted,
        unhealthy: testCase.unhealthy,
        maxUnhealthy: testCase.max,
        allowed: testCase.allowed,
      });
    });
  }

  it('a healthy node replaced on request or by a rolling update is not unhealthy, so it never trips the short-circuit', () => {
    for (const phaseReason of Object.values(PLANNED_REPLACEMENT)) {
      const pool = [
        { phase: 'Replacing' as const, phaseReason },
        { phase: 'Ready' as const, phaseReason: 'HealthChecksPassing' },
      ];
      expect(remediationBudget(pool, 40)).toEqual({ counted: 2, unhealthy: 0, maxUnhealthy: 0, allowed: true });
    }
    // The same node replaced by remediation still counts.
    expect(
      remediationBudget(
        [
          { phase: 'Replacing', phaseReason: 'LeaseStale' },
          { phase: 'Ready', phaseReason: 'HealthChecksPassing' },
        ],
        40,
      ).allowed,
    ).toBe(false);
  });

  it('replaces a node unhealthy for longer than the timeout when the pool has budget', () => {
    const bad = node('Unhealthy', dead(), { phaseReason: 'LeaseStale', unhealthySince: ago(300) });
    const result = evaluate([bad, node('Ready', healthy()), node('Ready', healthy())]);
    expect(result.remediate).toEqual([bad.id]);
    expect(result.nodes[0]).toMatchObject({ phase: 'Replacing', phaseReason: 'LeaseStale', transition: 'Replacing', heldBack: false });
    expect(conditionOf(result.poolConditions, 'RemediationAllowed')).toMatchObject({ status: 'True', reason: 'WithinMaxUnhealthy' });
    // A healthy pool's first verdict is not news.
    expect(result.remediationAllowedChangedTo).toBeUndefined();
  });

  it('the replacement starting next to its Replacing original is counted once, so one replacement does not trip the short-circuit', () => {
    const result = evaluate([
      node('Replacing', dead(), { phaseReason: 'LeaseStale', unhealthySince: ago(400) }),
      node('Provisioning', notRegistered(), { createdAt: ago(20) }),
      node('Ready', healthy()),
      node('Ready', healthy()),
    ]);
    expect(result.budget).toEqual({ counted: 3, unhealthy: 1, maxUnhealthy: 1, allowed: true });
  });

  it('two of three down: nothing is replaced and RemediationAllowed turns False (TooManyUnhealthy)', () => {
    const a = node('Unhealthy', dead(), { phaseReason: 'LeaseStale', unhealthySince: ago(400) });
    const b = node('Unhealthy', dead(), { phaseReason: 'LeaseStale', unhealthySince: ago(400) });
    const previous: Condition[] = [
      { type: 'RemediationAllowed', status: 'True', reason: 'WithinMaxUnhealthy', message: '', lastTransitionTime: ago(3600).toISOString() },
    ];
    const result = evaluate([a, b, node('Ready', healthy())], { poolConditions: previous });
    expect(result.remediate).toEqual([]);
    expect(result.nodes.filter((n) => n.heldBack).map((n) => n.id)).toEqual([a.id, b.id]);
    expect(result.nodes.map((n) => n.phase)).toEqual(['Unhealthy', 'Unhealthy', 'Ready']);
    const condition = conditionOf(result.poolConditions, 'RemediationAllowed');
    expect(condition).toMatchObject({ status: 'False', reason: 'TooManyUnhealthy', lastTransitionTime: NOW.toISOString() });
    expect(condition?.message).toBe('2 of 3 node(s) unhealthy; at most 1 (40%) may be; remediation is short-circuited until enough nodes recover');
    expect(result.remediationAllowedChangedTo).toBe('False');
  });

  it('the short-circuit is raised even when nothing is due yet, and lifts when nodes recover', () => {
    const raised = evaluate([node('Ready', dead()), node('Ready', dead()), node('Ready', healthy())]);
    expect(raised.remediationAllowedChangedTo).toBe('False');
    expect(raised.remediate).toEqual([]);
    const lifted = evaluate(
      [node('Unhealthy', healthy(), { unhealthySince: ago(20) }), node('Unhealthy', dead(), { unhealthySince: ago(20) }), node('Ready', healthy())],
      { poolConditions: raised.poolConditions },
    );
    expect(lifted.remediationAllowedChangedTo).toBe('True');
    expect(conditionOf(lifted.poolConditions, 'RemediationAllowed')?.status).toBe('True');
  });

  it('with budget for every due node, all of them are replaced in one round', () => {
    const due = [1, 2].map(() => node('Unhealthy', dead(), { phaseReason: 'LeaseStale', unhealthySince: ago(301) }));
    const result = evaluate([...due, node('Ready', healthy()), node('Ready', healthy()), node('Ready', healthy())]);
    expect(result.budget).toMatchObject({ counted: 5, unhealthy: 2, maxUnhealthy: 2, allowed: true });
    expect(result.remediate).toEqual(due.map((n) => n.id));
  });

  it('an unreachable tenant API concludes nothing: conditions Unknown, no phase change, no remediation, pool condition untouched', () => {
    const bad = node('Unhealthy', dead(), { phaseReason: 'LeaseStale', unhealthySince: ago(1000) });
    const stuck = node('Provisioning', notRegistered(), { createdAt: ago(5000) });
    const result = evaluate([bad, stuck, node('Ready', dead())], { apiReachable: false });
    expect(result.nodes.map((n) => n.phase)).toEqual(['Unhealthy', 'Provisioning', 'Ready']);
    expect(result.nodes.every((n) => n.transition === undefined)).toBe(true);
    expect(result.remediate).toEqual([]);
    expect(result.poolConditions).toEqual([]);
    expect(conditionOf(result.nodes[2].conditions, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'TenantAPIUnreachable' });
    // SSH is observed independently of the tenant API.
    expect(conditionOf(result.nodes[2].conditions, 'SshReachable')).toMatchObject({ status: 'False', reason: 'SshProbeFailed' });
  });
});
