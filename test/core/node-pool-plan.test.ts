import { describe, expect, it } from 'vitest';
import { planPool, poolConverged, poolProgress, type PlannedNode } from '../../services/core/src/state/node-pool-plan.js';

const at = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute));
const node = (id: string, phase: PlannedNode['phase'], minute: number, replacesNodeId: string | null = null): PlannedNode => ({ id, phase, createdAt: at(minute), replacesNodeId });

describe('node pool plan', () => {
  it('creates the missing nodes when machines can be made, and none when they cannot', () => {
    expect(planPool({ desired: 3, nodes: [node('a', 'Ready', 1)], canCreate: true })).toEqual({ create: [{ replacesNodeId: null }, { replacesNodeId: null }], remove: [] });
    expect(planPool({ desired: 3, nodes: [node('a', 'Ready', 1)], canCreate: false })).toEqual({ create: [], remove: [] });
  });

  it('scales down unhealthy nodes first, then the newest', () => {
    const nodes = [node('old', 'Ready', 1), node('sick', 'Unhealthy', 2), node('mid', 'Ready', 3), node('new', 'Joining', 4), node('newest', 'Provisioning', 5)];
    expect(planPool({ desired: 2, nodes, canCreate: true }).remove).toEqual([
      { id: 'sick', reason: 'ScaleDown' },
      { id: 'newest', reason: 'ScaleDown' },
      { id: 'new', reason: 'ScaleDown' },
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
    const nodes = [node('a', 'Ready', 1), node('b', 'Joining', 2), node('c', 'Provisioning', 3), node('d', 'Deleting', 4), node('e', 'Replacing', 5), node('f', 'Unhealthy', 6)];
    expect(poolProgress(3, nodes)).toEqual({ desired: 3, ready: 1, joining: 1, provisioning: 1, deleting: 2, unhealthy: 1 });
    expect(poolConverged(3, nodes)).toBe(false);
    expect(poolConverged(2, [node('a', 'Ready', 1), node('b', 'Ready', 2), node('z', 'Deleted', 0)])).toBe(true);
    expect(poolConverged(0, [])).toBe(true);
  });
});
