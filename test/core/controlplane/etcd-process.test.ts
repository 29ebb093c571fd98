// Starts the real etcd binary from the built StatefulSet's command, flags and Secret files, the
// way the process kubelet does, to prove the flags and certificates work for a real etcd.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { SECRET, allObjects, buildControlPlane } from '../../../services/core/src/controlplane/index.js';
import { referencePki, referenceSpec } from './reference.js';
import { eventually, scaled } from '../../support/time.js';

// An uncommon loopback address keeps etcd's fixed ports clear of other engineers' processes.
const POD_IP = '127.204.4.17';
const POD_NAME = 'etcd-0';
const MEMBER_HOST = 'etcd-0.etcd.cluster-k7x2m9.svc.cluster.local';

interface TlsClient {
  ca: string;
  cert?: string;
  key?: string;
}

function secretFiles(secret: ISecret): Record<string, string> {
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
}

function etcdPost(path: string, body: unknown, tls: TlsClient): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: POD_IP,
        port: 2379,
        path,
        method: 'POST',
        servername: MEMBER_HOST,
        ...tls,
        headers: { 'content-type': 'application/json' },
        timeout: scaled(5_000),
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(JSON.stringify(body));
  });
}

describe('the built etcd StatefulSet runs a real etcd', () => {
  let directory: string;
  let etcd: ChildProcess | undefined;
  let output = '';
  let apiserverFiles: Record<string, string>;
  let adminClient: TlsClient;

  beforeAll(async () => {
    const pki = await referencePki();
    const objects = allObjects(buildControlPlane(referenceSpec('NodePort', { etcd: { members: 1 } }), pki));
    const statefulSet = objects.find((object): object is IStatefulSet => object.kind === 'StatefulSet');
    const secret = (name: string) => objects.find((object): object is ISecret => object.kind === 'Secret' && object.metadata?.name === name);
    const etcdSecret = secret(SECRET.etcdCerts);
    const apiserverSecret = secret(SECRET.apiserverCerts);
    const container = statefulSet?.spec?.template.spec?.containers[0];
    if (!container?.command || !etcdSecret || !apiserverSecret) throw new Error('etcd objects not built');
    apiserverFiles = secretFiles(apiserverSecret);
    adminClient = { ca: apiserverFiles['etcd-ca.crt'], cert: pki.leaves.admin.certPem, key: pki.leaves.admin.keyPem };

    directory = mkdtempSync(join(tmpdir(), 'hm-etcd-'));
    const mounts: Record<string, string> = {};
    for (const mount of container.volumeMounts ?? []) {
      const hostPath = join(directory, mount.name);
      mkdirSync(hostPath, { recursive: true, mode: 0o700 });
      mounts[mount.mountPath] = hostPath;
      if (mount.name === 'certs') {
        for (const [file, content] of Object.entries(secretFiles(etcdSecret))) writeFileSync(join(hostPath, file), content, { mode: 0o400 });
      }
    }
    const expand = (argument: string): string => {
      let expanded = argument.replaceAll('$(POD_NAME)', POD_NAME).replaceAll('$(POD_IP)', POD_IP);
      // Longest mount path first, as nested mounts shadow their parents.
      for (const mountPath of Object.keys(mounts).sort((a, b) => b.length - a.length)) expanded = expanded.replaceAll(mountPath, mounts[mountPath]);
      return expanded;
    };
    etcd = spawn(container.command[0], (container.args ?? []).map(expand), { stdio: ['ignore', 'pipe', 'pipe'] });
    etcd.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    etcd.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await eventually(
        async () => {
          const response = await fetch(`http://${POD_IP}:2381/health`);
          return response.ok && ((await response.json()) as { health?: string }).health === 'true';
        },
        'etcd to report healthy on /health',
        20_000,
      );
    } catch (error) {
      throw new Error(`${String(error)}\n${output.slice(-3000)}`, { cause: error });
    }
  });

  afterAll(async () => {
    if (etcd?.exitCode === null) {
      const exited = new Promise((resolve) => etcd?.once('exit', resolve));
      etcd.kill('SIGTERM');
      await exited;
    }
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('serves the apiserver over TLS with its etcd client certificate', async () => {
    const client: TlsClient = {
      ca: apiserverFiles['etcd-ca.crt'],
      cert: apiserverFiles['apiserver-etcd-client.crt'],
      key: apiserverFiles['apiserver-etcd-client.key'],
    };
    const key = Buffer.from('/registry/harbormaster/probe').toString('base64');
    const put = await etcdPost('/v3/kv/put', { key, value: Buffer.from('ok').toString('base64') }, client);
    expect(put.status).toBe(200);
    const range = await etcdPost('/v3/kv/range', { key }, client);
    const value = (JSON.parse(range.body) as { kvs?: Array<{ value: string }> }).kvs?.[0]?.value;
    expect(Buffer.from(value ?? '', 'base64').toString()).toBe('ok');
  });

  it('rejects clients without a certificate from the etcd CA', async () => {
    const outcome = (tls: TlsClient) =>
      etcdPost('/v3/kv/range', { key: Buffer.from('x').toString('base64') }, tls).then(
        (response) => response.status,
        (error: unknown) => (error as Error).message,
      );
    const withoutCertificate = await outcome({ ca: apiserverFiles['etcd-ca.crt'] });
    const withClusterCaCertificate = await outcome(adminClient);
    // etcd ends the handshake with a TLS alert; no HTTP status is ever produced.
    expect(withoutCertificate).toMatch(/certificate/);
    expect(withClusterCaCertificate).toMatch(/certificate/);
  });
});
