import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeSSH } from 'node-ssh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBootstrapToken, type BootstrapToken } from '../../services/core/src/bootstrap/bootstrap-token.js';
import type { NodeUserDataInput } from '../../services/core/src/bootstrap/cloud-init.js';
import { discoveryTokenCaCertHash } from '../../services/core/src/pki/discovery.js';
import { createCa, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { silentLogger, type KubeClient } from '../../services/sandbox/src/kubesim/controllers/client.js';
import {
  ApiStatusError,
  createNodeFleet,
  JoinRefusedError,
  requestNodeCertificate,
  startNodeSimulator,
  type NodeSimulator,
} from '../../services/sandbox/src/nodes/index.js';
import { eventually, scaled } from '../support/time.js';
import { startKubesimTenant, type KubesimTenant } from './kubesim-tenant.js';

interface Condition {
  type: string;
  status: string;
  reason?: string;
}
interface NodeObject {
  metadata: { labels?: Record<string, string> };
  spec?: { taints?: Array<{ key: string; value?: string; effect: string }> };
  status?: { conditions?: Condition[]; addresses?: Array<{ type: string; address: string }> };
}

/** `quietTimeoutMs` is the quiet-machine budget for the whole session; it is scaled. */
async function sshRun(options: { host: string; port: number; username: string; privateKey: string }, command: string, quietTimeoutMs = 8_000): Promise<string> {
  const timeoutMs = scaled(quietTimeoutMs);
  const ssh = new NodeSSH();
  // node-ssh has no command timeout of its own; a hung session must not hang the suite.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`ssh timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        await ssh.connect({ ...options, readyTimeout: timeoutMs });
        const result = await ssh.execCommand(command);
        return result.stdout;
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    ssh.dispose();
  }
}

describe('node simulator joining a kubesim tenant', () => {
  let tenant: KubesimTenant;
  let seed: SeedHandle;
  let admin: KubeClient;
  let dir: string;
  let poolKey: { privateKey: string; publicKey: string };
  let strangerKey: string;
  const nodes: NodeSimulator[] = [];

  const addToken = (expiresAt?: Date): Promise<BootstrapToken> => tenant.addToken(expiresAt);

  const userDataFor = (token: BootstrapToken, overrides: Partial<NodeUserDataInput> = {}): string =>
    tenant.userData(token, {
      nodeName: 'worker-1',
      labels: { 'harbormaster.dev/pool': 'pool-a' },
      taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }],
      sshPublicKeys: [poolKey.publicKey],
      ...overrides,
    });

  const start = async (userData: string, ip: string, extra: { discoveryTimeoutMs?: number } = {}): Promise<NodeSimulator> => {
    const node = await startNodeSimulator({
      userData,
      ip,
      stateDir: mkdtempSync(join(dir, 'node-')),
      leaseRenewIntervalMs: 400,
      certificateTimeoutMs: 15_000,
      discoveryTimeoutMs: 15_000,
      // The join is what is tested here; node-pods.test.ts covers the wait for a network plugin.
      networkPlugin: 'preinstalled',
      ...extra,
    });
    nodes.push(node);
    return node;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nodes-test-'));
    for (const name of ['pool', 'stranger']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
    poolKey = { privateKey: readFileSync(join(dir, 'pool'), 'utf8'), publicKey: readFileSync(join(dir, 'pool.pub'), 'utf8').trim() };
    strangerKey = readFileSync(join(dir, 'stranger'), 'utf8');
    tenant = await startKubesimTenant(dir, {
      controllers: ['bootstrapsigner', 'tokencleaner', 'csrapproving', 'csrsigning', 'nodelifecycle'],
      nodeMonitorGracePeriodMs: 2_000,
      nodeMonitorPeriodMs: 250,
      logger: silentLogger,
    });
    ({ seed, admin } = tenant);
  }, scaled(30_000));

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await tenant?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'joins with the bootstrap token: Node Ready with labels and taints, Lease renewed, and a node client certificate',
    async () => {
      const token = await addToken();
      const node = await start(userDataFor(token), '127.100.0.11');
      await node.joined;
      expect(node.phase()).toBe('ready');
      const registered = await admin.request<NodeObject>('GET', '/api/v1/nodes/worker-1');
      expect(registered.metadata.labels).toMatchObject({ 'harbormaster.dev/pool': 'pool-a', 'kubernetes.io/hostname': 'worker-1' });
      // The apiserver's TaintNodesByCondition admission adds the not-ready taint to the new Node; the
      // node-lifecycle controller lifts it once the Node is Ready, leaving the pool's own taint.
      const untainted = await eventually(
        async () => {
          const current = await admin.request<NodeObject>('GET', '/api/v1/nodes/worker-1');
          return current.spec?.taints?.some((taint) => taint.key === 'node.kubernetes.io/not-ready') ? undefined : current;
        },
        'the not-ready taint to be lifted from the Ready node',
        5_000,
        100,
      );
      expect(untainted.spec?.taints).toEqual([{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }]);
      expect(registered.status?.conditions?.find((condition) => condition.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
      // Its address on the node network (the machine's 127.100.0.11 in 100.64.0.0/10), which the
      // apiserver may proxy to; the seed has no route there.
      expect(registered.status?.addresses).toContainEqual({ type: 'InternalIP', address: '100.100.0.11' });
      expect(node.internalIP).toBe('100.100.0.11');

      const certificate = new X509Certificate(node.credentials()!.certPem);
      expect(certificate.subject).toContain('CN=system:node:worker-1');
      expect(certificate.subject).toContain('O=system:nodes');
      expect(certificate.verify(new X509Certificate(seed.caPem).publicKey)).toBe(true);

      const leasePath = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1';
      // Created on the lease controller's round after registering, as a real kubelet does.
      const first = await eventually(
        () => admin.request<{ spec: { renewTime: string; holderIdentity: string } }>('GET', leasePath).catch(() => undefined),
        'the node Lease to be created',
        5_000,
        100,
      );
      expect(first.spec.holderIdentity).toBe('worker-1');
      expect((first as { metadata?: { ownerReferences?: Array<{ kind: string; name: string }> } }).metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Node', name: 'worker-1' }),
      ]);
      const renewed = await eventually(
        async () => {
          const lease = await admin.request<{ spec: { renewTime: string } }>('GET', leasePath);
          return Date.parse(lease.spec.renewTime) > Date.parse(first.spec.renewTime) ? lease : undefined;
        },
        'the node Lease to be renewed',
        5_000,
        100,
      );
      expect(Date.parse(renewed.spec.renewTime)).toBeGreaterThan(Date.parse(first.spec.renewTime));
    },
    scaled(30_000),
  );

  it(
    'serves SSH with the pool key on its own address and refuses any other key',
    async () => {
      const node = nodes[0];
      expect(node.ssh.host).toBe('127.100.0.11');
      const output = await sshRun(
        { host: node.ssh.host, port: node.ssh.port, username: node.ssh.user, privateKey: poolKey.privateKey },
        'echo hello-from-node',
      );
      expect(output.trim()).toBe('hello-from-node');
      // The keys log in as the user the node's cloud-init creates, with a shell that reads no
      // profile: the host's own accounts (and their ~/.bashrc) play no part.
      expect(node.ssh.user).toBe('harbormaster');
      const identity = await sshRun(
        { host: node.ssh.host, port: node.ssh.port, username: node.ssh.user, privateKey: poolKey.privateKey },
        'id -un; echo "$0"; echo "${BASH_VERSION:-no-bash}"',
      );
      expect(identity.trim().split('\n')).toEqual(['harbormaster', 'sh', 'no-bash']);
      await expect(sshRun({ host: node.ssh.host, port: node.ssh.port, username: 'root', privateKey: poolKey.privateKey }, 'true')).rejects.toThrow(
        /authentication/i,
      );
      await expect(sshRun({ host: node.ssh.host, port: node.ssh.port, username: node.ssh.user, privateKey: strangerKey }, 'true')).rejects.toThrow(
        /authentication/i,
      );
    },
    scaled(30_000),
  );

  it(
    'boots one node per cloud instance through a fleet, all joining with the pool token',
    async () => {
      const token = await addToken();
      const fleetRoot = mkdtempSync(join(dir, 'fleet-'));
      const fleet = createNodeFleet(fleetRoot, {
        networkPlugin: 'preinstalled',
        leaseRenewIntervalMs: 400,
        certificateTimeoutMs: 15_000,
        discoveryTimeoutMs: 15_000,
      });
      try {
        const booted = await Promise.all([
          fleet.boot('i-0aaa', '127.110.0.21', userDataFor(token, { nodeName: 'pool-b-1' })),
          fleet.boot('i-0bbb', '127.110.0.22', userDataFor(token, { nodeName: 'pool-b-2' })),
        ]);
        await Promise.all(booted.map((node) => node.joined));
        expect(fleet.instanceIds().sort()).toEqual(['i-0aaa', 'i-0bbb']);
        for (const name of ['pool-b-1', 'pool-b-2']) {
          const registered = await admin.request<NodeObject>('GET', `/api/v1/nodes/${name}`);
          expect(registered.status?.conditions?.find((condition) => condition.type === 'Ready')?.status).toBe('True');
        }
        expect(() => fleet.boot('i-0aaa', '127.110.0.21', userDataFor(token, { nodeName: 'pool-b-1' }))).toThrow(/already booted/);
        expect(existsSync(join(fleetRoot, 'i-0aaa', 'ssh_host_ed25519_key'))).toBe(true);
        await fleet.terminate('i-0aaa');
        expect(fleet.get('i-0aaa')).toBeUndefined();
        expect(booted[0].phase()).toBe('stopped');
        expect(existsSync(join(fleetRoot, 'i-0aaa'))).toBe(false);
        expect(fleet.get('i-0bbb')?.phase()).toBe('ready');
      } finally {
        await fleet.stopAll();
      }
      expect(fleet.instanceIds()).toEqual([]);
    },
    scaled(30_000),
  );

  it(
    'refuses a cluster whose CA does not match the pinned hash',
    async () => {
      const token = await addToken();
      const otherCa = await createCa('impostor');
      const node = await start(userDataFor(token, { nodeName: 'worker-pinned', caCertHash: discoveryTokenCaCertHash(otherCa.certPem) }), '127.100.0.12');
      await expect(node.joined).rejects.toBeInstanceOf(JoinRefusedError);
      await expect(node.joined).rejects.toThrow(/does not match the pinned hash/);
      expect(node.phase()).toBe('failed');
      expect(await admin.getOptional('/api/v1/nodes/worker-pinned')).toBeUndefined();
    },
    scaled(30_000),
  );

  it(
    'does not trust cluster-info whose JWS fails with its token secret',
    async () => {
      const token = await addToken();
      const forged = { id: token.id, secret: token.secret.split('').reverse().join('') };
      const node = await start(userDataFor(forged, { nodeName: 'worker-forged' }), '127.100.0.14', { discoveryTimeoutMs: 1_500 });
      await expect(node.joined).rejects.toThrow(/discovery timed out: the cluster-info JWS does not verify/);
      expect(await admin.getOptional('/api/v1/nodes/worker-forged')).toBeUndefined();
    },
    scaled(30_000),
  );

  it(
    'gets 401 with an expired token, and a node holding one never joins',
    async () => {
      const token = await addToken(new Date(Math.ceil((Date.now() + 1_500) / 1000) * 1000));
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      const attempt = requestNodeCertificate({
        target: { server: seed.url, caPem: seed.caPem, credentials: { token: formatBootstrapToken(token) } },
        nodeName: 'worker-expired',
        timeoutMs: 2_000,
      });
      await expect(attempt).rejects.toBeInstanceOf(ApiStatusError);
      await expect(attempt).rejects.toMatchObject({ status: 401 });
      const node = await start(userDataFor(token, { nodeName: 'worker-expired' }), '127.100.0.13', { discoveryTimeoutMs: 1_500 });
      await expect(node.joined).rejects.toThrow(/discovery timed out: cluster-info has no JWS/);
      expect(await admin.getOptional('/api/v1/nodes/worker-expired')).toBeUndefined();
    },
    scaled(30_000),
  );

  it(
    'kill() stops heartbeats and sshd: the Node goes NotReady-Unknown and SSH is refused',
    async () => {
      const node = nodes[0];
      await node.kill();
      expect(node.phase()).toBe('dead');
      const ready = await eventually(
        async () => {
          const current = await admin.request<NodeObject>('GET', '/api/v1/nodes/worker-1');
          const condition = current.status?.conditions?.find((candidate) => candidate.type === 'Ready');
          return condition?.status === 'Unknown' ? condition : undefined;
        },
        'the Node Ready condition to turn Unknown',
        10_000,
        100,
      );
      expect(ready.reason).toBe('NodeStatusUnknown');
      await expect(
        sshRun({ host: node.ssh.host, port: node.ssh.port, username: node.ssh.user, privateKey: poolKey.privateKey }, 'true', 3_000),
      ).rejects.toThrow(/ECONNREFUSED/);
    },
    scaled(30_000),
  );

  it(
    'reads cluster-info as kubeadm does: a named cluster without a current context is refused',
    async () => {
      // Runs last: it replaces the tenant's cluster-info. kubeadm's GetClusterFromKubeConfig takes
      // the unnamed cluster or the current context's; anything else ended in a panic in discovery.
      const path = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
      const current = await admin.request<{ data: Record<string, string> }>('GET', path);
      const named = current.data.kubeconfig.replace(/^(\s*-\s*)name: ""$/m, '$1name: tenant1-cluster');
      expect(named).toContain('name: tenant1-cluster');
      await admin.request('PATCH', path, { data: { kubeconfig: named } }, 'application/merge-patch+json');
      const token = await addToken();
      // The bootstrap signer signs the new content first; an old signature would fail the JWS check instead.
      await eventually(
        async () => {
          const signed = await admin.request<{ data: Record<string, string> }>('GET', path);
          return signed.data.kubeconfig === named && signed.data[`jws-kubeconfig-${token.id}`] ? true : undefined;
        },
        'cluster-info to be re-signed for the new token',
        10_000,
        100,
      );
      const node = await start(userDataFor(token, { nodeName: 'worker-named-cluster' }), '127.100.0.16');
      await expect(node.joined).rejects.toThrow(/neither an unnamed cluster nor a current context/);
      expect(await admin.getOptional('/api/v1/nodes/worker-named-cluster')).toBeUndefined();
    },
    scaled(30_000),
  );
});
