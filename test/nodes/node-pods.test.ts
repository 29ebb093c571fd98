// The simulated node as a kubelet: NotReady until a CNI plugin configured it, then the pods bound
// to it run as stand-ins whose endpoints the probes really reach.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBootstrapTokenSecret, formatBootstrapToken, generateBootstrapToken } from '../../services/core/src/bootstrap/bootstrap-token.js';
import { buildNodeUserData } from '../../services/core/src/bootstrap/cloud-init.js';
import { buildTenantBootstrapObjects } from '../../services/core/src/bootstrap/tenant-objects.js';
import { discoveryTokenCaCertHash } from '../../services/core/src/pki/discovery.js';
import { createSeed, type SeedHandle } from '../../services/sandbox/src/kubesim/index.js';
import { KubeClient, silentLogger } from '../../services/sandbox/src/kubesim/controllers/client.js';
import { startControllers } from '../../services/sandbox/src/kubesim/controllers/roles.js';
import { NETWORK_NOT_READY_MESSAGE, startNodeSimulator, type NodeSimulator } from '../../services/sandbox/src/nodes/index.js';
import { eventually, scaled } from '../support/time.js';

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
      containerID?: string;
      imageID?: string;
      state?: { running?: unknown; waiting?: { reason?: string } };
    }>;
    initContainerStatuses?: Array<{ name: string; state?: { terminated?: { exitCode: number; reason?: string } } }>;
  };
}

const PLURALS: Record<string, string> = {
  ConfigMap: 'configmaps',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Secret: 'secrets',
};

const condition = (conditions: Condition[] | undefined, type: string): Condition | undefined => conditions?.find((candidate) => candidate.type === type);

describe('simulated node running its pods', () => {
  let seed: SeedHandle;
  let admin: KubeClient;
  let stopControllers: (() => Promise<void>) | undefined;
  let dir: string;
  const nodes: NodeSimulator[] = [];

  const createObject = async (object: { kind: string; metadata: { name?: string; namespace?: string } }): Promise<void> => {
    const group = object.kind.startsWith('Cluster') || object.kind.startsWith('Role') ? '/apis/rbac.authorization.k8s.io/v1' : '/api/v1';
    const namespace = object.metadata.namespace ? `/namespaces/${object.metadata.namespace}` : '';
    await admin.request('POST', `${group}${namespace}/${PLURALS[object.kind]}`, object);
  };

  const startNode = async (nodeName: string, ip: string): Promise<NodeSimulator> => {
    const token = generateBootstrapToken();
    await createObject(buildBootstrapTokenSecret({ token }) as { kind: string; metadata: { name: string; namespace: string } });
    const userData = buildNodeUserData({
      nodeName,
      kubernetesVersion: '1.36.3',
      apiServerEndpoint: `127.0.0.1:${seed.port}`,
      bootstrapToken: formatBootstrapToken(token),
      caCertHash: discoveryTokenCaCertHash(seed.caPem),
      labels: {},
      taints: [],
      sshPublicKeys: [],
    });
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
      realBinaries: null,
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

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'node-pods-test-'));
    seed = await createSeed({ authorizationModes: ['Node', 'RBAC'], enableBootstrapTokenAuth: true, anonymous: true });
    const kubeconfigPath = join(dir, 'admin.conf');
    writeFileSync(kubeconfigPath, seed.adminKubeconfig);
    admin = await KubeClient.fromFile(kubeconfigPath);
    const spec = {
      clusterId: 'tenant1',
      clusterName: 'tenant1',
      version: '1.36.3',
      serviceCidr: '10.96.0.0/12',
      podCidr: '10.244.0.0/16',
      expose: { strategy: 'NodePort' as const },
      endpoint: { host: '127.0.0.1', port: seed.port },
    };
    for (const object of buildTenantBootstrapObjects(spec, seed.caPem))
      if (PLURALS[object.kind]) await createObject(object as { kind: string; metadata: { name: string } });
    stopControllers = await startControllers(kubeconfigPath, {
      controllers: ['bootstrapsigner', 'tokencleaner', 'csrapproving', 'csrsigning'],
      clusterSigningCertPem: seed.caPem,
      clusterSigningKeyPem: seed.caKeyPem,
      logger: silentLogger,
    });
  }, scaled(30_000));

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await stopControllers?.();
    await seed?.close();
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
      expect(cilium.status?.podIP).toBe('127.100.1.21');
      expect(cilium.status?.initContainerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      expect(existsSync(join(node.cniConfDir, '05-cilium.conflist'))).toBe(true);
      // Within the 3 s status interval, woken by the file.
      const readyNode = await eventually(
        async () => {
          const current = await admin.request<NodeObject>('GET', '/api/v1/nodes/worker-cni');
          return condition(current.status?.conditions, 'Ready')?.status === 'True' ? current : undefined;
        },
        'the node to turn Ready',
        2_500,
        50,
      );
      expect(condition(readyNode.status?.conditions, 'Ready')).toMatchObject({ reason: 'KubeletReady' });

      const running = await readyPod('web');
      expect(running.status?.phase).toBe('Running');
      expect(running.status?.hostIP).toBe('127.100.1.21');
      expect(running.status?.podIP).toMatch(/^10\.244\.21\.\d+$/);
      expect(running.status?.qosClass).toBe('BestEffort');
      expect(running.status?.containerStatuses?.[0]).toMatchObject({ ready: true, containerID: expect.stringMatching(/^containerd:\/\/[0-9a-f]{64}$/) });
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
      await eventually(
        async () => condition((await admin.request<NodeObject>('GET', '/api/v1/nodes/worker-flannel')).status?.conditions, 'Ready')?.status === 'True',
        'the flannel node to turn Ready',
        2_500,
        50,
      );
    },
    scaled(30_000),
  );
});
