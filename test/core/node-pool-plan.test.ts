import { describe, expect, it } from 'vitest';
import { isOutdated, nodesAtVersion, planPool, poolConverged, poolProgress, type PlannedNode } from '../../services/core/src/state/node-pool-plan.js';

const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute));
const node = (
  id: string,
  phase: PlannedNode['phase'],
  minute: number,
  replacesNodeId: string | null = null,
  kubeletVersion: string | null = null,
): PlannedNode => ({ id, phase, createdAt: at(minute), replacesNodeId, kubeletVersion });
const OLD = 'v1.35.4';
const NEW = 'v1.36.3';
const rollout = { kubeletVersion: NEW };
const at35 = (id: string, minute: number, phase: PlannedNode['phase'] = 'Ready') => node(id, phase, minute, null, OLD);
const at36 = (id: string, minute: number, phase: PlannedNode['phase'] = 'Ready', replacesNodeId: string | null = null) =>
  node(id, phase, minute, replacesNodeId, NEW);

describe('node pool plan', () => {
  it('creates the missing nodes when machines can be made, and none when they cannot', () => {
    expect(planPool({ desired: 3, nodes: [node('a', 'Ready', 1)], canCreate: true })).toEqual({
      create: [{ replacesNodeId: null }, { replacesNodeId: null }],
      remove: [],
    });
    expect(planPool({ desired: 3, nodes: [node('a', 'Ready', 1)], canCreate: false })).toEqual({ create: [], remove: [] });
  });

  it('scales down unhealthy nodes first, then the newest', () => {
    const nodes = [
      node('old', 'Ready', 1),
      node('sick', 'Unhealthy', 2),
      node('mid', 'Ready', 3),
      node('new', 'Joining', 4),
      node('newest', 'Provisioning', 5),
    ];
    expect(planPool({ desired: 2, nodes, canCreate: true }).remove).toEqual([
      { id: 'sick', reason: 'ScaleDown' },
      { id: 'newest', reason: 'ScaleDown' },
      { id: 'new', reason: 'ScaleDown' },
    ]);
  });

  it('keeps the Ready node when the others are older but not Ready', () => {
    const nodes = [node('joining', 'Joining', 1), node('provisioning', 'Provisioning', 2), node('ready', 'Ready', 5)];
    expect(planPool({ desired: 1, nodes, canCreate: true }).remove).toEqual([
      { id: 'provisioning', reason: 'ScaleDown' },
      { id: 'joining', reason: 'ScaleDown' },
    ]);
  });

  it('ignores nodes already leaving', () => {
    const nodes = [node('a', 'Ready', 1), node('b', 'Deleting', 2), node('c', 'Deleted', 3)];
    expect(planPool({ desired: 1, nodes, canCreate: true })).toEqual({ create: [], remove: [] });
  });

  it('replaces a node: the replacement first, the old node only once the replacement is Ready', () => {
    const before = [node('a', 'Ready', 1), node('b', 'Replacing', 2)];
    expect(planPool({ desired: 2, nodes: before, canCreate: true })).toEqual({ create: [{ replacesNodeId: 'b' }], remove: [] });
    const joining = [...before, node('c', 'Joining', 3, 'b')];
    expect(planPool({ desired: 2, nodes: joining, canCreate: true })).toEqual({ create: [], remove: [] });
    const ready = [...before, node('c', 'Ready', 3, 'b')];
    expect(planPool({ desired: 2, nodes: ready, canCreate: true })).toEqual({ create: [], remove: [{ id: 'b', reason: 'Replaced' }] });
  });

  it('keeps a Replacing node while its replacement cannot be made yet, and drops it when the pool shrank', () => {
    const nodes = [node('a', 'Ready', 1), node('b', 'Replacing', 2)];
    expect(planPool({ desired: 2, nodes, canCreate: false })).toEqual({ create: [], remove: [] });
    expect(planPool({ desired: 1, nodes, canCreate: true })).toEqual({ create: [], remove: [{ id: 'b', reason: 'ReplacementNotNeeded' }] });
    expect(planPool({ desired: 0, nodes, canCreate: false }).remove).toEqual([
      { id: 'a', reason: 'ScaleDown' },
      { id: 'b', reason: 'ReplacementNotNeeded' },
    ]);
  });

  it('removes the old node too when scale-down takes its replacement', () => {
    const nodes = [node('a', 'Ready', 1), node('b', 'Replacing', 2), node('c', 'Joining', 3, 'b')];
    expect(planPool({ desired: 1, nodes, canCreate: true }).remove).toEqual([
      { id: 'c', reason: 'ScaleDown' },
      { id: 'b', reason: 'ReplacementNotNeeded' },
    ]);
  });

  it('reports progress and convergence', () => {
    const nodes = [
      node('a', 'Ready', 1),
      node('b', 'Joining', 2),
      node('c', 'Provisioning', 3),
      node('d', 'Deleting', 4),
      node('e', 'Replacing', 5),
      node('f', 'Unhealthy', 6),
    ];
    expect(poolProgress(3, nodes)).toEqual({ desired: 3, ready: 1, joining: 1, provisioning: 1, deleting: 2, unhealthy: 1 });
    expect(poolConverged(3, nodes)).toBe(false);
    expect(poolConverged(2, [node('a', 'Ready', 1), node('b', 'Ready', 2), node('z', 'Deleted', 0)])).toBe(true);
    expect(poolConverged(0, [])).toBe(true);
  });

  describe('rolling update', () => {
    it('starts with the oldest outdated node, and only when every node is Ready and the pool is at its size', () => {
      const nodes = [at35('b', 2), at35('a', 1), at36('c', 3)];
      expect(planPool({ desired: 3, nodes, canCreate: true, rollout })).toEqual({ create: [], remove: [], replaceNext: 'a' });
      expect(planPool({ desired: 3, nodes: [at35('a', 1), at35('b', 2, 'Unhealthy'), at36('c', 3)], canCreate: true, rollout }).replaceNext).toBeUndefined();
      expect(planPool({ desired: 3, nodes: [at35('a', 1), at36('c', 3, 'Joining')], canCreate: true, rollout }).replaceNext).toBeUndefined();
      expect(planPool({ desired: 2, nodes: [at35('a', 1)], canCreate: true, rollout })).toEqual({ create: [{ replacesNodeId: null }], remove: [] });
    });

    it('waits while machines cannot be made, and does nothing without a rollout or once every node is current', () => {
      const nodes = [at35('a', 1), at35('b', 2)];
      expect(planPool({ desired: 2, nodes, canCreate: false, rollout })).toEqual({ create: [], remove: [] });
      expect(planPool({ desired: 2, nodes, canCreate: true })).toEqual({ create: [], remove: [] });
      expect(planPool({ desired: 2, nodes: [at36('a', 1), at36('b', 2)], canCreate: true, rollout })).toEqual({ create: [], remove: [] });
    });

    it('replaces one node at a time: surge 1, the next only after the previous old node is gone', () => {
      const first = [node('a', 'Replacing', 1, null, OLD), at35('b', 2)];
      expect(planPool({ desired: 2, nodes: first, canCreate: true, rollout })).toEqual({ create: [{ replacesNodeId: 'a' }], remove: [] });
      const joining = [...first, at36('c', 3, 'Joining', 'a')];
      expect(planPool({ desired: 2, nodes: joining, canCreate: true, rollout })).toEqual({ create: [], remove: [] });
      const ready = [...first, at36('c', 3, 'Ready', 'a')];
      expect(planPool({ desired: 2, nodes: ready, canCreate: true, rollout })).toEqual({ create: [], remove: [{ id: 'a', reason: 'Replaced' }] });
      // Still draining: its machine counts against the surge.
      const removing = [node('a', 'Deleting', 1, null, OLD), at35('b', 2), at36('c', 3, 'Ready', 'a')];
      expect(planPool({ desired: 2, nodes: removing, canCreate: true, rollout })).toEqual({ create: [], remove: [] });
      const gone = [node('a', 'Deleted', 1, null, OLD), at35('b', 2), at36('c', 3, 'Ready', 'a')];
      expect(planPool({ desired: 2, nodes: gone, canCreate: true, rollout }).replaceNext).toBe('b');
    });

    it('does not start while a health repair is in flight', () => {
      const nodes = [at35('a', 1), node('b', 'Replacing', 2, null, OLD), at36('c', 3, 'Ready', 'b')];
      expect(planPool({ desired: 2, nodes, canCreate: true, rollout })).toEqual({ create: [], remove: [{ id: 'b', reason: 'Replaced' }] });
    });

    it('lets a scale request win on the count: scale-down takes outdated nodes first among the Ready, scale-up adds current ones', () => {
      const nodes = [at35('a', 1), at36('b', 2), at35('c', 3)];
      expect(planPool({ desired: 1, nodes, canCreate: true, rollout }).remove).toEqual([
        { id: 'c', reason: 'ScaleDown' },
        { id: 'a', reason: 'ScaleDown' },
      ]);
      // Without a rollout the newest go, as before.
      expect(planPool({ desired: 1, nodes, canCreate: true }).remove.map((removal) => removal.id)).toEqual(['c', 'b']);
      expect(planPool({ desired: 4, nodes, canCreate: true, rollout })).toEqual({ create: [{ replacesNodeId: null }], remove: [] });
      // Shrinking while a replacement is in flight: serving comes before the rollout, so the Ready
      // (if outdated) node stays, and the replacement still joining goes with the node it replaced;
      // the rollout replaces the survivor afterwards.
      const inFlight = [node('a', 'Replacing', 1, null, OLD), at35('b', 2), at36('c', 3, 'Joining', 'a')];
      expect(planPool({ desired: 1, nodes: inFlight, canCreate: true, rollout })).toEqual({
        create: [],
        remove: [
          { id: 'c', reason: 'ScaleDown' },
          { id: 'a', reason: 'ReplacementNotNeeded' },
        ],
      });
      const settled = [node('a', 'Replacing', 1, null, OLD), at36('c', 3, 'Ready', 'a')];
      expect(planPool({ desired: 1, nodes: settled, canCreate: true, rollout })).toEqual({ create: [], remove: [{ id: 'a', reason: 'Replaced' }] });
    });

    it('counts the Ready nodes at the target version', () => {
      const nodes = [node('a', 'Replacing', 1, null, OLD), at35('b', 2), at36('c', 3, 'Ready', 'a'), at36('d', 4, 'Joining'), node('e', 'Provisioning', 5)];
      expect(nodesAtVersion(nodes, rollout)).toBe(1);
      expect(isOutdated(at35('x', 1), rollout)).toBe(true);
      expect(isOutdated(node('y', 'Provisioning', 1), rollout)).toBe(false);
    });
  });
});
