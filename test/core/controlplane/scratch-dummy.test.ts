import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildControlPlane, pkiSpecFor } from '../../../services/core/src/controlplane/index.js';
import { ensureClusterPki } from '../../../services/core/src/pki/index.js';
import { referencePki, referenceSpec, REFERENCE_NOW } from './reference.js';

describe('a component added by one file and one sequence entry', () => {
  it('is issued a certificate, gets its secret, policy and step', async () => {
    const spec = referenceSpec('NodePort');
    const { pki, changed } = await ensureClusterPki(await referencePki(), pkiSpecFor(spec), REFERENCE_NOW);
    expect(changed).toContain('leaf:cluster-autoscaler');
    expect(new X509Certificate(pki.leaves['cluster-autoscaler'].certPem).subject).toBe('CN=harbormaster:cluster-autoscaler');
    const built = buildControlPlane(spec, pki);
    const names = (group: string) => built.groups.find((g) => g.name === group)?.objects.map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(built.groups.map((g) => g.name)).toEqual(['namespace', 'config', 'network-policies', 'etcd', 'apiserver', 'controllers', 'autoscaler']);
    expect(names('config')).toContain('Secret/cluster-autoscaler-kubeconfig');
    expect(names('network-policies')?.at(-1)).toBe('NetworkPolicy/cluster-autoscaler-egress');
    expect(names('autoscaler')).toEqual(['Deployment/cluster-autoscaler']);
    expect(built.groups.at(-1)?.awaits).toEqual([{ kind: 'Deployment', name: 'cluster-autoscaler', readiness: 'deploymentRolledOut', condition: 'ClusterAutoscalerReady' }]);
    expect(built.groups.at(-1)?.waitReason).toBe('WaitingForAutoscaler');
  });
});
