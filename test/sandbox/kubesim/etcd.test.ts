import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildKubeconfig,
  createCa,
  issueCertificate,
  startKubeSim,
  type CertificateAuthority,
  type KubeSimHandle,
  type KubeSimOptions,
} from '../../../services/sandbox/src/kubesim/index.js';
import { ClientCertificateAuthenticator } from '../../../services/sandbox/src/kubesim/server/builtin-auth.js';
import { etcdctl, freePort, startEtcd, type EtcdFixture } from './etcd-support.js';
import { raw } from './helpers.js';
import { eventually } from '../../support/time.js';
import { ensureBuilt } from '../../support/build.js';

let dir: string;
let etcd: EtcdFixture;
let ca: CertificateAuthority;
let serving: { certPem: string; keyPem: string };
let adminCert: { certPem: string; keyPem: string };
const started: KubeSimHandle[] = [];

async function replica(): Promise<{ handle: KubeSimHandle; core: k8s.CoreV1Api; kubeconfig: string; kc: k8s.KubeConfig }> {
  const options: KubeSimOptions = {
    storage: { type: 'etcd', endpoints: [etcd.endpoint], caFile: etcd.caFile, certFile: etcd.certFile, keyFile: etcd.keyFile },
    servingCert: serving.certPem,
    servingKey: serving.keyPem,
    clientCA: ca.certPem,
    authenticators: [new ClientCertificateAuthenticator()],
    authorizers: [],
  };
  const handle = await startKubeSim(options);
  started.push(handle);
  const kubeconfig = buildKubeconfig(handle.url, ca.certPem, { clientCert: adminCert.certPem, clientKey: adminCert.keyPem });
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfig);
  return { handle, core: kc.makeApiClient(k8s.CoreV1Api), kubeconfig, kc };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubesim-etcd-'));
  etcd = await startEtcd(dir);
  ca = await createCa('kubernetes');
  serving = await issueCertificate(ca, { commonName: 'kube-apiserver', server: true, ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  adminCert = await issueCertificate(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'], client: true });
});

afterAll(async () => {
  for (const handle of started) await handle.close().catch(() => undefined);
  await etcd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubesim on a real etcd', () => {
  it('shares state and watches between two replicas, and survives a restart', async () => {
    const a = await replica();
    const b = await replica();
    const created = await a.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'shared' }, data: { k: 'v' } } });
    const seen = await b.core.readNamespacedConfigMap({ name: 'shared', namespace: 'default' });
    expect(seen.data).toEqual({ k: 'v' });
    expect(seen.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    const key = await etcdctl(etcd, 'get', '/registry/configmaps/default/shared', '--print-value-only');
    expect(JSON.parse(key)).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'shared', uid: created.metadata?.uid } });

    // Optimistic concurrency holds across replicas.
    await b.core.replaceNamespacedConfigMap({ name: 'shared', namespace: 'default', body: { ...seen, data: { k: 'from-b' } } });
    const stale = await a.core
      .replaceNamespacedConfigMap({ name: 'shared', namespace: 'default', body: { ...created, data: { k: 'from-a' } } })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(k8s.ApiException);
    expect((stale as k8s.ApiException<string>).code).toBe(409);

    // A watch on B sees writes made through A.
    const events: string[] = [];
    const watch = await new k8s.Watch(b.kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: seen.metadata?.resourceVersion },
      (type, object: k8s.V1ConfigMap) => events.push(`${type}:${object.metadata?.name}:${object.data?.k ?? ''}`),
      () => undefined,
    );
    await a.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'second' }, data: { k: '2' } } });
    await a.core.deleteNamespacedConfigMap({ name: 'second', namespace: 'default' });
    await eventually(() => events.length >= 3, 'three events on the watch', 10_000, 50);
    watch.abort();
    expect(events.slice(0, 3)).toEqual(['MODIFIED:shared:from-b', 'ADDED:second:2', 'DELETED:second:2']);

    // Restart A: state comes back from etcd.
    await a.handle.close();
    const restarted = await replica();
    const after = await restarted.core.readNamespacedConfigMap({ name: 'shared', namespace: 'default' });
    expect(after.data).toEqual({ k: 'from-b' });
    expect(after.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('answers 410 Expired for watches from compacted revisions', async () => {
    const { core, kubeconfig } = await replica();
    const first = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'compact-me' }, data: { n: '0' } } });
    for (let i = 1; i <= 3; i += 1)
      await core.patchNamespacedConfigMap(
        { name: 'compact-me', namespace: 'default', body: { data: { n: String(i) } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    const page = await core.listNamespacedConfigMap({ namespace: 'default', limit: 1 });
    expect(page.metadata?._continue).toBeTruthy();
    // A continued list reads the snapshot of the first page: later writes do not show up.
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'zz-after-first-page' } } });
    const rest = await core.listNamespacedConfigMap({ namespace: 'default', limit: 10, _continue: page.metadata?._continue });
    expect(rest.items.map((i) => i.metadata?.name)).not.toContain('zz-after-first-page');
    expect(rest.metadata?.resourceVersion).toBe(page.metadata?.resourceVersion);
    const latest = await core.readNamespacedConfigMap({ name: 'zz-after-first-page', namespace: 'default' });
    await etcdctl(etcd, 'compact', String(latest.metadata?.resourceVersion));
    const expiredContinue = await raw(
      kubeconfig,
      'GET',
      `/api/v1/namespaces/default/configmaps?limit=1&continue=${encodeURIComponent(String(page.metadata?._continue))}`,
    );
    expect(expiredContinue.status).toBe(410);
    expect(expiredContinue.json).toMatchObject({ reason: 'Expired', code: 410 });
    const gone = await raw(kubeconfig, 'GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${first.metadata?.resourceVersion}`);
    // As the watch cache answers: the stream starts, and its one event is the 410 Expired.
    expect(gone.status).toBe(200);
    expect(gone.json).toMatchObject({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 } });
  });

  it('runs from the real kube-apiserver command line (CLI, built to dist/)', async () => {
    ensureBuilt();
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    const saKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const port = await freePort();
    const args = [
      'dist/services/sandbox/src/kubesim/cli.js',
      'kube-apiserver',
      '--advertise-address=127.0.0.1',
      '--bind-address',
      '127.0.0.1',
      `--secure-port=${port}`,
      '--allow-privileged=true',
      '--authorization-mode=AlwaysAllow',
      `--client-ca-file=${file('ca.crt', ca.certPem)}`,
      '--enable-admission-plugins=NodeRestriction',
      '--enable-bootstrap-token-auth=false',
      `--etcd-cafile=${etcd.caFile}`,
      `--etcd-certfile=${etcd.certFile}`,
      `--etcd-keyfile=${etcd.keyFile}`,
      `--etcd-servers=${etcd.endpoint}`,
      `--kubelet-client-certificate=${file('kc.crt', adminCert.certPem)}`,
      `--kubelet-client-key=${file('kc.key', adminCert.keyPem)}`,
      '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
      `--proxy-client-cert-file=${join(dir, 'kc.crt')}`,
      `--proxy-client-key-file=${join(dir, 'kc.key')}`,
      `--requestheader-allowed-names=front-proxy-client`,
      `--requestheader-client-ca-file=${join(dir, 'ca.crt')}`,
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-username-headers=X-Remote-User',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${file('sa.pub', saKey.publicKey.export({ type: 'spki', format: 'pem' }).toString())}`,
      `--service-account-signing-key-file=${file('sa.key', saKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())}`,
      '--service-cluster-ip-range=10.32.0.0/24',
      '--service-node-port-range=31000-31100',
      `--tls-cert-file=${file('apiserver.crt', serving.certPem)}`,
      `--tls-private-key-file=${file('apiserver.key', serving.keyPem)}`,
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--anonymous-auth=false',
      '--v=2',
    ];
    const child: ChildProcess = spawn(process.execPath, args, { cwd: process.cwd(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const kubeconfig = buildKubeconfig(`https://127.0.0.1:${port}`, ca.certPem, { clientCert: adminCert.certPem, clientKey: adminCert.keyPem });
      // A process that exits fails at once with its log, not at the deadline.
      const outcome = await eventually(
        async () => {
          if (child.exitCode !== null) return 'exited';
          return (await raw(kubeconfig, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200 ? 'ready' : undefined;
        },
        'the apiserver to answer /readyz',
        20_000,
        50,
      );
      if (outcome === 'exited') throw new Error(`apiserver exited: ${stderr}`);
      // It shares the etcd with the replicas above, and took the service CIDR and node-port range from its flags.
      const shared = await raw(kubeconfig, 'GET', '/api/v1/namespaces/default/configmaps/shared');
      expect(shared.json.data).toEqual({ k: 'from-b' });
      const svc = await raw(kubeconfig, 'POST', '/api/v1/namespaces/default/services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'np' },
        spec: { type: 'NodePort', ports: [{ port: 80 }] },
      });
      expect(svc.status).toBe(201);
      const spec = svc.json.spec as { clusterIP: string; ports: Array<{ nodePort: number }> };
      expect(spec.clusterIP).toMatch(/^10\.32\.0\./);
      expect(spec.ports[0].nodePort).toBeGreaterThanOrEqual(31000);
      expect(spec.ports[0].nodePort).toBeLessThanOrEqual(31100);
      const anonymous = await raw(kubeconfig.replace(/client-certificate-data: .*\n/, '').replace(/client-key-data: .*\n/, ''), 'GET', '/api/v1/namespaces');
      expect(anonymous.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });
});
