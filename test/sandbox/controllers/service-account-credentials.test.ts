import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeed, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';
import { ApiError, KubeClient, silentLogger } from '../../../services/sandbox/src/kubesim/controllers/client.js';
import type { KubeObject } from '../../../services/sandbox/src/kubesim/contracts.js';
import { startControllers } from '../../../services/sandbox/src/kubesim/controllers/roles.js';
import { applyDefaultRbac } from './helpers.js';
import { eventually, scaled } from '../../support/time.js';

const b64 = (value: string): string => Buffer.from(value).toString('base64');

describe('controllers with the real controller-manager identity and per-controller service accounts', () => {
  let seed: SeedHandle;
  let admin: KubeClient;
  let stop: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    seed = await createSeed({
      authorizationModes: ['Node', 'RBAC'],
      enableBootstrapTokenAuth: true,
      anonymous: true,
      serviceAccountKeys: [publicKey.export({ type: 'spki', format: 'pem' }).toString()],
      // As kubeadm does: TokenRequest tokens are signed with the key whose public half verifies them.
      serviceAccountSigningKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      serviceAccountIssuers: ['https://kubernetes.default.svc.cluster.local'],
    });
    dir = mkdtempSync(join(tmpdir(), 'kubesim-sa-'));
    writeFileSync(join(dir, 'admin.conf'), seed.adminKubeconfig);
    writeFileSync(join(dir, 'controller-manager.conf'), await seed.userKubeconfig('system:kube-controller-manager'));
    admin = await KubeClient.fromFile(join(dir, 'admin.conf'));
    await applyDefaultRbac(admin);
    stop = await startControllers(join(dir, 'controller-manager.conf'), {
      controllers: ['bootstrapsigner', 'tokencleaner', 'namespace', 'serviceaccount', 'root-ca-cert-publisher'],
      rootCaPem: seed.caPem,
      useServiceAccountCredentials: true,
      serviceAccountPrivateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      logger: silentLogger,
    });
  }, scaled(30_000));

  afterAll(async () => {
    await stop?.();
    await seed?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the controller-manager user alone may not update cluster-info', async () => {
    const kcm = await KubeClient.fromFile(join(dir, 'controller-manager.conf'));
    const error = await kcm
      .request('PUT', '/api/v1/namespaces/kube-public/configmaps/cluster-info', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cluster-info', namespace: 'kube-public' },
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(403);
  });

  it('bootstrap-signer signs cluster-info as system:serviceaccount:kube-system:bootstrap-signer', async () => {
    await admin.request('POST', '/api/v1/namespaces/kube-public/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cluster-info', namespace: 'kube-public' },
      data: { kubeconfig: 'apiVersion: v1\nkind: Config\n' },
    });
    await admin.request('POST', '/api/v1/namespaces/kube-system/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'bootstrap.kubernetes.io/token',
      metadata: { name: 'bootstrap-token-sa0001', namespace: 'kube-system' },
      data: { 'token-id': b64('sa0001'), 'token-secret': b64('0123456789abcdef'), 'usage-bootstrap-signing': b64('true') },
    });
    await eventually(
      async () => {
        const info = await admin.get('/api/v1/namespaces/kube-public/configmaps/cluster-info');
        return (info.data as Record<string, string>)['jws-kubeconfig-sa0001'];
      },
      'cluster-info to be signed for token sa0001',
      8_000,
      50,
    );
    expect(await admin.getOptional('/api/v1/namespaces/kube-system/serviceaccounts/bootstrap-signer')).toBeDefined();
  });

  it('every namespace gets a default ServiceAccount and the kube-root-ca.crt ConfigMap', async () => {
    await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fresh' } });
    await eventually(() => admin.getOptional('/api/v1/namespaces/fresh/serviceaccounts/default'), 'the default ServiceAccount in namespace fresh', 8_000, 50);
    const rootCa = await eventually<KubeObject>(
      () => admin.getOptional('/api/v1/namespaces/fresh/configmaps/kube-root-ca.crt'),
      'kube-root-ca.crt in namespace fresh',
      8_000,
      50,
    );
    expect((rootCa.data as Record<string, string>)['ca.crt']).toBe(seed.caPem);
    await eventually(() => admin.getOptional('/api/v1/namespaces/kube-system/serviceaccounts/default'), 'the default ServiceAccount in kube-system', 8_000, 50);
  });

  it('namespace-controller finalizes a deleted namespace with its own account', async () => {
    await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone-sa' } });
    await admin.request('POST', '/api/v1/namespaces/gone-sa/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    await admin.request('DELETE', '/api/v1/namespaces/gone-sa');
    await eventually(async () => ((await admin.getOptional('/api/v1/namespaces/gone-sa')) ? undefined : true), 'namespace gone-sa to be gone', 10_000, 50);
  });
});
