// Rollout and quorum reading: a status only counts once the controller observed the spec.
import { describe, expect, it } from 'vitest';
import { deploymentRolledOut, statefulSetQuorum } from '../../services/kube/src/index.js';

const deployment = (generation: number, status: Record<string, number>, replicas = 2) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'kube-apiserver', generation },
  spec: { replicas },
  status,
});

describe('deploymentRolledOut', () => {
  it('waits until the current generation is observed, updated everywhere and ready', () => {
    expect(deploymentRolledOut(undefined)).toEqual({ ready: false, message: 'missing' });
    expect(deploymentRolledOut(deployment(3, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2 })).ready).toBe(false);
    expect(deploymentRolledOut(deployment(3, { observedGeneration: 3, replicas: 3, updatedReplicas: 1, readyReplicas: 3 })).message).toMatch(/^rolling out/);
    expect(deploymentRolledOut(deployment(3, { observedGeneration: 3, replicas: 3, updatedReplicas: 2, readyReplicas: 3 })).message).toMatch(
      /^old replicas terminating/,
    );
    expect(deploymentRolledOut(deployment(3, { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 1 })).ready).toBe(false);
    expect(deploymentRolledOut(deployment(3, { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 2 }))).toEqual({
      ready: true,
      message: '2/2 ready, 2 updated',
    });
  });
});

describe('statefulSetQuorum', () => {
  const etcd = (readyReplicas: number, observedGeneration = 1) => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'etcd', generation: 1 },
    spec: { replicas: 3 },
    status: { observedGeneration, replicas: 3, readyReplicas, updatedReplicas: 3 },
  });

  it('is ready with a quorum, and full only with every member', () => {
    expect(statefulSetQuorum(etcd(1), 2).ready).toBe(false);
    expect(statefulSetQuorum(etcd(2), 2)).toEqual({ ready: true, full: false, message: '2/3 members ready (quorum 2)' });
    expect(statefulSetQuorum(etcd(3), 2)).toMatchObject({ ready: true, full: true });
    expect(statefulSetQuorum(etcd(3, 0), 2).ready).toBe(false);
  });

  it('is not full while no member runs the new revision: the apiserver omits a zero updatedReplicas', () => {
    const member = etcd(3);
    const { updatedReplicas: _omitted, ...status } = member.status;
    expect(statefulSetQuorum(Object.assign(member, { status }), 2)).toMatchObject({ ready: true, full: false });
  });
});
