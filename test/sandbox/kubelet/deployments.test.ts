import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookup } from 'node:dns/promises';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig, type V1Deployment, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { INSTANCE_ANNOTATION, startProcessKubelet, type ProcessKubelet } from '../../../services/sandbox/src/kubelet/index.js';
import { getJson, startTestSeed, temporaryStateDir, TEST_APP_BINARIES, updateRetryingConflicts, type TestSeed } from './support/harness.js';
import { eventually } from '../../support/time.js';

const namespace = `kl-dep-${randomBytes(3).toString('hex')}`;
const base64 = (text: string): string => Buffer.from(text).toString('base64');

function webDeployment(replicas: number, version: string): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example.com/sandbox/test-app:1.0',
              command: ['test-app', '--token-file=/etc/app/secret/token', '--name=$(POD_NAME)', '--escaped=$$(POD_NAME)', '--missing=$(NOPE)'],
              args: ['--data-dir', '/var/lib/app/data'],
              ports: [{ name: 'http', containerPort: 8080 }],
              envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'CFG_' }],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                { name: 'PORT', value: '8080' },
                { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'token' } } },
                { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'greeting' } } },
                { name: 'COMPOSED', value: '$(POD_NAME).$(POD_NAMESPACE) $$(POD_NAME) $(LATER)' },
                { name: 'LATER', value: 'defined-after' },
                { name: 'HEALTH_FILE', value: '/scratch/health' },
                { name: 'VERSION', value: version },
              ],
              volumeMounts: [
                { name: 'secret', mountPath: '/etc/app/secret' },
                { name: 'scratch', mountPath: '/scratch' },
                { name: 'data', mountPath: '/var/lib/app' },
              ],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
            },
          ],
          volumes: [
            { name: 'secret', secret: { secretName: 'app-secret', defaultMode: 0o600 } },
            { name: 'scratch', emptyDir: {} },
            { name: 'data', emptyDir: {} },
          ],
        },
      },
    },
  };
}

describe('process kubelet: Deployments, Services, env, volumes and probes', () => {
  let seed: TestSeed;
  let kubelet: ProcessKubelet;
  const state = temporaryStateDir('deployments');

  const seedPods = async (prefix: string): Promise<V1Pod[]> =>
    (await seed.client.list('Pod', namespace)).filter((pod) => pod.metadata?.name?.startsWith(prefix));

  beforeAll(async () => {
    seed = await startTestSeed();
    await seed.createNamespace(namespace);
    await seed.client.create('Secret', { metadata: { name: 'app-secret', namespace }, data: { token: base64('s3cret-v1') } });
    await seed.client.create('ConfigMap', { metadata: { name: 'app-config', namespace }, data: { greeting: 'hello', mode: 'fast' } });
    kubelet = await startProcessKubelet({
      kubeconfig: seed.kubeconfig,
      stateDir: state.path,
      namespaces: [namespace],
      binaries: TEST_APP_BINARIES,
      backoff: { initialMs: 200, maxMs: 1_000 },
      maxTerminationGraceMs: 2_000,
      resyncIntervalMs: 300,
    });
    await seed.client.create('Deployment', webDeployment(2, 'v1'));
  });

  afterAll(async () => {
    await kubelet?.stop();
    await seed?.stop();
    state.remove();
  });

  it('runs the replicas as processes and reports Pods and Deployment status', async () => {
    const deployment = await eventually(
      async () => {
        const current = await seed.client.get('Deployment', namespace, 'web');
        return current?.status?.readyReplicas === 2 ? current : undefined;
      },
      'web to have 2 ready replicas',
      20_000,
      100,
    );
    expect(deployment.status?.availableReplicas).toBe(2);
    expect(deployment.status?.updatedReplicas).toBe(2);
    expect(deployment.status?.observedGeneration).toBe(deployment.metadata?.generation);
    expect(deployment.status?.conditions?.find((condition) => condition.type === 'Available')?.status).toBe('True');

    const pods = await seedPods('web-');
    expect(pods).toHaveLength(2);
    const running = kubelet.pods();
    for (const pod of pods) {
      const hash = pod.metadata?.labels?.['pod-template-hash'];
      expect(pod.metadata?.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      const replicaSet = await seed.client.get('ReplicaSet', namespace, `web-${hash}`);
      expect(replicaSet?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web', uid: deployment.metadata?.uid, controller: true });
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: `web-${hash}`, uid: replicaSet?.metadata?.uid, controller: true });
      expect(replicaSet?.spec?.replicas).toBe(2);
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.conditions?.find((condition) => condition.type === 'Ready')?.status).toBe('True');
      const local = running.find((candidate) => candidate.name === pod.metadata?.name);
      expect(pod.status?.podIP).toBe(local?.ip);
      expect(local?.ip).toMatch(/^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'app', ready: true, restartCount: 0 });
    }
    expect(new Set(running.map((pod) => pod.ip)).size).toBe(2);
  });

  it('gives containers env, downward API, $(VAR) expansion and translated mount paths', async () => {
    const pod = kubelet.pods().find((candidate) => candidate.ownerName === 'web');
    if (!pod) throw new Error('no web pod');
    const { body: env } = await getJson(`http://${pod.ip}:8080/env`);
    expect(env).toMatchObject({
      POD_NAME: pod.name,
      POD_NAMESPACE: namespace,
      POD_IP: pod.ip,
      NODE: kubelet.nodeName,
      TOKEN: 's3cret-v1',
      GREETING: 'hello',
      CFG_greeting: 'hello',
      CFG_mode: 'fast',
      // Later variables are not visible to earlier ones; $$ escapes.
      COMPOSED: `${pod.name}.${namespace} $(POD_NAME) $(LATER)`,
    });
    const { body } = await getJson(`http://${pod.ip}:8080/argv`);
    const argv = (body as { argv: string[] }).argv;
    expect(argv[1]).toBe(`--name=${pod.name}`);
    expect(argv[2]).toBe('--escaped=$(POD_NAME)');
    expect(argv[3]).toBe('--missing=$(NOPE)');
    expect(argv[4]).toBe('--data-dir');
    const tokenFile = argv[0].replace('--token-file=', '');
    expect(tokenFile.startsWith(state.path)).toBe(true);
    expect(tokenFile.endsWith('/token')).toBe(true);
    expect(readFileSync(tokenFile, 'utf8')).toBe('s3cret-v1');
    // emptyDirs live at a short host path (a unix socket in one must fit sun_path), which the
    // pod's volumes/ directory links to.
    expect(argv[5]).toMatch(/\/hm-ed\/[0-9a-f]{16}\/data$/);
    const podDir = readdirSync(join(state.path, 'pods')).find((entry) => entry.startsWith(`${namespace}_${pod.name}_`)) ?? '';
    expect(readlinkSync(join(state.path, 'pods', podDir, 'volumes', 'data'))).toBe(dirname(argv[5]));
    const healthFile = (env as Record<string, string>).HEALTH_FILE;
    expect(healthFile).toMatch(/\/hm-ed\/[0-9a-f]{16}\/health$/);
    expect(readlinkSync(join(state.path, 'pods', podDir, 'volumes', 'scratch'))).toBe(dirname(healthFile));
    expect(kubelet.readLog(namespace, pod.name, 'app')).toContain('test-app starting');
  });

  it('updates Secret volume files when the Secret changes', async () => {
    const pod = kubelet.pods().find((candidate) => candidate.ownerName === 'web');
    if (!pod) throw new Error('no web pod');
    const { body } = await getJson(`http://${pod.ip}:8080/argv`);
    const tokenFile = (body as { argv: string[] }).argv[0].replace('--token-file=', '');
    const secret = await seed.client.get('Secret', namespace, 'app-secret');
    if (!secret) throw new Error('secret missing');
    await seed.client.replace('Secret', { ...secret, data: { token: base64('s3cret-v2') } });
    await eventually(
      async () => {
        const { body: file } = await getJson(`http://${pod.ip}:8080/file?path=${encodeURIComponent(tokenFile)}`);
        return (file as { content?: string }).content === 's3cret-v2' ? true : undefined;
      },
      'the secret file to change',
      20_000,
      100,
    );
  });

  it('forwards a NodePort Service to ready endpoints and resolves its DNS names', async () => {
    const nodePort = 30_000 + Math.floor(Math.random() * 2_700);
    const service: V1Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort }] },
    };
    const created = await seed.client.create('Service', service);
    const assigned = created.spec?.ports?.[0]?.nodePort ?? nodePort;
    const endpoints = await eventually(
      async () => {
        const current = await seed.client.get('Endpoints', namespace, 'web');
        return current?.subsets?.[0]?.addresses?.length === 2 ? current : undefined;
      },
      'Endpoints with two addresses',
      20_000,
      100,
    );
    expect(endpoints.subsets?.[0]?.ports?.[0]).toMatchObject({ name: 'http', port: 8080 });
    const podNames = kubelet
      .pods()
      .filter((pod) => pod.ownerName === 'web')
      .map((pod) => pod.name);
    const served = new Set<string>();
    for (let attempt = 0; attempt < 6; attempt++) {
      const { status, body } = await eventually(() => getJson(`http://127.0.0.1:${assigned}/`), 'the node port to answer', 20_000, 100);
      expect(status).toBe(200);
      served.add((body as { pod: string }).pod);
    }
    expect([...served].every((name) => podNames.includes(name))).toBe(true);
    expect(served.size).toBe(2);

    const address = kubelet.serviceAddress(namespace, 'web');
    expect(address).toMatch(/^127\.33\./);
    const hosts = readFileSync('/etc/hosts', 'utf8');
    expect(hosts).toContain(`${address}\tweb.${namespace}.svc.cluster.local web.${namespace}.svc web.${namespace}`);
    expect((await lookup(`web.${namespace}.svc.cluster.local`, { family: 4 })).address).toBe(address);
    const { body } = await eventually(() => getJson(`http://web.${namespace}.svc:80/`), 'the service name to answer', 20_000, 100);
    expect(podNames).toContain((body as { pod: string }).pod);
  });

  it('drives readiness and liveness from probes and restarts failed containers', async () => {
    await seed.client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'probed', namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'probed' } },
        template: {
          metadata: { labels: { app: 'probed' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'test-app',
                env: [
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  { name: 'PORT', value: '9000' },
                  { name: 'HEALTH_FILE', value: '/state/health' },
                ],
                volumeMounts: [{ name: 'state', mountPath: '/state' }],
                readinessProbe: { httpGet: { path: '/healthz', port: 9000 }, periodSeconds: 1, failureThreshold: 1 },
                livenessProbe: { httpGet: { path: '/healthz', port: 9000 }, periodSeconds: 1, failureThreshold: 3 },
                startupProbe: { exec: { command: ['test-app', '--exit-if-missing', '/state/started'] }, periodSeconds: 1, failureThreshold: 60 },
              },
            ],
            volumes: [{ name: 'state', emptyDir: {} }],
          },
        },
      },
    });
    // Until the exec startup probe finds /state/started, the container is not started or ready.
    const starting = await eventually(
      () => kubelet.pods().find((candidate) => candidate.ownerName === 'probed' && candidate.containers[0].pid),
      'probed to run',
      20_000,
      100,
    );
    const { body: startingEnv } = await eventually(() => getJson(`http://${starting.ip}:9000/env`), 'probed to listen', 20_000, 100);
    await new Promise((done) => setTimeout(done, 1_500));
    expect(kubelet.pods().find((candidate) => candidate.name === starting.name)?.ready).toBe(false);
    const stuck = await seed.client.get('Pod', namespace, starting.name);
    expect(stuck?.status?.containerStatuses?.[0]).toMatchObject({ started: false, ready: false });
    writeFileSync(join(dirname((startingEnv as Record<string, string>).HEALTH_FILE), 'started'), '');
    const pod = await eventually(
      () => kubelet.pods().find((candidate) => candidate.ownerName === 'probed' && candidate.ready),
      'probed to be ready',
      20_000,
      100,
    );
    const { body: env } = await getJson(`http://${pod.ip}:9000/env`);
    const healthFile = (env as Record<string, string>).HEALTH_FILE;
    writeFileSync(healthFile, 'fail');
    const podName = pod.name;
    await eventually(
      async () => {
        const object = await seed.client.get('Pod', namespace, podName);
        return object?.status?.conditions?.find((condition) => condition.type === 'Ready')?.status === 'False' ? true : undefined;
      },
      'the Pod to report Ready=False',
      20_000,
      100,
    );
    // Three failed liveness probes later the kubelet kills and restarts the container.
    await eventually(
      () => kubelet.pods().find((candidate) => candidate.name === podName && candidate.containers[0].restartCount >= 1),
      'a liveness restart',
      20_000,
      100,
    );
    writeFileSync(healthFile, 'ok');
    const recovered = await eventually(() => kubelet.pods().find((candidate) => candidate.name === podName && candidate.ready), 'ready again', 20_000, 100);
    const restartsBefore = recovered.containers[0].restartCount;

    // A crash (SIGKILL) is restarted too, and the Pod status shows the exit code.
    const pid = recovered.containers[0].pid;
    expect(kubelet.signalContainer(namespace, podName, 'app', 'SIGKILL')).toBe(true);
    const restarted = await eventually(
      () => kubelet.pods().find((candidate) => candidate.name === podName && candidate.containers[0].restartCount > restartsBefore && candidate.ready),
      'the container to restart and become ready',
      20_000,
      100,
    );
    expect(restarted.containers[0].pid).not.toBe(pid);
    const object = await eventually(
      async () => {
        const found = await seed.client.get('Pod', namespace, podName);
        return (found?.status?.containerStatuses?.[0]?.restartCount ?? 0) > restartsBefore ? found : undefined;
      },
      'restartCount in the Pod status',
      20_000,
      100,
    );
    expect(object.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).toBe(137);
  });

  it('replaces pods on template change without dropping below the desired ready count', async () => {
    const before = kubelet
      .pods()
      .filter((pod) => pod.ownerName === 'web')
      .map((pod) => pod.name);
    const next = webDeployment(2, 'v2');
    await updateRetryingConflicts(seed.client, 'Deployment', namespace, 'web', (current) => ({ ...current, spec: next.spec }));
    let minimumReady = Number.POSITIVE_INFINITY;
    await eventually(
      () => {
        const pods = kubelet.pods().filter((pod) => pod.ownerName === 'web');
        minimumReady = Math.min(minimumReady, pods.filter((pod) => pod.ready).length);
        return pods.length === 2 && pods.every((pod) => pod.ready && !before.includes(pod.name)) ? true : undefined;
      },
      'the rollout to finish',
      30_000,
      50,
    );
    expect(minimumReady).toBeGreaterThanOrEqual(2);
    const status = await eventually(
      async () => {
        const found = await seed.client.get('Deployment', namespace, 'web');
        return found?.status?.updatedReplicas === 2 && found.status.replicas === 2 && found.status.readyReplicas === 2 ? found.status : undefined;
      },
      'status after rollout',
      20_000,
      100,
    );
    expect(status.conditions?.find((condition) => condition.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
    const replicaSets = await eventually(
      async () => {
        const found = (await seed.client.list('ReplicaSet', namespace)).filter((replicaSet) => replicaSet.metadata?.name?.startsWith('web-'));
        return found.length === 2 && found.some((replicaSet) => replicaSet.status?.readyReplicas === 2) ? found : undefined;
      },
      'the new ReplicaSet to be ready',
      20_000,
      100,
    );
    expect(replicaSets.map((replicaSet) => replicaSet.spec?.replicas).sort()).toEqual([0, 2]);
  });

  it('scales up and down', async () => {
    const scale = (replicas: number, revisionHistoryLimit?: number): Promise<void> =>
      updateRetryingConflicts(seed.client, 'Deployment', namespace, 'web', (current) => ({
        ...current,
        spec: { ...current.spec!, replicas, revisionHistoryLimit },
      }));
    await scale(3);
    await eventually(() => (kubelet.pods().filter((pod) => pod.ownerName === 'web' && pod.ready).length === 3 ? true : undefined), '3 replicas', 20_000, 100);
    await scale(1, 0);
    await eventually(
      async () => ((await seedPods('web-')).length === 1 && kubelet.pods().filter((pod) => pod.ownerName === 'web').length === 1 ? true : undefined),
      '1 replica',
      20_000,
      100,
    );
    // revisionHistoryLimit 0 prunes the scaled-down ReplicaSet of the previous template.
    const replicaSets = await eventually(
      async () => {
        const found = (await seed.client.list('ReplicaSet', namespace)).filter((replicaSet) => replicaSet.metadata?.name?.startsWith('web-'));
        return found.length === 1 && found[0].spec?.replicas === 1 ? found : undefined;
      },
      'one ReplicaSet left',
      20_000,
      100,
    );
    expect(replicaSets[0].metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
  });

  it('reports images without a local binary as ErrImagePull', async () => {
    await seed.client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'unknown', namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'unknown' } },
        template: { metadata: { labels: { app: 'unknown' } }, spec: { containers: [{ name: 'main', image: 'docker.io/library/nginx:1.27' }] } },
      },
    });
    const pod = await eventually(
      async () => {
        const found = (await seedPods('unknown-'))[0];
        return found?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' ? found : undefined;
      },
      'ErrImagePull',
      20_000,
      100,
    );
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.message).toContain('nginx');
  });

  it('runs init containers in order to completion before the app container', async () => {
    await seed.client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'initialized', namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'initialized' } },
        template: {
          metadata: { labels: { app: 'initialized' } },
          spec: {
            initContainers: [
              {
                name: 'write',
                image: 'test-app',
                command: ['test-app', '--write', '/work/greeting', 'hello-from-init'],
                volumeMounts: [{ name: 'work', mountPath: '/work' }],
              },
              {
                name: 'check',
                image: 'test-app',
                command: ['test-app', '--exit-if-missing', '/work/greeting'],
                volumeMounts: [{ name: 'work', mountPath: '/work' }],
              },
            ],
            containers: [
              {
                name: 'app',
                image: 'test-app',
                env: [
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  { name: 'PORT', value: '9100' },
                  { name: 'GREETING_FILE', value: '/work/greeting' },
                ],
                volumeMounts: [{ name: 'work', mountPath: '/work' }],
              },
            ],
            volumes: [{ name: 'work', emptyDir: {} }],
          },
        },
      },
    });
    const running = await eventually(() => kubelet.pods().find((pod) => pod.ownerName === 'initialized' && pod.ready), 'the app container to run', 20_000, 100);
    // Without a readiness probe the container is ready once started, before it listens.
    const { body: env } = await eventually(() => getJson(`http://${running.ip}:9100/env`), 'the app to listen', 20_000, 100);
    const { body: file } = await getJson(`http://${running.ip}:9100/file?path=${encodeURIComponent((env as Record<string, string>).GREETING_FILE)}`);
    expect(file).toEqual({ content: 'hello-from-init' });
    const pod = await eventually(
      async () => {
        const found = await seed.client.get('Pod', namespace, running.name);
        return found?.status?.conditions?.find((condition) => condition.type === 'Ready')?.status === 'True' ? found : undefined;
      },
      'the Pod status',
      20_000,
      100,
    );
    expect(pod.status?.conditions?.find((condition) => condition.type === 'Initialized')?.status).toBe('True');
    expect(pod.status?.initContainerStatuses?.map((status) => [status.name, status.state?.terminated?.reason, status.state?.terminated?.exitCode])).toEqual([
      ['write', 'Completed', 0],
      ['check', 'Completed', 0],
    ]);
    await seed.client.delete('Deployment', namespace, 'initialized');
  });

  it('runs what the scheduler binds to its own Node, refuses a second process on that Node, and clears what dead kubelets left', async () => {
    const config = new KubeConfig();
    config.loadFromString(seed.kubeconfig);
    const core = config.makeApiClient(CoreV1Api);
    const node = await core.readNode({ name: kubelet.nodeName });
    expect(node.metadata?.annotations?.[INSTANCE_ANNOTATION]).toBe(kubelet.instanceId);
    expect(node.status?.conditions?.find((condition) => condition.type === 'Ready')?.status).toBe('True');
    await expect(
      startProcessKubelet({ kubeconfig: seed.kubeconfig, stateDir: state.path, namespaces: [namespace], nodeName: kubelet.nodeName }),
    ).rejects.toThrow(/belongs to the running process kubelet/);

    // Nodes of other process kubelets: one whose process is gone, one alive.
    const otherNode = async (name: string, instance: string): Promise<void> => {
      await core.createNode({ body: { metadata: { name, annotations: { [INSTANCE_ANNOTATION]: instance } } } });
      await seed.client.create('Pod', {
        metadata: { name: `on-${name}`, namespace },
        spec: { nodeName: name, containers: [{ name: 'main', image: 'test-app' }] },
      });
    };
    await otherNode('dead-kubelet-node', `${2 ** 22 + 777}-dead`);
    await otherNode('live-kubelet-node', `${process.pid}-other`);
    // Started by an earlier process of this Node (status.startTime), bound here only afterwards.
    await seed.client.create('Pod', {
      metadata: { name: 'started-elsewhere', namespace },
      spec: { schedulerName: 'none', containers: [{ name: 'main', image: 'test-app' }] },
    });
    const pending = await seed.client.get('Pod', namespace, 'started-elsewhere');
    if (!pending) throw new Error('started-elsewhere missing');
    await seed.client.replaceStatus('Pod', { ...pending, status: { phase: 'Running', startTime: new Date() } });
    await core.createNamespacedPodBinding({
      name: 'started-elsewhere',
      namespace,
      body: { metadata: { name: 'started-elsewhere', namespace }, target: { kind: 'Node', name: kubelet.nodeName } },
    });
    await eventually(
      async () => {
        const gone = await Promise.all([
          seed.client.get('Pod', namespace, 'on-dead-kubelet-node'),
          seed.client.get('Pod', namespace, 'started-elsewhere'),
          core.readNode({ name: 'dead-kubelet-node' }).catch(() => undefined),
        ]);
        return gone.every((object) => object === undefined);
      },
      "the dead kubelet's Node and Pod, and the Pod started elsewhere, to go",
      20_000,
      100,
    );
    expect(await seed.client.get('Pod', namespace, 'on-live-kubelet-node')).toBeDefined();
    expect(kubelet.pods().map((pod) => pod.name)).not.toContain('on-live-kubelet-node');
    await seed.client.delete('Pod', namespace, 'on-live-kubelet-node');
    await core.deleteNode({ name: 'live-kubelet-node' });
  });

  it('stops processes and removes names when workloads and Services are deleted', async () => {
    const pids = kubelet
      .pods()
      .filter((pod) => pod.ownerName === 'web')
      .flatMap((pod) => pod.containers.map((container) => container.pid ?? 0));
    expect(pids.every((pid) => pid > 0)).toBe(true);
    await seed.client.delete('Deployment', namespace, 'web');
    await seed.client.delete('Service', namespace, 'web');
    await eventually(async () => ((await seedPods('web-')).length === 0 ? true : undefined), 'web pods to be deleted', 20_000, 100);
    await eventually(
      async () => ((await seed.client.list('ReplicaSet', namespace)).some((replicaSet) => replicaSet.metadata?.name?.startsWith('web-')) ? undefined : true),
      'web ReplicaSets to be deleted',
      20_000,
      100,
    );
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    await eventually(() => (readFileSync('/etc/hosts', 'utf8').includes(`web.${namespace}.svc`) ? undefined : true), 'hosts entries to go', 20_000, 100);
    await kubelet.stop();
    expect(readFileSync('/etc/hosts', 'utf8')).not.toContain(kubelet.instanceId);
    // Its machine is gone: the scheduler must not bind anything to its Node any more.
    const config = new KubeConfig();
    config.loadFromString(seed.kubeconfig);
    await expect(config.makeApiClient(CoreV1Api).readNode({ name: kubelet.nodeName })).rejects.toThrow();
    expect(existsSync(state.path)).toBe(true);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
