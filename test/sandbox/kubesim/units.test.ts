import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch } from '../../../services/sandbox/src/kubesim/patch/json.js';
import { strategicMergePatch } from '../../../services/sandbox/src/kubesim/patch/strategic.js';
import { matchesLabels, parseLabelSelector } from '../../../services/sandbox/src/kubesim/server/selectors.js';
import { ApiError } from '../../../services/sandbox/src/kubesim/server/errors.js';
import { allocateServiceAddresses } from '../../../services/sandbox/src/kubesim/server/allocator.js';
import type { KubeObject } from '../../../services/sandbox/src/kubesim/contracts.js';

describe('patches', () => {
  it('merge patch deletes with null and replaces lists', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null }, l: [3] })).toEqual({ a: 1, b: { d: 3 }, l: [3] });
  });

  it('JSON patch supports add/remove/move/copy/test and fails on missing paths', () => {
    const doc = { a: { b: [1, 2] }, c: 'x' };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/a/b/-', value: 3 },
        { op: 'move', from: '/c', path: '/d' },
        { op: 'copy', from: '/d', path: '/e' },
        { op: 'remove', path: '/a/b/0' },
      ]),
    ).toEqual({ a: { b: [2, 3] }, d: 'x', e: 'x' });
    expect(() => jsonPatch(doc, [{ op: 'replace', path: '/missing', value: 1 }])).toThrow(ApiError);
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/c', value: 'y' }])).toThrow(/testing value \/c failed/);
    expect(doc).toEqual({ a: { b: [1, 2] }, c: 'x' });
  });

  it('strategic merge patch merges keyed lists and honours directives', () => {
    const pod = {
      spec: {
        containers: [
          { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
          { name: 'b', image: 'b:1' },
        ],
        volumes: [{ name: 'v1' }],
        tolerations: [{ key: 't1' }],
      },
      metadata: { finalizers: ['f1'] },
    };
    const patched = strategicMergePatch(pod, {
      metadata: { finalizers: ['f2'] },
      spec: {
        '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
        containers: [
          { name: 'a', env: [{ name: 'Y', value: '2' }], ports: [{ containerPort: 443 }] },
          { name: 'b', $patch: 'delete' },
        ],
        volumes: [{ name: 'v2' }],
        tolerations: [{ key: 't2' }],
        '$deleteFromPrimitiveList/finalizers': [],
      },
    }) as {
      spec: { containers: Array<{ name: string; env?: unknown[]; ports?: unknown[] }>; volumes: unknown[]; tolerations: unknown[] };
      metadata: { finalizers: string[] };
    };
    expect(patched.spec.containers.map((c) => c.name)).toEqual(['a']);
    // New keyed items come before the server's (apimachinery's normalizeElementOrder).
    expect(patched.spec.containers[0].env).toEqual([
      { name: 'Y', value: '2' },
      { name: 'X', value: '1' },
    ]);
    expect(patched.spec.containers[0].ports).toEqual([{ containerPort: 443 }, { containerPort: 80, protocol: 'TCP' }]);
    expect(patched.spec.volumes).toEqual([{ name: 'v2' }, { name: 'v1' }]);
    expect(patched.spec.tolerations).toEqual([{ key: 't2' }]);
    expect(patched.metadata.finalizers).toEqual(['f1', 'f2']);
    const replaced = strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $patch: 'replace', c: 3 } });
    expect(replaced).toEqual({ spec: { c: 3 } });
    const retained = strategicMergePatch(
      { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
      { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
    );
    expect(retained).toEqual({ strategy: { type: 'Recreate' } });
  });
});

describe('label selectors', () => {
  it('parses every operator', () => {
    const labels = { app: 'web', tier: 'front' };
    const match = (selector: string) => matchesLabels(parseLabelSelector(selector), labels);
    expect(match('app=web')).toBe(true);
    expect(match('app==web,tier!=back')).toBe(true);
    expect(match('app in (web, api),tier notin (back)')).toBe(true);
    expect(match('app,!missing')).toBe(true);
    expect(match('app notin (web)')).toBe(false);
    expect(match('missing')).toBe(false);
    expect(match('')).toBe(true);
    expect(() => parseLabelSelector('app=(')).toThrow(ApiError);
    expect(() => parseLabelSelector('-bad=x')).toThrow(ApiError);
  });
});

describe('service allocation', () => {
  const ranges = { cidr: '10.0.0.0/29', nodePortMin: 30000, nodePortMax: 30001 };
  const service = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }], ...spec },
  });

  it('hands out addresses until the ranges are full', () => {
    const existing: KubeObject[] = [];
    for (const name of ['a', 'b']) {
      const svc = service(name, {});
      expect(allocateServiceAddresses(svc, undefined, existing, ranges)).toEqual([]);
      existing.push(svc);
    }
    const ips = existing.map((s) => (s.spec as { clusterIP: string }).clusterIP);
    expect(new Set(ips).size).toBe(2);
    expect(ips.every((ip) => /^10\.0\.0\.[2-6]$/.test(ip))).toBe(true);
    const full = service('c', {});
    expect(allocateServiceAddresses(full, undefined, existing, ranges).map((c) => c.message)).toEqual(['Invalid value: 0: range is full']);
    const outside = service('d', { type: 'ClusterIP', clusterIP: '10.0.1.5' });
    expect(allocateServiceAddresses(outside, undefined, existing, ranges)[0].message).toContain('is not in the valid range');
  });
});
