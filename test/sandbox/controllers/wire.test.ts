import { createHmac, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeed, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';
import type { KubeObject } from '../../../services/sandbox/src/kubesim/contracts.js';
import { applyDefaultRbac } from './helpers.js';
import { eventually, scaled } from '../../support/time.js';
import { ApiError, KubeClient, silentLogger } from '../../../services/sandbox/src/kubesim/controllers/client.js';
import { startControllers } from '../../../services/sandbox/src/kubesim/controllers/roles.js';
import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const RBAC = 'rbac.authorization.k8s.io';
const TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';

function b64(value: string): string {
  return Buffer.from(value).toString('base64');
}

function bootstrapSecret(id: string, secret: string, expiration: Date): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'bootstrap.kubernetes.io/token',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    data: {
      'token-id': b64(id),
      'token-secret': b64(secret),
      expiration: b64(expiration.toISOString().replace(/\.\d+Z$/, 'Z')),
      'usage-bootstrap-authentication': b64('true'),
      'usage-bootstrap-signing': b64('true'),
      'auth-extra-groups': b64(TOKEN_GROUP),
    },
  };
}

function kubeConfigFor(server: string, caPem: string, user: { token?: string; certPem?: string; keyPem?: string }): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server, caData: b64(caPem) }],
    users: [
      { name: 'u', ...(user.token ? { token: user.token } : {}), ...(user.certPem ? { certData: b64(user.certPem), keyData: b64(user.keyPem ?? '') } : {}) },
    ],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kubeConfig;
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
}

describe('controllers against kubesim over the wire', () => {
  let seed: SeedHandle;
  let admin: KubeClient;
  let stop: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    seed = await createSeed({ authorizationModes: ['Node', 'RBAC'], enableBootstrapTokenAuth: true, anonymous: true });
    dir = mkdtempSync(join(tmpdir(), 'kubesim-controllers-'));
    const kubeconfigPath = join(dir, 'admin.conf');
    writeFileSync(kubeconfigPath, seed.adminKubeconfig);
    admin = await KubeClient.fromFile(kubeconfigPath);
    await applyDefaultRbac(admin);
    stop = await startControllers(kubeconfigPath, {
      controllers: ['namespace', 'garbagecollector', 'bootstrapsigner', 'tokencleaner', 'csrapproving', 'csrsigning', 'nodelifecycle'],
      clusterSigningCertPem: seed.caPem,
      clusterSigningKeyPem: seed.caKeyPem,
      nodeMonitorGracePeriodMs: 1_500,
      nodeMonitorPeriodMs: 200,
      garbageCollectorIntervalMs: 300,
      logger: silentLogger,
    });
  }, scaled(30_000));

  afterAll(async () => {
    await stop?.();
    await seed?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("signs cluster-info for anonymous discovery, and kubeadm's check of the JWS passes", async () => {
    const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: ${b64(seed.caPem)}\n    server: ${seed.url}\n  name: ""\n`;
    await admin.request('POST', '/api/v1/namespaces/kube-public/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cluster-info', namespace: 'kube-public' },
      data: { kubeconfig },
    });
    await admin.request('POST', `/apis/${RBAC}/v1/namespaces/kube-public/roles`, {
      apiVersion: `${RBAC}/v1`,
      kind: 'Role',
      metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo', namespace: 'kube-public' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], verbs: ['get'] }],
    });
    await admin.request('POST', `/apis/${RBAC}/v1/namespaces/kube-public/rolebindings`, {
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo', namespace: 'kube-public' },
      roleRef: { apiGroup: RBAC, kind: 'Role', name: 'kubeadm:bootstrap-signer-clusterinfo' },
      subjects: [{ apiGroup: RBAC, kind: 'User', name: 'system:anonymous' }],
    });
    await admin.request('POST', '/api/v1/namespaces/kube-system/secrets', bootstrapSecret('abcdef', '0123456789abcdef', new Date(Date.now() + 3_600_000)));
    const anonymous = await KubeClient.fromKubeConfig(kubeConfigFor(seed.url, seed.caPem, {}));
    const clusterInfo = await eventually(
      async () => {
        const found = await anonymous.get('/api/v1/namespaces/kube-public/configmaps/cluster-info');
        return (found.data as Record<string, string>)['jws-kubeconfig-abcdef'] ? found : undefined;
      },
      'cluster-info to be signed for token abcdef',
      8_000,
      50,
    );
    const data = clusterInfo.data as Record<string, string>;
    const [header, payload, signature] = data['jws-kubeconfig-abcdef'].split('.');
    expect(payload).toBe('');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', kid: 'abcdef' });
    const expected = createHmac('sha256', '0123456789abcdef')
      .update(`${header}.${Buffer.from(data.kubeconfig).toString('base64url')}`)
      .digest('base64url');
    expect(signature).toBe(expected);
    expect(await statusOf(anonymous.get('/api/v1/namespaces/kube-public/configmaps'))).toBe(403);
    expect(await statusOf(anonymous.get('/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef'))).toBe(403);
  });

  it('answers 401 to an expired bootstrap token and the token cleaner deletes its Secret', async () => {
    // RFC 3339 expirations have whole seconds; leave room for a slow machine before the first call.
    const expiresAt = new Date(Math.ceil((Date.now() + 2_500) / 1000) * 1000);
    await admin.request('POST', '/api/v1/namespaces/kube-system/secrets', bootstrapSecret('old123', '0123456789abcdef', expiresAt));
    const holder = await KubeClient.fromKubeConfig(kubeConfigFor(seed.url, seed.caPem, { token: 'old123.0123456789abcdef' }));
    expect(
      await statusOf(
        holder.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { verb: 'get', resource: 'nodes' } },
        }),
      ),
    ).not.toBe(401);
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 200));
    expect(await statusOf(holder.get('/api/v1/namespaces'))).toBe(401);
    await eventually(
      async () => ((await admin.getOptional('/api/v1/namespaces/kube-system/secrets/bootstrap-token-old123')) ? undefined : true),
      'the token cleaner to delete the expired token Secret',
      8_000,
      50,
    );
  });

  it('approves and signs a node CSR only when the bootstrap token group may create nodeclient CSRs', async () => {
    await admin.request('POST', '/api/v1/namespaces/kube-system/secrets', bootstrapSecret('join01', 'abcdefghij012345', new Date(Date.now() + 3_600_000)));
    await admin.request('POST', `/apis/${RBAC}/v1/clusterrolebindings`, {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:kubelet-bootstrap' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:node-bootstrapper' },
      subjects: [{ apiGroup: RBAC, kind: 'Group', name: TOKEN_GROUP }],
    });
    const joiner = await KubeClient.fromKubeConfig(kubeConfigFor(seed.url, seed.caPem, { token: 'join01.abcdefghij012345' }));
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const request = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=system:node:worker-1, O=system:nodes',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const csrBody = (name: string): KubeObject => ({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: { request: b64(request.toString('pem')), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'] },
    });
    const csrPath = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
    await joiner.request('POST', csrPath, csrBody('node-csr-unbound'));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const pending = await joiner.get(`${csrPath}/node-csr-unbound`);
    expect((pending.status as { conditions?: unknown[] } | undefined)?.conditions ?? []).toEqual([]);

    await admin.request('POST', `/apis/${RBAC}/v1/clusterrolebindings`, {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:node-autoapprove-bootstrap' },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient' },
      subjects: [{ apiGroup: RBAC, kind: 'Group', name: TOKEN_GROUP }],
    });
    await joiner.request('POST', csrPath, csrBody('node-csr-bound'));
    const issued = await eventually(
      async () => {
        const csr = await joiner.get(`${csrPath}/node-csr-bound`);
        return (csr.status as { certificate?: string } | undefined)?.certificate ? csr : undefined;
      },
      'a certificate for node-csr-bound',
      8_000,
      50,
    );
    expect((issued.status as { conditions: Array<{ type: string; reason: string }> }).conditions).toEqual([
      expect.objectContaining({ type: 'Approved', reason: 'AutoApproved' }),
    ]);
    const certPem = Buffer.from((issued.status as { certificate: string }).certificate, 'base64').toString();
    expect(new X509Certificate(certPem).verify(new X509Certificate(seed.caPem).publicKey)).toBe(true);
    // The approver retries with backoff, so the earlier request is approved now that the permission exists.
    await eventually(
      async () => {
        const csr = await joiner.get(`${csrPath}/node-csr-unbound`);
        return (csr.status as { certificate?: string } | undefined)?.certificate ? csr : undefined;
      },
      'a certificate for node-csr-unbound',
      12_000,
      50,
    );
    const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    const kubelet = await KubeClient.fromKubeConfig(kubeConfigFor(seed.url, seed.caPem, { certPem, keyPem }));
    const review = await kubelet.request<{ status: { userInfo: { username: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    expect(review.status.userInfo.username).toBe('system:node:worker-1');
  });

  it('cascades namespace deletion and then removes the namespace', async () => {
    await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await admin.request('POST', '/api/v1/namespaces/doomed/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'doomed' },
      data: { x: '1' },
    });
    await admin.request('POST', '/api/v1/namespaces/doomed/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'b', namespace: 'doomed' },
      stringData: { y: '2' },
    });
    await admin.request('DELETE', '/api/v1/namespaces/doomed');
    await eventually(async () => ((await admin.getOptional('/api/v1/namespaces/doomed')) ? undefined : true), 'namespace doomed to be gone', 8_000, 50);
    expect(await admin.getOptional('/api/v1/namespaces/doomed/configmaps/a')).toBeUndefined();
  });

  it('garbage-collects dependents whose owner is gone', async () => {
    const owner = await admin.request<KubeObject>('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owner' },
    });
    await admin.request('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dependent', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }] },
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await admin.getOptional('/api/v1/namespaces/default/configmaps/dependent')).toBeDefined();
    await admin.request('DELETE', '/api/v1/namespaces/default/configmaps/owner');
    await eventually(
      async () => ((await admin.getOptional('/api/v1/namespaces/default/configmaps/dependent')) ? undefined : true),
      'the dependent ConfigMap to be collected',
      8_000,
      50,
    );
  });

  it('deletes foreground dependents first, then releases the owner', async () => {
    const owner = await admin.request<KubeObject>('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'fg-owner' },
    });
    await admin.request('POST', '/api/v1/namespaces/default/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'fg-dependent',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'fg-owner', uid: owner.metadata.uid, blockOwnerDeletion: true }],
      },
    });
    await admin.request('DELETE', '/api/v1/namespaces/default/configmaps/fg-owner', {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Foreground',
    });
    const deleting = await admin.getOptional('/api/v1/namespaces/default/configmaps/fg-owner');
    expect(deleting?.metadata.finalizers).toContain('foregroundDeletion');
    await eventually(
      async () => ((await admin.getOptional('/api/v1/namespaces/default/configmaps/fg-owner')) ? undefined : true),
      'the foreground owner to be deleted',
      8_000,
      50,
    );
    expect(await admin.getOptional('/api/v1/namespaces/default/secrets/fg-dependent')).toBeUndefined();
  });

  it('orphans dependents when asked to, stripping the owner reference', async () => {
    const owner = await admin.request<KubeObject>('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'orphan-owner' },
    });
    await admin.request('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'orphan-dependent', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'orphan-owner', uid: owner.metadata.uid }] },
    });
    await admin.request('DELETE', '/api/v1/namespaces/default/configmaps/orphan-owner', {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: 'Orphan',
    });
    await eventually(
      async () => ((await admin.getOptional('/api/v1/namespaces/default/configmaps/orphan-owner')) ? undefined : true),
      'the orphaning owner to be deleted',
      8_000,
      50,
    );
    const dependent = await admin.get('/api/v1/namespaces/default/configmaps/orphan-dependent');
    expect(dependent.metadata.ownerReferences ?? []).toEqual([]);
  });

  it('turns Ready to Unknown when the node Lease goes stale', async () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await admin.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'stale-1' } });
    const node = await admin.get('/api/v1/nodes/stale-1');
    await admin.request('PUT', '/api/v1/nodes/stale-1/status', {
      ...node,
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    });
    await admin.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'stale-1', namespace: 'kube-node-lease' },
      spec: { holderIdentity: 'stale-1', leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z') },
    });
    const started = Date.now();
    const unknown = await eventually(
      async () => {
        const current = await admin.get('/api/v1/nodes/stale-1');
        const ready = (current.status as { conditions: Array<{ type: string; status: string; reason?: string }> }).conditions.find(
          (condition) => condition.type === 'Ready',
        );
        return ready?.status === 'Unknown' ? ready : undefined;
      },
      'Ready to turn Unknown on node stale-1',
      8_000,
      50,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(unknown.reason).toBe('NodeStatusUnknown');
    const tainted = await eventually(
      async () => {
        const current = await admin.get('/api/v1/nodes/stale-1');
        const taints = (current.spec as { taints?: Array<{ key: string; effect: string }> } | undefined)?.taints ?? [];
        // The NoSchedule taint follows the Unknown condition at once (the no-schedule tainting pass);
        // the taint manager's NoExecute taint comes with the next monitor period.
        return taints.some((taint) => taint.effect === 'NoExecute') ? current : undefined;
      },
      'the unreachable taints on node stale-1',
      8_000,
      50,
    );
    expect((tainted.spec as { taints: Array<{ key: string; effect: string }> }).taints.map((taint) => `${taint.key}:${taint.effect}`)).toEqual([
      'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
    ]);
    // The kubelet comes back: Ready again, and the taints go away.
    const back = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await admin.request('PUT', '/api/v1/nodes/stale-1/status', {
      ...tainted,
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: back,
            lastTransitionTime: back,
          },
        ],
      },
    });
    await eventually(
      async () => {
        const current = await admin.get('/api/v1/nodes/stale-1');
        return ((current.spec as { taints?: unknown[] } | undefined)?.taints ?? []).length === 0 ? true : undefined;
      },
      'the taints on node stale-1 to go',
      8_000,
      50,
    );
  });
});
