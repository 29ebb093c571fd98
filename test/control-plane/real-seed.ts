// A real seed: a real etcd, kube-apiserver, kube-controller-manager and kube-scheduler (from
// KUBE_BIN_DIR), with the process kubelet as their node agent (`controllers: false`): the real
// controllers create ReplicaSets, Pods, Endpoints, EndpointSlices and PersistentVolumes, the real
// scheduler binds the Pods, and the node agent only runs them. Server-side apply, field ownership,
// RBAC, admission and watches on the seed are then the real ones.
//
// Harbormaster is handed a kubeconfig of its own identity (`harbormaster-seed`), bound by RBAC to
// the seed ClusterRole below, not system:masters; the node agent and the test use the admin one.
import 'reflect-metadata';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { claimSlot } from '../../services/sandbox/src/kubelet/addresses.js';
import { startProcessKubelet, type ProcessKubelet } from '../../services/sandbox/src/kubelet/index.js';
import { POD_NETWORK } from '../../services/sandbox/src/kubelet/node-agent.js';
import { createCa, issueCertificate, type KeyPairPem } from '../../services/sandbox/src/kubesim/pki.js';
import { RealBinaries } from '../../services/sandbox/src/real-binaries/index.js';
import { SUPPORTED_VERSIONS } from '../../services/core/src/versions.js';
import { eventually, scaled } from '../support/time.js';

/** The identity Harbormaster is registered with, and the ClusterRole it is bound to. */
export const SEED_IDENTITY = 'harbormaster-seed';
export const SEED_CLUSTER_ROLE = 'harbormaster:seed';

export interface RealSeed {
  url: string;
  /** system:masters, for the test and the node agent. */
  adminKubeconfig: string;
  /** The `harbormaster-seed` identity, to register the seed with. */
  kubeconfig: string;
  kubelet: ProcessKubelet;
  stateDir: string;
  objects: KubernetesObjectApi;
  /** The versions of the seed's binaries (`v1.37.2`). */
  version: string;
  read<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<T | undefined>;
  logOf(component: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler'): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function kubeconfigYaml(name: string, server: string, caPem: string, user: KeyPairPem): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: `${name}-user`, user: { 'client-certificate-data': b64(user.certPem), 'client-key-data': b64(user.keyPem) } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-user` } }],
    'current-context': name,
  });
}

/** What Harbormaster does on a seed, and nothing more: its namespaces and what it applies there. */
function seedClusterRole(): KubernetesObject & { rules: unknown[] } {
  const write = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: SEED_CLUSTER_ROLE },
    rules: [
      { apiGroups: [''], resources: ['namespaces', 'secrets', 'services', 'configmaps', 'persistentvolumeclaims'], verbs: write },
      { apiGroups: [''], resources: ['pods', 'endpoints', 'events'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: write },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: write },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: write },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    ],
  };
}

export async function startRealSeed(options: { binaries?: RealBinaries } = {}): Promise<RealSeed> {
  const binaries = options.binaries ?? RealBinaries.fromEnvironment();
  if (!binaries) throw new Error('a real seed needs KUBE_BIN_DIR (the real binaries from npm run kube:bins)');
  const version = binaries.newestVersion;
  // The etcd kubeadm pairs with the seed's minor, as for a tenant of that version.
  const paired = SUPPORTED_VERSIONS.find((candidate) => candidate.version === version);
  if (!paired) throw new Error(`the catalog has no ${version} to pair an etcd with`);
  const etcdBinary = binaries.etcd('etcd', paired.etcdVersion);

  // The pod network: every address of 198.18.0.0/15 binds and connects on this host.
  execFileSync('ip', ['route', 'replace', 'local', POD_NETWORK, 'dev', 'lo', 'src', '127.0.0.1', 'table', 'local']);
  // A slot of its own gives this seed a Service range no other real seed on the host uses.
  const slot = claimSlot('/tmp/harbormaster-real-seed-slots');
  const serviceRange = `198.19.${slot.slot}.0/24`;
  const firstServiceIP = `198.19.${slot.slot}.1`;

  const root = mkdtempSync(join(tmpdir(), 'hm-real-seed-'));
  const pki = join(root, 'pki');
  const logs = join(root, 'logs');
  mkdirSync(pki, { recursive: true });
  mkdirSync(logs, { recursive: true });
  const ca = await createCa('harbormaster-real-seed-ca');
  const [serving, admin, controllerManager, scheduler, harbormaster, serviceAccount] = await Promise.all([
    issueCertificate(ca, {
      commonName: 'kube-apiserver',
      server: true,
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
      ipAddresses: ['127.0.0.1', firstServiceIP],
    }),
    issueCertificate(ca, { commonName: 'real-seed-admin', organizations: ['system:masters'], client: true }),
    issueCertificate(ca, { commonName: 'system:kube-controller-manager', client: true }),
    issueCertificate(ca, { commonName: 'system:kube-scheduler', client: true }),
    issueCertificate(ca, { commonName: SEED_IDENTITY, client: true }),
    createCa('service-account-signer'),
  ]);
  const file = (name: string, content: string) => {
    const path = join(pki, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const caFile = file('ca.crt', ca.certPem);
  const caKeyFile = file('ca.key', ca.keyPem);
  const servingCert = file('apiserver.crt', serving.certPem);
  const servingKey = file('apiserver.key', serving.keyPem);
  const saKey = file('sa.key', serviceAccount.keyPem);
  const saPub = file('sa.pub', serviceAccount.certPem);

  const [etcdClient, etcdPeer, apiserverPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const url = `https://127.0.0.1:${apiserverPort}`;
  const adminKubeconfig = kubeconfigYaml('real-seed', url, ca.certPem, admin);
  const kubeconfig = kubeconfigYaml('real-seed', url, ca.certPem, harbormaster);
  const controllerManagerKubeconfig = file('controller-manager.conf', kubeconfigYaml('real-seed', url, ca.certPem, controllerManager));
  const schedulerKubeconfig = file('scheduler.conf', kubeconfigYaml('real-seed', url, ca.certPem, scheduler));

  const children: Array<{ name: string; child: ChildProcess }> = [];
  const logPath = (name: string) => join(logs, `${name}.log`);
  const launch = (name: string, command: string, args: string[]) => {
    const log = createWriteStream(logPath(name));
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    children.push({ name, child });
  };
  const stopChildren = async () => {
    for (const { child } of [...children].reverse()) {
      if (child.exitCode !== null || child.pid === undefined) continue;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        continue;
      }
      const timeout = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, 10_000);
      await exited;
      clearTimeout(timeout);
    }
  };

  let kubelet: ProcessKubelet | undefined;
  try {
    launch('etcd', etcdBinary, [
      '--name=real-seed',
      `--data-dir=${join(root, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=real-seed=http://127.0.0.1:${etcdPeer}`,
      '--listen-metrics-urls=',
    ]);
    launch('kube-apiserver', binaries.kube('kube-apiserver', version), [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      `--advertise-address=198.18.255.${slot.slot + 1}`,
      `--secure-port=${apiserverPort}`,
      `--tls-cert-file=${servingCert}`,
      `--tls-private-key-file=${servingKey}`,
      `--client-ca-file=${caFile}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      `--service-cluster-ip-range=${serviceRange}`,
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--allow-privileged=true',
      '--profiling=false',
    ]);
    const config = new KubeConfig();
    config.loadFromString(adminKubeconfig);
    const objects = KubernetesObjectApi.makeApiClient(config);
    // Ready once the bootstrap RBAC and the system namespaces are there.
    await eventually(
      async () => (await objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-node-lease' } })) !== undefined,
      'the seed kube-apiserver to serve',
      60_000,
      250,
    );

    launch('kube-controller-manager', binaries.kube('kube-controller-manager', version), [
      `--kubeconfig=${controllerManagerKubeconfig}`,
      `--authentication-kubeconfig=${controllerManagerKubeconfig}`,
      `--authorization-kubeconfig=${controllerManagerKubeconfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${saKey}`,
      `--root-ca-file=${caFile}`,
      `--cluster-signing-cert-file=${caFile}`,
      `--cluster-signing-key-file=${caKeyFile}`,
      '--controllers=*',
      // PersistentVolumes for the etcd claims: the in-tree hostPath provisioner (testing only,
      // single node), through a default StorageClass created below.
      '--enable-hostpath-provisioner=true',
      '--pvclaimbinder-sync-period=2s',
      '--cluster-name=real-seed',
    ]);
    launch('kube-scheduler', binaries.kube('kube-scheduler', version), [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
    ]);

    await objects.create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'hostpath', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'kubernetes.io/host-path',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    } as KubernetesObject);
    await objects.create(seedClusterRole());
    await objects.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: SEED_CLUSTER_ROLE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SEED_CLUSTER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: SEED_IDENTITY }],
    } as KubernetesObject);

    const stateDir = join(root, 'kubelet');
    kubelet = await startProcessKubelet({
      kubeconfig: adminKubeconfig,
      stateDir,
      controllers: false,
      backoff: { initialMs: 1_000, maxMs: 4_000 },
      maxTerminationGraceMs: 2_000,
      resyncIntervalMs: 5_000,
      log: (message) => process.stderr.write(`${message}\n`),
    });
    const node = kubelet;
    const read = async <T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<T | undefined> => {
      try {
        return await objects.read<T>({ apiVersion, kind, metadata: { name, namespace } });
      } catch {
        return undefined;
      }
    };
    // The node is schedulable once the node lifecycle controller has seen it Ready.
    await eventually(
      async () => {
        const found = await read<KubernetesObject & { spec?: { taints?: unknown[] } }>(
          'v1',
          'Node',
          undefined,
          (await objects.list('v1', 'Node')).items[0]?.metadata?.name ?? '',
        );
        return found !== undefined && (found.spec?.taints ?? []).length === 0;
      },
      'the node agent to be registered and untainted',
      60_000,
      250,
    );
    return {
      url,
      adminKubeconfig,
      kubeconfig,
      kubelet: node,
      stateDir,
      objects,
      version: `v${version}`,
      read,
      logOf: (component) => {
        try {
          return execFileSync('cat', [logPath(component)]).toString();
        } catch {
          return '';
        }
      },
      async stop() {
        await node.stop();
        await stopChildren();
        slot.release();
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await kubelet?.stop();
    await stopChildren();
    slot.release();
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

/** The scaled budget a real seed takes to come up on a quiet machine. */
export const REAL_SEED_START_MS = scaled(90_000);
