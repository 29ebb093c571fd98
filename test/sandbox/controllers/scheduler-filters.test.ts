// The scheduler's node predicates on their own: the operators and corner cases add-on manifests use.
import { describe, expect, it } from 'vitest';
import type { V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import { nodeMatchesPod, parseQuantity, podRequests, tolerates, untoleratedTaint } from '../../../services/sandbox/src/kubesim/controllers/scheduler.js';
import { daemonPodTolerations } from '../../../services/sandbox/src/kubesim/controllers/daemonset.js';

const node = (name: string, labels: Record<string, string>, taints: V1Taint[] = []): V1Node => ({
  metadata: { name, labels },
  spec: { taints },
});

describe('scheduler predicates', () => {
  it('matches required node affinity with every operator and matchFields on metadata.name', () => {
    const worker = node('worker-1', { tier: '5', zone: 'a' });
    const withTerms = (expressions: object[], fields: object[] = []): V1Pod => ({
      spec: {
        containers: [],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: expressions as never, matchFields: fields as never }] },
          },
        },
      },
    });
    expect(nodeMatchesPod(worker, withTerms([{ key: 'zone', operator: 'In', values: ['a', 'b'] }]))).toBe(true);
    expect(nodeMatchesPod(worker, withTerms([{ key: 'zone', operator: 'NotIn', values: ['a'] }]))).toBe(false);
    expect(nodeMatchesPod(worker, withTerms([{ key: 'gpu', operator: 'NotIn', values: ['yes'] }]))).toBe(true);
    expect(nodeMatchesPod(worker, withTerms([{ key: 'gpu', operator: 'DoesNotExist' }]))).toBe(true);
    expect(nodeMatchesPod(worker, withTerms([{ key: 'zone', operator: 'Exists' }]))).toBe(true);
    expect(nodeMatchesPod(worker, withTerms([{ key: 'tier', operator: 'Gt', values: ['4'] }]))).toBe(true);
    expect(nodeMatchesPod(worker, withTerms([{ key: 'tier', operator: 'Lt', values: ['5'] }]))).toBe(false);
    expect(nodeMatchesPod(worker, withTerms([], [{ key: 'metadata.name', operator: 'In', values: ['worker-1'] }]))).toBe(true);
    expect(nodeMatchesPod(worker, withTerms([], [{ key: 'metadata.name', operator: 'In', values: ['worker-2'] }]))).toBe(false);
    // An empty term selects nothing.
    expect(nodeMatchesPod(worker, withTerms([]))).toBe(false);
    expect(nodeMatchesPod(worker, { spec: { containers: [], nodeSelector: { zone: 'b' } } })).toBe(false);
  });

  it('tolerates by key, value and effect, and everything with a keyless Exists', () => {
    const taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };
    expect(tolerates([{ operator: 'Exists' }], taint)).toBe(true);
    expect(tolerates([{ operator: 'Exists', effect: 'NoExecute' }], taint)).toBe(false);
    expect(tolerates([{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }], { key: 'dedicated', value: 'infra', effect: 'NoSchedule' })).toBe(true);
    expect(tolerates([{ key: 'dedicated', value: 'other' }], { key: 'dedicated', value: 'infra', effect: 'NoSchedule' })).toBe(false);
    // PreferNoSchedule never keeps a pod off a node.
    expect(untoleratedTaint(node('n', {}, [{ key: 'soft', effect: 'PreferNoSchedule' }]), [])).toBeUndefined();
    // A DaemonSet pod's own defaults: not-ready only as NoExecute, so the NoSchedule taint of a NotReady node still applies.
    const defaults = daemonPodTolerations({ containers: [] });
    expect(untoleratedTaint(node('n', {}, [taint]), defaults)).toEqual(taint);
    expect(untoleratedTaint(node('n', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), defaults)).toBeUndefined();
    expect(daemonPodTolerations({ containers: [], hostNetwork: true }).some((toleration) => toleration.key === 'node.kubernetes.io/network-unavailable')).toBe(
      true,
    );
  });

  it('reads quantities and sums requests with the init-container maximum', () => {
    expect(parseQuantity('100m')).toBeCloseTo(0.1);
    expect(parseQuantity('1.5')).toBe(1.5);
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1e3')).toBe(1000);
    const pod: V1Pod = {
      spec: {
        containers: [
          { name: 'a', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
          { name: 'b', resources: { requests: { cpu: '250m' } } },
        ],
        initContainers: [{ name: 'init', resources: { requests: { cpu: '500m', memory: '16Mi' } } }],
      },
    };
    expect(podRequests(pod)).toEqual({ cpu: 500, memory: 64 * 2 ** 20 });
  });
});
