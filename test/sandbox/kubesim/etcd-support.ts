import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createCa, issueCertificate, type CertificateAuthority } from '../../../services/sandbox/src/kubesim/index.js';
import { scaled } from '../../support/time.js';

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

export interface EtcdFixture {
  process: ChildProcess;
  endpoint: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: CertificateAuthority;
  stop(): Promise<void>;
}

/** A real single-member etcd with client-certificate TLS, in `dir`. */
export async function startEtcd(dir: string): Promise<EtcdFixture> {
  const ca = await createCa('etcd-ca');
  const server = await issueCertificate(ca, { commonName: 'etcd', server: true, client: true, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const client = await issueCertificate(ca, { commonName: 'kube-apiserver-etcd-client', client: true });
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const file = (name: string, content: string) => {
    const path = join(dir, 'pki', name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const caFile = file('etcd-ca.crt', ca.certPem);
  const serverCert = file('etcd-server.crt', server.certPem);
  const serverKey = file('etcd-server.key', server.keyPem);
  const certFile = file('etcd-client.crt', client.certPem);
  const keyFile = file('etcd-client.key', client.keyPem);
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `https://127.0.0.1:${clientPort}`;
  const child = spawn(
    '/usr/bin/etcd',
    [
      '--name',
      'm0',
      '--data-dir',
      join(dir, 'etcd-data'),
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `m0=http://127.0.0.1:${peerPort}`,
      '--cert-file',
      serverCert,
      '--key-file',
      serverKey,
      '--trusted-ca-file',
      caFile,
      '--client-cert-auth',
      '--listen-metrics-urls',
      `http://127.0.0.1:${await freePort()}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const budget = scaled(20_000);
  const deadline = Date.now() + budget;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const probe = spawn('/usr/bin/etcdctl', ['--endpoints', endpoint, '--cacert', caFile, '--cert', certFile, '--key', keyFile, 'endpoint', 'health'], {
        stdio: 'ignore',
      });
      probe.on('exit', (code) => resolve(code === 0));
    });
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`etcd did not start${child.exitCode === null ? ` in ${budget} ms` : ''}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    process: child,
    endpoint,
    caFile,
    certFile,
    keyFile,
    ca,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export function etcdctl(etcd: EtcdFixture, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/etcdctl', ['--endpoints', etcd.endpoint, '--cacert', etcd.caFile, '--cert', etcd.certFile, '--key', etcd.keyFile, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
  });
}
