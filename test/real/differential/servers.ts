// The two servers of the differential suite: a real etcd + kube-apiserver of the newest catalog
// version, and a kubesim (createSeed), configured alike: one client CA (so the same client
// certificates name the same users on both), anonymous auth on, bootstrap-token auth on,
// --authorization-mode=Node,RBAC and the NodeRestriction admission plugin.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSeed, issueCertificate, type CertificateAuthority } from '../../../services/sandbox/src/kubesim/index.js';
import type { MemoryStorage } from '../../../services/sandbox/src/kubesim/storage/memory.js';
import type { RealBinaries } from '../../../services/sandbox/src/real-binaries/index.js';
import { send, type Identity } from './client.js';

export interface DiffServer {
  name: 'real' | 'kubesim';
  url: string;
  /** Compacts storage history up to the current revision (etcd compaction / the memory store's). */
  compact(): Promise<void>;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitFor(what: string, budgetMs: number, probe: () => Promise<boolean>, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}: ${log().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready in ${budgetMs} ms: ${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startReal(binaries: RealBinaries, version: string, etcdVersion: string, ca: CertificateAuthority, admin: Identity): Promise<DiffServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hm-diff-'));
  const etcdBin = binaries.etcd('etcd', etcdVersion);
  const etcdctl = binaries.etcd('etcdctl', etcdVersion);
  const [clientPort, peerPort, metricsPort, securePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${clientPort}`;
  let etcdLog = '';
  const etcd = spawn(
    etcdBin,
    [
      '--name',
      'm0',
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      etcdUrl,
      '--advertise-client-urls',
      etcdUrl,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `m0=http://127.0.0.1:${peerPort}`,
      '--listen-metrics-urls',
      `http://127.0.0.1:${metricsPort}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  etcd.stderr?.on('data', (c: Buffer) => {
    etcdLog += c.toString();
  });
  const serving = await issueCertificate(ca, { commonName: 'kube-apiserver', server: true, dnsNames: ['localhost', 'kubernetes'], ipAddresses: ['127.0.0.1'] });
  const saKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const url = `https://127.0.0.1:${securePort}`;
  let apiLog = '';
  let apiserver: ChildProcess | undefined;
  try {
    await waitFor(
      'etcd',
      20_000,
      async () => spawnSync(etcdctl, ['--endpoints', etcdUrl, 'endpoint', 'health'], { stdio: 'ignore' }).status === 0,
      etcd,
      () => etcdLog,
    );
    apiserver = spawn(
      binaries.kube('kube-apiserver', version),
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${securePort}`,
        `--tls-cert-file=${file('serving.crt', serving.certPem)}`,
        `--tls-private-key-file=${file('serving.key', serving.keyPem)}`,
        `--client-ca-file=${file('ca.crt', ca.certPem)}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${file('sa.pub', saKey.publicKey.export({ type: 'spki', format: 'pem' }).toString())}`,
        `--service-account-signing-key-file=${file('sa.key', saKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())}`,
        '--service-cluster-ip-range=10.96.0.0/12',
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        '--enable-bootstrap-token-auth=true',
        '--allow-privileged=true',
        '--anonymous-auth=true',
        // Compaction only when the corpus asks for it, like kubesim's memory store.
        '--etcd-compaction-interval=0',
        '--profiling=false',
        '--v=0',
        // 127.0.0.1 is no address to publish in the kubernetes Endpoints.
        '--endpoint-reconciler-type=none',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    apiserver.stderr?.on('data', (c: Buffer) => {
      apiLog = (apiLog + c.toString()).slice(-20_000);
    });
    const child = apiserver;
    await waitFor(
      'kube-apiserver',
      60_000,
      async () => (await send(url, admin, { method: 'GET', path: '/readyz' })).status === 200,
      child,
      () => apiLog,
    );
  } catch (error) {
    if (apiserver) await stopChild(apiserver);
    await stopChild(etcd);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const api = apiserver;
  return {
    name: 'real',
    url,
    compact: async () => {
      const status = spawnSync(etcdctl, ['--endpoints', etcdUrl, 'endpoint', 'status', '-w', 'json'], { encoding: 'utf8' });
      const revision = (JSON.parse(status.stdout) as Array<{ Status: { header: { revision: number } } }>)[0].Status.header.revision;
      spawnSync(etcdctl, ['--endpoints', etcdUrl, 'compact', String(revision)], { stdio: 'ignore' });
    },
    close: async () => {
      await stopChild(api);
      await stopChild(etcd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startKubesim(ca: CertificateAuthority): Promise<DiffServer> {
  const seed = await createSeed({ clientCA: ca.certPem, authorizationModes: ['Node', 'RBAC'], enableBootstrapTokenAuth: true, anonymous: true });
  return {
    name: 'kubesim',
    url: seed.url,
    compact: async () => {
      const storage = seed.storage as MemoryStorage;
      storage.compact(await storage.currentRevision());
    },
    close: () => seed.close(),
  };
}
