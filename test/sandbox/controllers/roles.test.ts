import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeed, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';
import type { KubeObject } from '../../../services/sandbox/src/kubesim/contracts.js';
import { KubeClient, silentLogger } from '../../../services/sandbox/src/kubesim/controllers/client.js';
import { resolveControllers } from '../../../services/sandbox/src/kubesim/controllers/roles.js';
import { LeaderElector } from '../../../services/sandbox/src/kubesim/controllers/leader-election.js';
import { ensureBuilt } from '../../support/build.js';
import { eventually, scaled } from '../../support/time.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const ROLES = join(ROOT, 'dist/services/sandbox/src/kubesim/controllers/roles.js');
const LAUNCH = 'const roles = await import(process.argv[1]); await roles[process.argv[2]](process.argv.slice(3));';

function launch(role: 'runControllerManager' | 'runScheduler', args: string[]): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', LAUNCH, ROLES, role, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolvePromise({ code, stderr }));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function healthz(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('--controllers semantics', () => {
  it('enables the default set with *, needs bootstrapsigner and tokencleaner by name, honours -name', () => {
    expect(resolveControllers('*')).toEqual([
      'namespace',
      'garbagecollector',
      'csrapproving',
      'csrsigning',
      'nodelifecycle',
      'serviceaccount',
      'root-ca-cert-publisher',
      'deployment',
      'replicaset',
      'statefulset',
      'daemonset',
      'endpoint',
    ]);
    expect(resolveControllers('*,bootstrapsigner,tokencleaner')).toContain('bootstrapsigner');
    expect(resolveControllers('*,-garbagecollector,-serviceaccount,tokencleaner,-deployment,-replicaset,-statefulset,-daemonset,-endpoint')).toEqual([
      'namespace',
      'tokencleaner',
      'csrapproving',
      'csrsigning',
      'nodelifecycle',
      'root-ca-cert-publisher',
    ]);
    // Known to the real binary but not simulated: accepted, and nothing runs.
    expect(resolveControllers('csrsigning,disruption')).toEqual(['csrsigning']);
    expect(resolveControllers('csrsigning,daemonset-controller')).toEqual(['csrsigning', 'daemonset']);
    expect(resolveControllers('csrsigning,deployment-controller,endpoints-controller')).toEqual(['csrsigning', 'deployment', 'endpoint']);
    expect(() => resolveControllers('*,nosuchcontroller')).toThrow(/not in the list of known controllers/);
  });
});

describe('kube-controller-manager and kube-scheduler as processes', () => {
  let seed: SeedHandle;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    seed = await createSeed({ authorizationModes: ['Node', 'RBAC'] });
    dir = mkdtempSync(join(tmpdir(), 'kubesim-roles-'));
    writeFileSync(join(dir, 'controller-manager.conf'), await seed.userKubeconfig('system:kube-controller-manager'));
    writeFileSync(join(dir, 'scheduler.conf'), await seed.userKubeconfig('system:kube-scheduler'));
    writeFileSync(join(dir, 'admin.conf'), seed.adminKubeconfig);
    writeFileSync(join(dir, 'ca.crt'), seed.caPem);
    writeFileSync(join(dir, 'ca.key'), seed.caKeyPem);
  }, scaled(60_000));

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await seed?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'leader election: one holder at a time, taken over only after the lease expires',
    async () => {
      const admin = await KubeClient.fromFile(join(dir, 'admin.conf'));
      const options = { namespace: 'kube-system', name: 'election-test', leaseDurationMs: 1_000, renewDeadlineMs: 800, retryPeriodMs: 200 };
      const first = new LeaderElector(admin, { ...options, identity: 'first' }, silentLogger);
      const second = new LeaderElector(admin, { ...options, identity: 'second' }, silentLogger);
      const firstStop = new AbortController();
      expect(await first.acquire(firstStop.signal)).toBe(true);
      const holding = first.holdUntilLost(firstStop.signal);
      const secondStop = new AbortController();
      let secondLeads = false;
      const secondAcquired = second.acquire(secondStop.signal).then((acquired) => (secondLeads = acquired));
      await new Promise((done) => setTimeout(done, 1_500));
      expect(secondLeads).toBe(false);
      firstStop.abort();
      expect(await holding).toBe('stopped');
      await secondAcquired;
      expect(secondLeads).toBe(true);
      const lease = await admin.get('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/election-test');
      expect(lease.spec).toMatchObject({ holderIdentity: 'second', leaseTransitions: 1 });
      secondStop.abort();
    },
    scaled(20_000),
  );

  it(
    'fails loudly on unknown flags, unreadable files and unknown controllers',
    async () => {
      const [unknown, missing, badController, scheduler] = await Promise.all([
        finish(launch('runControllerManager', ['--kubeconfig', join(dir, 'controller-manager.conf'), '--bogus-flag=1'])),
        finish(
          launch('runControllerManager', [`--kubeconfig=${join(dir, 'controller-manager.conf')}`, `--cluster-signing-key-file=${join(dir, 'missing.key')}`]),
        ),
        finish(launch('runControllerManager', [`--kubeconfig=${join(dir, 'controller-manager.conf')}`, '--controllers=*,nosuch'])),
        finish(launch('runScheduler', ['--kubeconfig=/nonexistent/scheduler.conf'])),
      ]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/unknown flag: --bogus-flag/);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/missing\.key/);
      expect(badController.code).toBe(1);
      expect(badController.stderr).toMatch(/nosuch/);
      expect(scheduler.code).toBe(1);
      expect(scheduler.stderr).toMatch(/nonexistent/);
    },
    scaled(30_000),
  );

  it(
    'runs from a kubeadm-style command line: leader Lease, healthz over TLS, clean exit on SIGTERM',
    async () => {
      const port = await freePort();
      const conf = join(dir, 'controller-manager.conf');
      const child = launch('runControllerManager', [
        '--allocate-node-cidrs=true',
        `--authentication-kubeconfig=${conf}`,
        `--authorization-kubeconfig=${conf}`,
        '--bind-address=127.0.0.1',
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        '--cluster-cidr=10.244.0.0/16',
        '--cluster-name=kubernetes',
        `--cluster-signing-cert-file=${join(dir, 'ca.crt')}`,
        `--cluster-signing-key-file=${join(dir, 'ca.key')}`,
        '--controllers=*,bootstrapsigner,tokencleaner',
        `--kubeconfig=${conf}`,
        '--leader-elect=true',
        `--requestheader-client-ca-file=${join(dir, 'ca.crt')}`,
        `--root-ca-file=${join(dir, 'ca.crt')}`,
        `--service-account-private-key-file=${join(dir, 'ca.key')}`,
        '--service-cluster-ip-range=10.96.0.0/12',
        '--use-service-account-credentials=false',
        `--secure-port=${port}`,
        '--v=2',
      ]);
      children.push(child);
      let log = '';
      child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
      const exited = finish(child);
      const admin = await KubeClient.fromFile(join(dir, 'admin.conf'));
      const lease = await eventually<KubeObject>(
        () => admin.getOptional('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager'),
        'the kube-controller-manager Lease',
        10_000,
        50,
      );
      expect((lease.spec as { holderIdentity?: string }).holderIdentity).toMatch(/_/);
      expect(await eventually(() => healthz(port), 'healthz to answer', 10_000, 50)).toEqual({ status: 200, body: 'ok' });
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      // A process that does not stop says where it hangs: its own log comes with the failure.
      let timer: NodeJS.Timeout | undefined;
      const exitBudget = scaled(30_000);
      const notExited = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running ${exitBudget / 1000} s after SIGTERM; its log:\n${log.slice(-4_000)}`)), exitBudget);
      });
      const outcome = await Promise.race([exited, notExited]).finally(() => clearTimeout(timer));
      expect(outcome.code, `exit after ${Date.now() - signalledAt} ms; log:\n${log.slice(-4_000)}`).toBe(0);
    },
    scaled(60_000),
  );

  it(
    'kube-scheduler takes its Lease and binds a pending pod to a Ready node',
    async () => {
      const admin = await KubeClient.fromFile(join(dir, 'admin.conf'));
      await admin.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-a' } });
      const node = await admin.get('/api/v1/nodes/worker-a');
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      // TaintNodesByCondition admission taints the new Node not-ready, as the real apiserver does.
      expect((node.spec as { taints?: Array<{ key: string; effect: string }> } | undefined)?.taints).toEqual([
        { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
      ]);
      const readyNode = await admin.request<KubeObject>('PUT', '/api/v1/nodes/worker-a/status', {
        ...node,
        status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }] },
      });
      // No kube-controller-manager runs here: lift the taint as its node-lifecycle controller would for a Ready node.
      await admin.request('PUT', '/api/v1/nodes/worker-a', { ...readyNode, spec: {} });
      await admin.request('POST', '/api/v1/namespaces/default/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web' },
        spec: { containers: [{ name: 'web', image: 'nginx' }] },
      });
      const port = await freePort();
      const child = launch('runScheduler', [
        `--kubeconfig=${join(dir, 'scheduler.conf')}`,
        `--authentication-kubeconfig=${join(dir, 'scheduler.conf')}`,
        `--authorization-kubeconfig=${join(dir, 'scheduler.conf')}`,
        '--bind-address=127.0.0.1',
        '--leader-elect=true',
        `--secure-port=${port}`,
      ]);
      children.push(child);
      const exited = finish(child);
      await eventually(
        () => admin.getOptional('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler'),
        'the kube-scheduler Lease',
        10_000,
        50,
      );
      const bound = await eventually(
        async () => {
          const pod = await admin.get('/api/v1/namespaces/default/pods/web');
          return (pod.spec as { nodeName?: string }).nodeName;
        },
        'the pod to be bound to a node',
        10_000,
        50,
      );
      expect(bound).toBe('worker-a');
      child.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    },
    scaled(30_000),
  );
});
