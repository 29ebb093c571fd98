// End to end on a process seed: one-click create through the HTTP API, real etcd ×3 and the
// apiserver started from the built flags, Running, kubeconfigs that kubectl and client-node
// accept, etcd member loss, drift repair, a worker crash mid-reconcile, upgrade ordering and
// deletion down to processes and data directories.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, VersionApi, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectWithRoles } from '../support/fixtures.js';
import { TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';
import { startProcessSeed, type ProcessSeed } from './support.js';
import { SUPPORTED_VERSIONS } from '../../services/core/src/versions.js';
import { RealBinaries } from '../../services/sandbox/src/real-binaries/index.js';
import { ensureBuilt } from '../support/build.js';

const run = promisify(execFile);
/** The real Kubernetes binaries when KUBE_BIN_DIR is set (the real-binaries suite). */
const real = RealBinaries.fromEnvironment();

interface Condition {
  type: string;
  status: string;
  reason: string;
}
interface Cluster {
  id: string;
  name: string;
  phase: string;
  phaseReason: string;
  version: string;
  endpoint: string | null;
  conditions: Condition[];
}
interface Event {
  id: number;
  reason: string;
  message: string;
}

describe('tenant control planes on a process seed', () => {
  let seed: ProcessSeed;
  let server: TestServer;
  let projectId: string;
  let tokens: { owner: string; editor: string; viewer: string; outsider: string };
  let cluster: Cluster;
  const scratch = mkdtempSync(join(tmpdir(), 'hm-cp-test-'));

  const getCluster = async (id: string): Promise<Cluster> => (await server.request<Cluster>('GET', `/api/v1/projects/${projectId}/clusters/${id}`)).body;
  const events = async (id: string): Promise<Event[]> =>
    (await server.request<{ items: Event[] }>('GET', `/api/v1/projects/${projectId}/clusters/${id}/events`)).body.items;
  const waitForPhase = (id: string, phase: string, timeoutMs: number) =>
    eventually(
      async () => {
        const current = await getCluster(id);
        return current.phase === phase ? current : undefined;
      },
      `cluster ${id} to be ${phase}`,
      timeoutMs,
      500,
    );
  const podsOf = (id: string) => seed.kubelet.pods().filter((pod) => pod.namespace === `cluster-${id}`);

  beforeAll(async () => {
    ensureBuilt();
    seed = await startProcessSeed({ pods: true });
    server = await TestServer.start({ backend: 'pglite', env: { HM_CLUSTER_HEALTH_INTERVAL_SECONDS: '2', HM_RESYNC_INTERVAL_SECONDS: '5' } });
    const registered = await server.request('POST', '/api/v1/seeds', {
      body: { name: 'process-seed', kubeconfig: seed.kubesim.adminKubeconfig, maxClusters: 5 },
    });
    if (registered.status !== 201) throw new Error(`seed registration failed: ${registered.text}`);
    ({ projectId, tokens } = await projectWithRoles(server, 'cp'));
  }, scaled(120_000));

  afterAll(async () => {
    await server?.destroy();
    await seed?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }, scaled(60_000));

  it(
    'one-click creates a cluster that reaches Running with real etcd ×3 and the apiserver from its flags',
    async () => {
      const created = await server.request<Cluster>('POST', `/api/v1/projects/${projectId}/clusters`, { token: tokens.editor, body: {} });
      expect(created.status).toBe(201);
      expect(created.body.phase).toBe('Provisioning');
      cluster = await waitForPhase(created.body.id, 'Running', 150_000);
      expect(cluster.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:3\d{4}$/);
      expect(Object.fromEntries(cluster.conditions.map((condition) => [condition.type, condition.status]))).toEqual({
        APIServerReady: 'True',
        ControllerManagerReady: 'True',
        // The add-ons are applied, but with no node nothing runs them yet.
        DNSReady: 'False',
        EtcdReady: 'True',
        NetworkReady: 'False',
        Reachable: 'True',
        SchedulerReady: 'True',
        // The konnectivity server runs beside each apiserver, but no node runs an agent yet.
        TunnelReady: 'False',
      });

      const pods = podsOf(cluster.id);
      const etcd = pods.filter((pod) => pod.ownerKind === 'StatefulSet');
      expect(etcd.map((pod) => pod.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
      // With KUBE_BIN_DIR, etcd is the release kubeadm pairs with this minor, built from its module.
      const newest = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1];
      const etcdBinary = real ? real.etcd('etcd', newest.etcdVersion) : '/usr/bin/etcd';
      for (const pod of etcd) {
        const pid = pod.containers[0].pid!;
        expect(
          execFileSync('readlink', [`/proc/${pid}/exe`])
            .toString()
            .trim(),
        ).toBe(etcdBinary);
      }
      const apiservers = pods.filter((pod) => pod.ownerName?.startsWith('kube-apiserver'));
      expect(apiservers).toHaveLength(2);
      const cmdline = execFileSync('cat', [`/proc/${apiservers[0].containers[0].pid}/cmdline`])
        .toString()
        .split('\0');
      // With KUBE_BIN_DIR the process kubelet runs the real binary; otherwise kubesim in its role.
      if (process.env.KUBE_BIN_DIR) expect(cmdline[0]).toBe(join(process.env.KUBE_BIN_DIR, 'kube-apiserver'));
      else {
        expect(cmdline.some((argument) => argument.endsWith('kubesim/cli.js'))).toBe(true);
        expect(cmdline).toContain('kube-apiserver');
      }
      expect(cmdline.some((argument) => argument.startsWith('--etcd-servers=https://etcd-0.etcd.'))).toBe(true);
      expect(cmdline).toContain('--authorization-mode=Node,RBAC');
      // The process kubelet maps container paths to host paths, so only the file name is the manifest's.
      expect(cmdline.some((argument) => /^--egress-selector-config-file=\/.*\/egress-selector-configuration\.yaml$/.test(argument))).toBe(true);

      // Beside each apiserver, a konnectivity server, ready (live) while no agent has connected.
      for (const pod of apiservers) {
        const sidecar = pod.containers.find((container) => container.name === 'konnectivity-server');
        expect(sidecar, pod.name).toMatchObject({ ready: true, state: 'running' });
        const server = execFileSync('cat', [`/proc/${sidecar!.pid}/cmdline`])
          .toString()
          .split('\0');
        if (process.env.KUBE_BIN_DIR) expect(server[0]).toBe(real!.konnectivity('proxy-server', cluster.version));
        expect(server).toContain('--server-count=2');
        expect(server).toContain(`--agent-bind-address=${pod.ip}`);
      }

      // Every step is on the timeline, in dependency order.
      const reasons = (await events(cluster.id)).map((event) => event.reason);
      const order = [
        'Placed',
        'EndpointAssigned',
        'PKIIssued',
        'AppliedConfig',
        'AppliedEtcd',
        'EtcdReady',
        'AppliedApiserver',
        'APIServerReady',
        'AppliedControllers',
        'AppliedTenantBootstrap',
        'ControlPlaneReady',
      ];
      const positions = order.map((reason) => reasons.indexOf(reason));
      expect(
        positions.every((position) => position >= 0),
        `${order.join(',')} in ${reasons.join(',')}`,
      ).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    },
    scaled(180_000),
  );

  it(
    'serves an admin kubeconfig to editors and a read-only one to viewers, both usable by kubectl and client-node',
    async () => {
      const path = `/api/v1/projects/${projectId}/clusters/${cluster.id}/kubeconfig`;
      const admin = await server.request<string>('GET', path, { token: tokens.editor });
      expect(admin.status).toBe(200);
      const viewer = await server.request<string>('GET', path, { token: tokens.viewer });
      expect(viewer.status).toBe(200);
      expect((await server.request('GET', path, { token: tokens.outsider })).status).toBe(404);

      const adminDoc = parse(admin.text) as { clusters: Array<{ name: string; cluster: { server: string } }>; users: Array<{ name: string }> };
      const viewerDoc = parse(viewer.text) as typeof adminDoc;
      expect(adminDoc.clusters[0].cluster.server).toBe(cluster.endpoint);
      expect(viewerDoc.clusters[0].cluster.server).toBe(cluster.endpoint);
      expect(adminDoc.users[0].name).not.toBe(viewerDoc.users[0].name);

      // The kubectl of the cluster's own version where it is built, as a user would have it.
      const kubectl = real ? real.kube('kubectl', cluster.version) : '/usr/bin/kubectl';
      const adminFile = join(scratch, 'admin.kubeconfig');
      const viewerFile = join(scratch, 'viewer.kubeconfig');
      writeFileSync(adminFile, admin.text, { mode: 0o600 });
      writeFileSync(viewerFile, viewer.text, { mode: 0o600 });
      const listed = await run(kubectl, ['--kubeconfig', adminFile, 'get', 'ns', '-o', 'name'], { timeout: scaled(30_000) });
      expect(listed.stdout).toContain('namespace/kube-system');
      const created = await run(kubectl, ['--kubeconfig', adminFile, 'create', 'configmap', 'hello', '-n', 'default', '--from-literal=a=b'], {
        timeout: scaled(30_000),
      });
      expect(created.stdout).toContain('configmap/hello created');
      await expect(
        run(kubectl, ['--kubeconfig', viewerFile, 'create', 'configmap', 'nope', '-n', 'default', '--from-literal=a=b'], { timeout: scaled(30_000) }),
      ).rejects.toThrow(/forbidden/i);
      const viewerRead = await run(kubectl, ['--kubeconfig', viewerFile, 'get', 'configmap', 'hello', '-n', 'default', '-o', 'jsonpath={.data.a}'], {
        timeout: scaled(30_000),
      });
      expect(viewerRead.stdout).toBe('b');

      const config = new KubeConfig();
      config.loadFromString(admin.text);
      // The real apiserver reports the cluster's version (kubesim, the version it imitates).
      if (real) expect((await config.makeApiClient(VersionApi).getCode()).gitVersion).toBe(`v${cluster.version}`);
      const namespaces = await config.makeApiClient(CoreV1Api).listNamespace();
      expect(namespaces.items.map((namespace) => namespace.metadata?.name)).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));
      // What node join needs was created in the tenant.
      const clusterInfo = await config.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'cluster-info', namespace: 'kube-public' });
      expect(clusterInfo.data?.kubeconfig).toContain(cluster.endpoint!);
    },
    scaled(90_000),
  );

  it(
    'keeps the cluster Running and served when an etcd member and an apiserver replica die, and both come back',
    async () => {
      const namespace = `cluster-${cluster.id}`;
      const etcdBefore = podsOf(cluster.id).find((pod) => pod.name === 'etcd-1')!;
      const apiserverBefore = podsOf(cluster.id).find((pod) => pod.ownerName?.startsWith('kube-apiserver'))!;
      const oldPids = [etcdBefore.containers[0].pid!, apiserverBefore.containers[0].pid!];
      const admin = new KubeConfig();
      admin.loadFromString(
        (await server.request<string>('GET', `/api/v1/projects/${projectId}/clusters/${cluster.id}/kubeconfig`, { token: tokens.editor })).text,
      );
      const tenant = admin.makeApiClient(CoreV1Api);
      expect(seed.kubelet.signalContainer(namespace, 'etcd-1', 'etcd', 'SIGKILL')).toBe(true);
      expect(seed.kubelet.signalContainer(namespace, apiserverBefore.name, 'kube-apiserver', 'SIGKILL')).toBe(true);
      const phases = new Set<string>();
      let served = 0;
      const restarted = (name: string, before: typeof etcdBefore, oldPid: number) => {
        const pod = podsOf(cluster.id).find((candidate) => candidate.name === name);
        return pod !== undefined && pod.ready && pod.containers[0].pid !== oldPid && pod.containers[0].restartCount > before.containers[0].restartCount;
      };
      await eventually(
        async () => {
          phases.add((await getCluster(cluster.id)).phase);
          // The other replica behind the Service keeps the tenant's API up; etcd keeps its quorum.
          await tenant.readNamespace({ name: 'kube-system' });
          served += 1;
          return restarted('etcd-1', etcdBefore, oldPids[0]) && restarted(apiserverBefore.name, apiserverBefore, oldPids[1]);
        },
        'etcd-1 and the apiserver replica to restart and be ready again',
        90_000,
        500,
      );
      expect(served).toBeGreaterThan(0);
      // Several health probes ran meanwhile (every 2 s): quorum held, so nothing flipped.
      for (let sample = 0; sample < 6; sample += 1) {
        phases.add((await getCluster(cluster.id)).phase);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect([...phases]).toEqual(['Running']);
      const current = await getCluster(cluster.id);
      expect(current.conditions.find((condition) => condition.type === 'Reachable')?.status).toBe('True');
    },
    scaled(120_000),
  );

  it(
    'repairs drift: a deleted Secret, a scaled-down etcd and an edited Deployment are put back',
    async () => {
      const namespace = `cluster-${cluster.id}`;
      const secret = await seed.read('v1', 'Secret', namespace, 'scheduler-kubeconfig');
      expect(secret).toBeDefined();
      await seed.objects.delete({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'scheduler-kubeconfig', namespace } });
      await seed.objects.patch(
        { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'etcd', namespace }, spec: { replicas: 2 } },
        undefined,
        undefined,
        'intruder',
        undefined,
        'application/merge-patch+json',
      );
      const scheduler = (await seed.read<V1Deployment>('apps/v1', 'Deployment', namespace, 'kube-scheduler'))!;
      const originalArgs = scheduler.spec!.template.spec!.containers[0].command ?? scheduler.spec!.template.spec!.containers[0].args;
      await seed.objects.patch(
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'kube-scheduler', namespace }, spec: { replicas: 3 } },
        undefined,
        undefined,
        'intruder',
        undefined,
        'application/merge-patch+json',
      );
      await eventually(
        async () => {
          const restored = await seed.read('v1', 'Secret', namespace, 'scheduler-kubeconfig');
          const etcd = await seed.read<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, 'etcd');
          const deployment = await seed.read<V1Deployment>('apps/v1', 'Deployment', namespace, 'kube-scheduler');
          return restored !== undefined && etcd?.spec?.replicas === 3 && deployment?.spec?.replicas === 1;
        },
        'drift to be repaired',
        60_000,
        500,
      );
      const deployment = (await seed.read<V1Deployment>('apps/v1', 'Deployment', namespace, 'kube-scheduler'))!;
      expect(deployment.spec!.template.spec!.containers[0].command ?? deployment.spec!.template.spec!.containers[0].args).toEqual(originalArgs);
      const reasons = (await events(cluster.id)).map((event) => event.reason);
      expect(reasons).toEqual(expect.arrayContaining(['AppliedConfig', 'AppliedEtcd', 'AppliedControllers']));
      await waitForPhase(cluster.id, 'Running', 60_000);
      await eventually(
        async () => podsOf(cluster.id).filter((pod) => pod.name.startsWith('etcd-') && pod.ready).length === 3,
        'etcd back to 3 ready members',
        60_000,
        500,
      );
    },
    scaled(150_000),
  );

  let second: Cluster;

  it(
    'converges after the Harbormaster process is killed -9 in the middle of a reconcile',
    async () => {
      const created = await server.request<Cluster>('POST', `/api/v1/projects/${projectId}/clusters`, {
        token: tokens.editor,
        body: { name: 'upgrader', version: '1.36.3', exposeStrategy: 'LoadBalancer', etcdReplicas: 1 },
      });
      expect(created.status).toBe(201);
      const namespace = `cluster-${created.body.id}`;
      await eventually(async () => (await seed.read('apps/v1', 'StatefulSet', namespace, 'etcd')) !== undefined, 'the reconcile to reach etcd', 60_000, 100);
      expect((await getCluster(created.body.id)).phase).toBe('Provisioning');
      await server.restart(true);
      second = await waitForPhase(created.body.id, 'Running', 150_000);
      // A LoadBalancer endpoint comes from the Service status the seed filled in.
      expect(second.endpoint).toMatch(/^https:\/\/127\.32\.\d+\.\d+:6443$/);
      const pickups = (await events(second.id)).filter((event) => event.reason === 'Reconciling').map((event) => event.message);
      expect(new Set(pickups.map((message) => /worker (\S+)/.exec(message)?.[1])).size).toBeGreaterThanOrEqual(2);
      const admin = await server.request<string>('GET', `/api/v1/projects/${projectId}/clusters/${second.id}/kubeconfig`, { token: tokens.owner });
      const config = new KubeConfig();
      config.loadFromString(admin.text);
      expect((await config.makeApiClient(CoreV1Api).listNamespace()).items.length).toBeGreaterThanOrEqual(3);
      // Two clusters, two kubeconfigs whose names never collide.
      const first = await server.request<string>('GET', `/api/v1/projects/${projectId}/clusters/${cluster.id}/kubeconfig`, { token: tokens.owner });
      const names = (text: string) => {
        const doc = parse(text) as { clusters: Array<{ name: string }>; users: Array<{ name: string }> };
        return [doc.clusters[0].name, doc.users[0].name];
      };
      expect(names(admin.text).filter((name) => names(first.text).includes(name))).toEqual([]);
    },
    scaled(240_000),
  );

  it(
    'upgrades etcd first, then the apiserver, then the controller-manager and scheduler, each after health',
    async () => {
      const namespace = `cluster-${second.id}`;
      interface Sample {
        at: number;
        /** Samples of one round share it; each round reads the controllers before the apiserver. */
        round: number;
        name: string;
        version: string;
        rolledOut: boolean;
      }
      const timeline: Sample[] = [];
      let polling = true;
      let round = 0;
      const poller = (async () => {
        while (polling) {
          round += 1;
          // Controllers first: a controller seen at the new version proves the upgrade moved on,
          // so the apiserver read after it in the same round must already be rolled out. (Reading
          // the apiserver first let a rollout that finished between two reads look out of order on
          // a loaded machine.)
          for (const name of ['kube-controller-manager', 'kube-scheduler', 'kube-apiserver']) {
            const deployment = await seed.read<V1Deployment>('apps/v1', 'Deployment', namespace, name);
            if (!deployment) continue;
            const image = deployment.spec!.template.spec!.containers[0].image ?? '';
            const wanted = deployment.spec!.replicas ?? 1;
            const status = deployment.status ?? {};
            const rolledOut =
              (status.observedGeneration ?? 0) >= (deployment.metadata!.generation ?? 0) &&
              (status.updatedReplicas ?? 0) === wanted &&
              (status.readyReplicas ?? 0) === wanted &&
              (status.replicas ?? 0) === wanted;
            timeline.push({ at: Date.now(), round, name, version: image.split(':v')[1] ?? '', rolledOut });
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const patched = await server.request<{ operation: { id: string } }>('PATCH', `/api/v1/projects/${projectId}/clusters/${second.id}`, {
        token: tokens.editor,
        body: { version: '1.37.2' },
      });
      expect(patched.status).toBe(202);
      const upgraded = await eventually(
        async () => {
          const current = await getCluster(second.id);
          return current.phase === 'Running' && current.version === '1.37.2' ? current : undefined;
        },
        'the upgrade to finish',
        150_000,
        500,
      );
      polling = false;
      await poller;
      expect(upgraded.version).toBe('1.37.2');
      const operation = await server.request<{ status: string }>('GET', `/api/v1/projects/${projectId}/operations/${patched.body.operation.id}`);
      expect(operation.body.status).toBe('succeeded');

      const first = (name: string, predicate: (sample: Sample) => boolean) => timeline.find((sample) => sample.name === name && predicate(sample));
      const apiserverChanged = first('kube-apiserver', (sample) => sample.version === '1.37.2')?.at;
      const apiserverRolled = first('kube-apiserver', (sample) => sample.version === '1.37.2' && sample.rolledOut);
      expect(apiserverChanged).toBeDefined();
      expect(apiserverRolled).toBeDefined();
      // The controllers were still on 1.36 while the new apiserver rolled out.
      expect(timeline.some((sample) => sample.name === 'kube-controller-manager' && sample.version === '1.36.3' && sample.at > apiserverChanged!)).toBe(true);
      for (const controller of ['kube-controller-manager', 'kube-scheduler']) {
        const changed = first(controller, (sample) => sample.version === '1.37.2');
        expect(changed, controller).toBeDefined();
        const apiserverThen = timeline.find((sample) => sample.name === 'kube-apiserver' && sample.round === changed!.round);
        expect(apiserverThen, `${controller} changed in round ${changed!.round} while the apiserver was ${JSON.stringify(apiserverThen)}`).toMatchObject({
          version: '1.37.2',
          rolledOut: true,
        });
      }
      const all = (await events(second.id)).map((event) => event.reason);
      const afterRequest = all.slice(all.indexOf('UpgradeRequested'));
      // kubeadm pairs 1.36 with etcd 3.6 and 1.37 with etcd 3.7, so etcd rolls first, as
      // `kubeadm upgrade apply` does it, and the apiserver follows once its members are back.
      const steps = ['UpgradeRequested', 'AppliedEtcd', 'AppliedApiserver', 'APIServerReady', 'AppliedControllers', 'ControlPlaneReady'].map((reason) =>
        afterRequest.indexOf(reason),
      );
      expect(
        steps.every((position) => position >= 0),
        afterRequest.join(','),
      ).toBe(true);
      expect([...steps].sort((a, b) => a - b)).toEqual(steps);
      const etcd = (await seed.read<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, 'etcd'))!;
      expect(etcd.spec!.template.spec!.containers[0].image).toBe(
        `registry.k8s.io/etcd:${SUPPORTED_VERSIONS.find((version) => version.version === '1.37.2')!.etcdVersion}`,
      );
    },
    scaled(200_000),
  );

  it(
    'deletes clusters: the seed namespace, the processes and the data directories are gone',
    async () => {
      const ids = [cluster.id, second.id];
      const pids = ids
        .flatMap((id) => podsOf(id).flatMap((pod) => pod.containers.map((container) => container.pid)))
        .filter((pid): pid is number => pid !== undefined);
      expect(pids.length).toBeGreaterThanOrEqual(10);
      const volumes = join(seed.stateDir, 'volumes');
      expect(existsSync(volumes) && readdirSync(volumes).length).toBeGreaterThanOrEqual(4);
      for (const id of ids) {
        const deleted = await server.request<{ kind: string }>('DELETE', `/api/v1/projects/${projectId}/clusters/${id}`, { token: tokens.editor });
        expect(deleted.status).toBe(202);
      }
      for (const id of ids) {
        await eventually(
          async () => (await server.request('GET', `/api/v1/projects/${projectId}/clusters/${id}`)).status === 404,
          `cluster ${id} to be deleted`,
          90_000,
          500,
        );
        expect(await seed.read('v1', 'Namespace', undefined, `cluster-${id}`)).toBeUndefined();
        expect(podsOf(id)).toEqual([]);
        expect((await events(id)).at(-1)!.reason).toBe('Deleted');
      }
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      await eventually(async () => pids.every((pid) => !alive(pid)), 'every control-plane process to exit', 30_000, 200);
      await eventually(async () => readdirSync(volumes).length === 0, 'the etcd data directories to be removed', 30_000, 200);
      const seeds = await server.request<{ items: Array<{ capacity: { used: number } }> }>('GET', '/api/v1/seeds');
      expect(seeds.body.items[0].capacity.used).toBe(0);
    },
    scaled(200_000),
  );
});
