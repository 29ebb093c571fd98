// The simulated node as a kubelet: NotReady until a CNI plugin configured it, then the pods bound
// to it run as stand-ins whose endpoints the probes really reach.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../services/sandbox/src/kubesim/controllers/client.js';
import { silentLogger } from '../../services/sandbox/src/kubesim/controllers/client.js';
import { imageBasename, NETWORK_NOT_READY_MESSAGE, startNodeSimulator, type NodeSimulator } from '../../services/sandbox/src/nodes/index.js';
import { nodePodRange, PodAddressPool } from '../../services/sandbox/src/nodes/pod-network.js';
import { eventually, scaled } from '../support/time.js';
import { startKubesimTenant, type KubesimTenant } from './kubesim-tenant.js';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface NodeObject {
  status?: { conditions?: Condition[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } }; nodeInfo?: { kubeProxyVersion?: string } };
}
interface PodObject {
  metadata: { name: string; uid: string };
  status?: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    qosClass?: string;
    conditions?: Condition[];
    containerStatuses?: Array<{
      name: string;
      ready: boolean;
      restartCount?: number;
      containerID?: string;
      imageID?: string;
      state?: { running?: unknown; waiting?: { reason?: string } };
    }>;
    initContainerStatuses?: Array<{ name: string; state?: { terminated?: { exitCode: number; reason?: string } } }>;
  };
}

const condition = (conditions: Condition[] | undefined, type: string): Condition | undefined => conditions?.find((candidate) => candidate.type === type);

describe('simulated node running its pods', () => {
  let tenant: KubesimTenant;
  let admin: KubeClient;
  let dir: string;
  const nodes: NodeSimulator[] = [];
  const errors: string[] = [];

  const startNode = async (nodeName: string, ip: string): Promise<NodeSimulator> => {
    const userData = tenant.userData(await tenant.addToken(), { nodeName });
    const node = await startNodeSimulator({
      userData,
      ip,
      stateDir: mkdtempSync(join(dir, 'node-')),
      leaseRenewIntervalMs: 400,
      // Long on purpose: the node must turn Ready from the CNI directory watch, not a heartbeat.
      statusUpdateIntervalMs: 3_000,
      certificateTimeoutMs: 15_000,
      discoveryTimeoutMs: 15_000,
      networkPlugin: 'required',
      podBackoff: { initialMs: 200, maxMs: 1_000 },
      realBinaries: null,
      onError: (error) => errors.push(`${nodeName}: ${error.message}`),
    });
    nodes.push(node);
    await node.joined;
    return node;
  };

  const createPod = async (pod: V1Pod): Promise<void> => {
    await admin.request('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', ...pod });
  };
  const getPod = (name: string): Promise<PodObject> => admin.request<PodObject>('GET', `/api/v1/namespaces/default/pods/${name}`);
  const readyPod = (name: string): Promise<PodObject> =>
    eventually(
      async () => {
        const pod = await getPod(name);
        return condition(pod.status?.conditions, 'Ready')?.status === 'True' ? pod : undefined;
      },
      `pod ${name} to be Ready`,
      15_000,
      100,
    );

  /** Well within the nodes' 3 s status interval: woken by the CNI directory, not a heartbeat. */
  const nodeTurnsReady = (name: string): Promise<NodeObject> =>
    eventually(
      async () => {
        const current = await admin.request<NodeObject>('GET', `/api/v1/nodes/${name}`);
        return condition(current.status?.conditions, 'Ready')?.status === 'True' ? current : undefined;
      },
      `node ${name} to turn Ready`,
      2_500,
      50,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'node-pods-test-'));
    tenant = await startKubesimTenant(dir, { controllers: ['bootstrapsigner', 'tokencleaner', 'csrapproving', 'csrsigning'], logger: silentLogger });
    admin = tenant.admin;
  }, scaled(30_000));

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    expect(errors).toEqual([]);
    await tenant?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'stays NotReady without a CNI; a host-network cilium agent writes its config and the node turns Ready; pods wait for the network, then run with probes against their stand-ins',
    async () => {
      const node = await startNode('worker-cni', '127.100.1.21');
      const registered = await admin.request<NodeObject>('GET', '/api/v1/nodes/worker-cni');
      expect(condition(registered.status?.conditions, 'Ready')).toMatchObject({
        status: 'False',
        reason: 'KubeletNotReady',
        message:
          'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
      });
      expect(NETWORK_NOT_READY_MESSAGE).toBe(condition(registered.status?.conditions, 'Ready')?.message);
      expect(registered.status?.nodeInfo?.kubeProxyVersion).toBe('');
      expect(registered.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10250);

      // Pods that need the pod network: the wrong-port one first, so it has had at least as many probe rounds.
      const web = (name: string, probePort: number): V1Pod => ({
        metadata: { name, namespace: 'default' },
        spec: {
          nodeName: 'worker-cni',
          containers: [
            {
              name: 'nginx',
              image: 'docker.io/library/nginx:1.27',
              ports: [{ name: 'http', containerPort: 80 }],
              readinessProbe: { httpGet: { path: '/', port: probePort }, periodSeconds: 1, failureThreshold: 1 },
              livenessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
            },
            { name: 'sidecar', image: 'busybox:1.36', readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 } },
          ],
        },
      });
      await createPod(web('web-wrong-port', 81));
      await createPod(web('web', 80));
      const waiting = await eventually(
        async () => {
          const pod = await getPod('web');
          return pod.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating' ? pod : undefined;
        },
        'the pod to wait for the network',
        10_000,
        100,
      );
      expect(waiting.status?.phase).toBe('Pending');
      expect(waiting.status?.podIP).toBeUndefined();
      expect(condition(waiting.status?.conditions, 'PodReadyToStartContainers')?.status).toBe('False');
      const events = await eventually(
        async () => {
          const list = await admin.request<{ items: Array<{ reason: string; message: string; involvedObject: { name: string } }> }>(
            'GET',
            '/api/v1/namespaces/default/events',
          );
          return list.items.find((event) => event.involvedObject.name === 'web' && event.reason === 'NetworkNotReady');
        },
        'the NetworkNotReady event',
        10_000,
        100,
      );
      expect(events.message).toBe(`network is not ready: ${NETWORK_NOT_READY_MESSAGE}`);

      // cilium: host network, an init container from the same image, the agent's health endpoint on 127.0.0.1.
      await createPod({
        metadata: { name: 'cilium-abcde', namespace: 'default' },
        spec: {
          nodeName: 'worker-cni',
          hostNetwork: true,
          initContainers: [
            { name: 'install-cni-binaries', image: 'quay.io/cilium/cilium:v1.16.5@sha256:758ca0793f5995bb938a2fa219dcce63dc0b3fa7fc4ce5cc851125281fb7361d' },
          ],
          containers: [
            {
              name: 'cilium-agent',
              image: 'quay.io/cilium/cilium:v1.16.5@sha256:758ca0793f5995bb938a2fa219dcce63dc0b3fa7fc4ce5cc851125281fb7361d',
              readinessProbe: {
                httpGet: { host: '127.0.0.1', path: '/healthz', port: 9879, httpHeaders: [{ name: 'brief', value: 'true' }] },
                periodSeconds: 1,
              },
              startupProbe: { httpGet: { host: '127.0.0.1', path: '/healthz', port: 9879 }, periodSeconds: 1, failureThreshold: 30 },
            },
          ],
        },
      });
      const cilium = await readyPod('cilium-abcde');
      expect(cilium.status?.phase).toBe('Running');
      // A host-network pod has the node's address: its InternalIP on the node network.
      expect(cilium.status?.podIP).toBe('100.100.1.21');
      expect(cilium.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      expect(existsSync(join(node.cniConfDir, '05-cilium.conflist'))).toBe(true);
      const readyNode = await nodeTurnsReady('worker-cni');
      expect(condition(readyNode.status?.conditions, 'Ready')).toMatchObject({ reason: 'KubeletReady' });

      const running = await readyPod('web');
      expect(running.status?.phase).toBe('Running');
      expect(running.status?.hostIP).toBe('100.100.1.21');
      expect(running.status?.podIP).toMatch(/^10\.244\.21\.\d+$/);
      expect(running.status?.qosClass).toBe('BestEffort');
      expect(running.status?.containerStatuses?.[0]?.ready).toBe(true);
      expect(running.status?.containerStatuses?.[0]?.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
      expect(running.status?.containerStatuses?.[0]?.imageID).toMatch(/^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
      for (const type of ['PodReadyToStartContainers', 'PodScheduled', 'Initialized', 'ContainersReady', 'Ready'])
        expect(condition(running.status?.conditions, type)?.status).toBe('True');

      const wrongPort = await getPod('web-wrong-port');
      expect(wrongPort.status?.phase).toBe('Running');
      expect(wrongPort.status?.podIP).toMatch(/^10\.244\.21\.\d+$/);
      expect(wrongPort.status?.podIP).not.toBe(running.status?.podIP);
      expect(condition(wrongPort.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
      expect(wrongPort.status?.containerStatuses?.find((status) => status.name === 'nginx')?.ready).toBe(false);
      expect(node.pods().find((pod) => pod.name === 'web-wrong-port')?.ready).toBe(false);

      // A graceful delete: the node stops the stand-ins and removes the object with grace 0.
      await admin.request('DELETE', '/api/v1/namespaces/default/pods/web');
      await eventually(async () => (await admin.getOptional('/api/v1/namespaces/default/pods/web')) === undefined, 'the deleted pod to go away', 10_000, 100);
      await eventually(() => !node.pods().some((pod) => pod.name === 'web'), 'the node to forget the pod', 5_000, 50);
    },
    scaled(60_000),
  );

  it(
    // The konnectivity agent's stand-in runs the real agent: test/nodes/konnectivity-tunnel.test.ts.
    "serves the add-on images' health endpoints (coredns, kube-proxy, metrics-server over HTTPS) and restarts a container failing its liveness probe",
    async () => {
      const probe = (path: string, port: number | string, scheme?: string) => ({ httpGet: { path, port, ...(scheme ? { scheme } : {}) }, periodSeconds: 1 });
      const pods: Array<{ metadata: { name: string }; spec: { hostNetwork?: boolean; containers: V1Container[] } }> = [
        {
          metadata: { name: 'coredns-5d78c9869d-abcde' },
          spec: {
            containers: [
              {
                name: 'coredns',
                image: 'registry.k8s.io/coredns/coredns:v1.11.3',
                ports: [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53 },
                  { name: 'metrics', containerPort: 9153 },
                ],
                livenessProbe: probe('/health', 8080, 'HTTP'),
                readinessProbe: probe('/ready', 8181, 'HTTP'),
              },
            ],
          },
        },
        {
          metadata: { name: 'kube-proxy-x7k2p' },
          spec: {
            hostNetwork: true,
            containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.36.3', readinessProbe: probe('/healthz', 10256) }],
          },
        },
        {
          metadata: { name: 'metrics-server-7f9c8d-lmnop' },
          spec: {
            containers: [
              {
                name: 'metrics-server',
                image: 'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
                ports: [{ name: 'https', containerPort: 10250 }],
                livenessProbe: probe('/livez', 'https', 'HTTPS'),
                readinessProbe: probe('/readyz', 'https', 'HTTPS'),
              },
            ],
          },
        },
      ];
      for (const pod of pods) await createPod({ metadata: pod.metadata, spec: { ...pod.spec, nodeName: 'worker-cni' } });
      for (const pod of pods) await readyPod(pod.metadata.name);

      await createPod({
        metadata: { name: 'unhealthy' },
        spec: {
          nodeName: 'worker-cni',
          containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 8080 }], livenessProbe: { ...probe('/', 8081), failureThreshold: 1 } }],
        },
      });
      const restarted = await eventually(
        async () => {
          const pod = await getPod('unhealthy');
          return (pod.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? pod : undefined;
        },
        'the container failing its liveness probe to be restarted',
        10_000,
        100,
      );
      expect(restarted.status?.phase).toBe('Running');
    },
    scaled(30_000),
  );

  it(
    "turns Ready once flannel's install-cni init container wrote 10-flannel.conflist",
    async () => {
      const node = await startNode('worker-flannel', '127.100.1.22');
      await createPod({
        metadata: { name: 'kube-flannel-ds-xyz12', namespace: 'default' },
        spec: {
          nodeName: 'worker-flannel',
          hostNetwork: true,
          initContainers: [
            { name: 'install-cni-plugin', image: 'ghcr.io/flannel-io/flannel-cni-plugin:v1.6.0-flannel1' },
            { name: 'install-cni', image: 'ghcr.io/flannel-io/flannel:v0.26.2' },
          ],
          containers: [{ name: 'kube-flannel', image: 'ghcr.io/flannel-io/flannel:v0.26.2' }],
        },
      });
      await readyPod('kube-flannel-ds-xyz12');
      expect(existsSync(join(node.cniConfDir, '10-flannel.conflist'))).toBe(true);
      await nodeTurnsReady('worker-flannel');
    },
    scaled(30_000),
  );

  it(
    'with another plugin (calico) the node turns Ready from its install-cni config; pod IPs follow a podCIDR the Node gets later',
    async () => {
      const node = await startNode('worker-calico', '127.100.1.23');
      await admin.request('PATCH', '/api/v1/nodes/worker-calico', { spec: { podCIDR: '10.244.200.0/24' } }, 'application/merge-patch+json');
      await createPod({
        metadata: { name: 'calico-node-4h2kd', namespace: 'default' },
        spec: {
          nodeName: 'worker-calico',
          hostNetwork: true,
          initContainers: [{ name: 'install-cni', image: 'docker.io/calico/cni:v3.29.1' }],
          containers: [{ name: 'calico-node', image: 'docker.io/calico/node:v3.29.1' }],
        },
      });
      await readyPod('calico-node-4h2kd');
      expect(existsSync(join(node.cniConfDir, '10-calico.conflist'))).toBe(true);
      // The Ready update read the Node after the patch, so the node has taken its podCIDR by then.
      await nodeTurnsReady('worker-calico');
      await createPod({ metadata: { name: 'app', namespace: 'default' }, spec: { nodeName: 'worker-calico', containers: [{ name: 'app', image: 'nginx' }] } });
      const app = await readyPod('app');
      expect(app.status?.podIP).toMatch(/^10\.244\.200\.\d+$/);
    },
    scaled(30_000),
  );
});

describe('stand-in and address helpers', () => {
  it('names images by repository basename and gives each node its own /24 of the pod subnet', () => {
    expect(imageBasename('registry.k8s.io/coredns/coredns:v1.11.3')).toBe('coredns');
    expect(imageBasename('localhost:5000/cilium/cilium:v1.16.5@sha256:abc')).toBe('cilium');
    expect(imageBasename('nginx')).toBe('nginx');
    expect(nodePodRange('10.244.0.0/16', '10.0.1.7')).toBe('10.244.7.0/24');
    expect(nodePodRange('10.244.0.0/16', '10.0.2.7')).toBe('10.244.7.0/24');
    expect(nodePodRange('10.244.0.0/24', '10.0.1.7')).toBe('10.244.0.0/24');
    expect(nodePodRange('10.0.0.0/8', '172.16.3.9')).toBe('10.3.9.0/24');
    const pool = new PodAddressPool('10.244.7.0/30');
    expect(pool.allocate()).toBe('10.244.7.2');
    expect(() => pool.allocate()).toThrow(/no free pod address/);
    pool.release('10.244.7.2');
    expect(pool.allocate()).toBe('10.244.7.2');
  });
});
