import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { ConfigMap } from 'kubernetes-models/v1';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import { startProcessKubelet, type ProcessKubelet } from '../../../services/sandbox/src/kubelet/index.js';
import { buildDist, startTestSeed, temporaryStateDir, type TestSeed } from './support/harness.js';
import { eventually, scaled, scaledSeconds } from '../../support/time.js';
import { issueEtcdPki, type EtcdPki } from './support/pki.js';

const run = promisify(execFile);
const namespace = `kl-etcd-${randomBytes(3).toString('hex')}`;
const members = [0, 1, 2];
const memberHost = (ordinal: number): string => `etcd-${ordinal}.etcd.${namespace}.svc.cluster.local`;

function etcdStatefulSet(): V1StatefulSet {
  const peerUrl = (ordinal: number): string => `etcd-${ordinal}=https://etcd-${ordinal}.etcd.$(POD_NAMESPACE).svc.cluster.local:2380`;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'etcd', namespace },
    spec: {
      replicas: 3,
      serviceName: 'etcd',
      // Members of a new cluster must all start before any can report healthy.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'etcd' } },
      template: {
        metadata: { labels: { app: 'etcd' } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'etcd',
              image: 'registry.k8s.io/etcd:3.5.21-0',
              command: [
                'etcd',
                '--name=$(POD_NAME)',
                '--data-dir=/var/lib/etcd/data',
                '--listen-client-urls=https://$(POD_IP):2379',
                '--advertise-client-urls=https://$(POD_NAME).etcd.$(POD_NAMESPACE).svc.cluster.local:2379',
                '--listen-peer-urls=https://$(POD_IP):2380',
                '--initial-advertise-peer-urls=https://$(POD_NAME).etcd.$(POD_NAMESPACE).svc.cluster.local:2380',
                `--initial-cluster=${members.map(peerUrl).join(',')}`,
                '--initial-cluster-token=$(POD_NAMESPACE)',
                '--initial-cluster-state=new',
                '--listen-metrics-urls=http://$(POD_IP):2381',
                '--client-cert-auth',
                '--trusted-ca-file=/etc/etcd/pki/ca.crt',
                '--cert-file=/etc/etcd/pki/server.crt',
                '--key-file=/etc/etcd/pki/server.key',
                '--peer-client-cert-auth',
                '--peer-trusted-ca-file=/etc/etcd/pki/ca.crt',
                '--peer-cert-file=/etc/etcd/pki/peer.crt',
                '--peer-key-file=/etc/etcd/pki/peer.key',
                '--heartbeat-interval=200',
                '--election-timeout=2000',
                '--snapshot-count=5000',
              ],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              ],
              ports: [
                { name: 'client', containerPort: 2379 },
                { name: 'peer', containerPort: 2380 },
                { name: 'metrics', containerPort: 2381 },
              ],
              readinessProbe: { httpGet: { path: '/health', port: 'metrics' }, periodSeconds: 1, failureThreshold: 2 },
              volumeMounts: [
                { name: 'pki', mountPath: '/etc/etcd/pki' },
                { name: 'data', mountPath: '/var/lib/etcd' },
              ],
            },
          ],
          volumes: [{ name: 'pki', secret: { secretName: 'etcd-tls', defaultMode: 0o400 } }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  };
}

describe('process kubelet: a 3-member etcd StatefulSet with TLS', () => {
  let seed: TestSeed;
  let kubelet: ProcessKubelet;
  let pki: EtcdPki;
  const state = temporaryStateDir('etcd');

  const etcdctl = async (endpoints: number[], args: string[]): Promise<string> => {
    const { stdout } = await run(
      '/usr/bin/etcdctl',
      [
        `--endpoints=${endpoints.map((ordinal) => `https://${memberHost(ordinal)}:2379`).join(',')}`,
        `--cacert=${join(pki.directory, 'ca.crt')}`,
        `--cert=${join(pki.directory, 'client.crt')}`,
        `--key=${join(pki.directory, 'client.key')}`,
        `--dial-timeout=${scaledSeconds(2)}s`,
        `--command-timeout=${scaledSeconds(4)}s`,
        ...args,
      ],
      { env: { ETCDCTL_API: '3', PATH: process.env.PATH ?? '/usr/bin' }, timeout: scaled(10_000) },
    );
    return stdout;
  };

  const expectAllHealthy = async (): Promise<void> => {
    const health = JSON.parse(await etcdctl([0, 1, 2], ['endpoint', 'health', '-w', 'json'])) as Array<{ endpoint: string; health: boolean }>;
    expect(health.map((entry) => entry.endpoint).sort()).toEqual(members.map((ordinal) => `https://${memberHost(ordinal)}:2379`));
    expect(health.every((entry) => entry.health)).toBe(true);
  };

  beforeAll(async () => {
    // kube-apiserver runs as kubesim's CLI from dist/.
    await buildDist();
    pki = issueEtcdPki(namespace, 3);
    seed = await startTestSeed();
    await seed.createNamespace(namespace);
    const base64 = (text: string): string => Buffer.from(text).toString('base64');
    await seed.client.create('Secret', {
      metadata: { name: 'etcd-tls', namespace },
      type: 'Opaque',
      data: Object.fromEntries((['ca.crt', 'server.crt', 'server.key', 'peer.crt', 'peer.key'] as const).map((name) => [name, base64(pki.files[name])])),
    });
    await seed.client.create('Service', {
      metadata: { name: 'etcd', namespace },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: { app: 'etcd' },
        ports: [
          { name: 'client', port: 2379, targetPort: 2379 },
          { name: 'peer', port: 2380, targetPort: 2380 },
        ],
      },
    });
    kubelet = await startProcessKubelet({
      kubeconfig: seed.kubeconfig,
      stateDir: state.path,
      namespaces: [namespace],
      backoff: { initialMs: 500, maxMs: 2_000 },
      maxTerminationGraceMs: 5_000,
      resyncIntervalMs: 500,
    });
    await seed.client.create('StatefulSet', etcdStatefulSet());
  });

  afterAll(async () => {
    await kubelet?.stop();
    await seed?.stop();
    pki?.remove();
    state.remove();
  });

  it('forms quorum over the pod DNS names with TLS', async () => {
    const statefulSet = await eventually(
      async () => {
        const current = await seed.client.get('StatefulSet', namespace, 'etcd');
        return current?.status?.readyReplicas === 3 ? current : undefined;
      },
      'etcd to have 3 ready replicas',
      60_000,
      250,
    );
    expect(statefulSet.status?.currentRevision).toBe(statefulSet.status?.updateRevision);
    const pods = await seed.client.list('Pod', namespace);
    for (const ordinal of members) {
      const pod = pods.find((candidate) => candidate.metadata?.name === `etcd-${ordinal}`);
      expect(pod?.metadata?.labels).toMatchObject({
        'statefulset.kubernetes.io/pod-name': `etcd-${ordinal}`,
        'apps.kubernetes.io/pod-index': String(ordinal),
        'controller-revision-hash': statefulSet.status?.updateRevision,
      });
      expect(pod?.spec?.volumes?.find((volume) => volume.name === 'data')?.persistentVolumeClaim?.claimName).toBe(`data-etcd-${ordinal}`);
    }
    const claims = await seed.client.list('PersistentVolumeClaim', namespace);
    expect(claims.map((claim) => claim.metadata?.name).sort()).toEqual(['data-etcd-0', 'data-etcd-1', 'data-etcd-2']);

    const list = JSON.parse(await etcdctl([0, 1, 2], ['member', 'list', '-w', 'json'])) as {
      members: Array<{ name: string; peerURLs: string[]; clientURLs: string[] }>;
    };
    expect(list.members).toHaveLength(3);
    expect(list.members.map((member) => member.name).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    for (const member of list.members) expect(member.clientURLs).toEqual([`https://${member.name}.etcd.${namespace}.svc.cluster.local:2379`]);
    await expectAllHealthy();
  });

  it('keeps quorum when a member dies, restarts it and lets it rejoin with its data', async () => {
    const before = kubelet.pods().find((pod) => pod.name === 'etcd-1');
    if (!before) throw new Error('etcd-1 is not running');
    expect(kubelet.signalContainer(namespace, 'etcd-1', 'etcd', 'SIGKILL')).toBe(true);
    // Quorum (2 of 3) survives: writes through the remaining members succeed.
    // If the dead member led, the survivors first elect a new leader (election timeout 2 s).
    await eventually(async () => (await etcdctl([0, 2], ['put', 'written-while-down', 'yes'])) === 'OK\n', 'a write with one member down', 20_000, 500);
    expect(await etcdctl([0, 2], ['get', 'written-while-down', '--print-value-only'])).toBe('yes\n');
    const restarted = await eventually(
      () => kubelet.pods().find((pod) => pod.name === 'etcd-1' && pod.ready && pod.containers[0].restartCount >= 1),
      'etcd-1 to restart and be ready',
      60_000,
      250,
    );
    expect(restarted.ip).toBe(before.ip);
    // A serializable read is served from etcd-1's own (persistent) store.
    const local = await eventually(
      async () => {
        const value = await etcdctl([1], ['get', 'written-while-down', '--print-value-only', '--consistency=s']);
        return value === 'yes\n' ? value : undefined;
      },
      'etcd-1 to catch up',
      30_000,
      500,
    );
    expect(local).toBe('yes\n');
    const list = JSON.parse(await etcdctl([1], ['member', 'list', '-w', 'json'])) as { members: unknown[] };
    expect(list.members).toHaveLength(3);
    const pod = await seed.client.get('Pod', namespace, 'etcd-1');
    expect(pod?.status?.containerStatuses?.[0]?.restartCount).toBeGreaterThanOrEqual(1);
  });

  it('recreates a deleted member pod with the same address and volume', async () => {
    const before = kubelet.pods().find((pod) => pod.name === 'etcd-2');
    if (!before) throw new Error('etcd-2 is not running');
    const oldPod = await seed.client.get('Pod', namespace, 'etcd-2');
    await seed.client.delete('Pod', namespace, 'etcd-2');
    const recreated = await eventually(
      async () => {
        const pod = await seed.client.get('Pod', namespace, 'etcd-2');
        const local = kubelet.pods().find((candidate) => candidate.name === 'etcd-2' && candidate.ready);
        return pod && pod.metadata?.uid !== oldPod?.metadata?.uid && local ? local : undefined;
      },
      'etcd-2 to be recreated and ready',
      60_000,
      250,
    );
    expect(recreated.ip).toBe(before.ip);
    expect(await etcdctl([2], ['get', 'written-while-down', '--print-value-only', '--consistency=s'])).toBe('yes\n');
    await expectAllHealthy();
  });

  it('runs two kube-apiserver replicas on the etcd cluster behind a NodePort Service', async () => {
    const base64 = (text: string): string => Buffer.from(text).toString('base64');
    await seed.client.create('Secret', {
      metadata: { name: 'apiserver-pki', namespace },
      data: Object.fromEntries(
        (['ca.crt', 'apiserver.crt', 'apiserver.key', 'client.crt', 'client.key', 'sa.key', 'sa.pub'] as const).map((name) => [name, base64(pki.files[name])]),
      ),
    });
    const etcdServers = members.map((ordinal) => `https://etcd-${ordinal}.etcd.${namespace}.svc.cluster.local:2379`).join(',');
    await seed.client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'kube-apiserver', namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'apiserver' } },
        template: {
          metadata: { labels: { app: 'apiserver' } },
          spec: {
            containers: [
              {
                name: 'apiserver',
                image: 'registry.k8s.io/kube-apiserver:v1.32.0',
                command: [
                  'kube-apiserver',
                  // Pods share the host's network namespace: bind the pod address only.
                  '--bind-address=$(POD_IP)',
                  '--advertise-address=$(POD_IP)',
                  '--secure-port=6443',
                  `--etcd-servers=${etcdServers}`,
                  '--etcd-cafile=/etc/kubernetes/pki/ca.crt',
                  '--etcd-certfile=/etc/kubernetes/pki/client.crt',
                  '--etcd-keyfile=/etc/kubernetes/pki/client.key',
                  '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt',
                  '--tls-private-key-file=/etc/kubernetes/pki/apiserver.key',
                  '--client-ca-file=/etc/kubernetes/pki/ca.crt',
                  '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
                  '--service-account-key-file=/etc/kubernetes/pki/sa.pub',
                  '--service-account-signing-key-file=/etc/kubernetes/pki/sa.key',
                  '--service-cluster-ip-range=10.96.0.0/12',
                  '--authorization-mode=Node,RBAC',
                  '--endpoint-reconciler-type=none',
                ],
                env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                ports: [{ name: 'https', containerPort: 6443 }],
                readinessProbe: { httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' }, periodSeconds: 1, failureThreshold: 3 },
                livenessProbe: { httpGet: { path: '/livez', port: 'https', scheme: 'HTTPS' }, periodSeconds: 2, failureThreshold: 10 },
                volumeMounts: [{ name: 'pki', mountPath: '/etc/kubernetes/pki', readOnly: true }],
              },
            ],
            volumes: [{ name: 'pki', secret: { secretName: 'apiserver-pki' } }],
          },
        },
      },
    });
    const service = await seed.client.create('Service', {
      metadata: { name: 'apiserver', namespace },
      spec: {
        type: 'NodePort',
        selector: { app: 'apiserver' },
        ports: [{ name: 'https', port: 443, targetPort: 'https', nodePort: 30_000 + Math.floor(Math.random() * 2_700) }],
      },
    });
    await eventually(
      async () => {
        const deployment = await seed.client.get('Deployment', namespace, 'kube-apiserver');
        return deployment?.status?.readyReplicas === 2 ? true : undefined;
      },
      'two ready kube-apiservers',
      60_000,
      250,
    );

    const tenant = new KubeConfig();
    tenant.loadFromOptions({
      clusters: [{ name: 'tenant', server: `https://127.0.0.1:${service.spec?.ports?.[0]?.nodePort}`, caData: base64(pki.files['ca.crt']) }],
      users: [{ name: 'admin', certData: base64(pki.files['admin.crt']), keyData: base64(pki.files['admin.key']) }],
      contexts: [{ name: 'tenant', cluster: 'tenant', user: 'admin' }],
      currentContext: 'tenant',
    });
    const core = tenant.makeApiClient(CoreV1Api);
    const body = new ConfigMap({ metadata: { name: 'stored-in-etcd', namespace: 'default' }, data: { hello: 'world' } });
    body.validate();
    await eventually(
      async () => ((await core.createNamespacedConfigMap({ namespace: 'default', body: body.toJSON() as V1ConfigMap })) ? true : undefined),
      'a write through the NodePort',
      20_000,
      500,
    );
    const keys = await etcdctl([0, 1, 2], ['get', '--prefix', '/', '--keys-only']);
    expect(keys).toMatch(/configmaps\/default\/stored-in-etcd/);
  });
});
