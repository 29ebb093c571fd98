// The API-server-to-node tunnel in the sandbox, end to end: a kubesim tenant apiserver whose
// `cluster` egress (an EgressSelectorConfiguration as the product writes it) is GRPC over the
// proxy-server's unix socket, the proxy-server stand-in beside it, and a simulated node whose
// kubelet port listens on the machine's own address, never on the InternalIP the Node reports: the
// konnectivity-agent pod on the node (its stand-in runs the agent with its projected CA and bound
// token) is the only way in. nodes/<n>/proxy and `kubectl logs` go through it, and stop working when
// the proxy-server is gone.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxyServer, type RunningProxyServer } from '../../services/sandbox/src/konnectivity/index.js';
import { silent } from '../../services/sandbox/src/konnectivity/protocol.js';
import { createCa, issueCertificate, parseEgressSelectorConfiguration, type CertificateAuthority } from '../../services/sandbox/src/kubesim/index.js';
import type { KubeClient } from '../../services/sandbox/src/kubesim/controllers/client.js';
import { startNodeSimulator, type NodeSimulator } from '../../services/sandbox/src/nodes/index.js';
import { raw } from '../sandbox/kubesim/helpers.js';
import { eventually, scaled } from '../support/time.js';
import { startKubesimTenant, type KubesimTenant } from './kubesim-tenant.js';

const NODE = 'tunnel-worker';
const AUDIENCE = 'system:konnectivity-server';
const SERVER_USER = 'system:konnectivity-server';
const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface PodView {
  status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> };
}

let dir: string;
let ca: CertificateAuthority;
let tenant: KubesimTenant;
let admin: KubeClient;
let node: NodeSimulator;
let proxyServer: RunningProxyServer | undefined;
let proxyServerArgs: string[];
let socketPath: string;
const nodeErrors: string[] = [];

/** A free port below the ephemeral range, which the proxy-server refuses. */
async function registeredPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

function kubectlPath(): string | undefined {
  const candidates = [
    process.env.KUBE_BIN_DIR && join(process.env.KUBE_BIN_DIR, 'kubectl'),
    '/work/main/.cache/kube-bins/v1.37.2/kubectl',
    '/tmp/ci-clone/.cache/kube-bins/v1.37.2/kubectl',
  ];
  return candidates.find((candidate): candidate is string => !!candidate && existsSync(candidate)) ?? 'kubectl';
}

function kubectl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const kubeconfig = join(dir, 'admin.conf');
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath() ?? 'kubectl', ['--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function podReady(name: string, namespace = 'default'): Promise<boolean> {
  const pod = await admin.request<PodView>('GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
  return pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hm-tunnel-'));
  socketPath = join(dir, 'konnectivity-server.socket');
  ca = await createCa('tunnel-tenant-ca');
  const kubeletClient = await issueCertificate(ca, { commonName: 'apiserver-kubelet-client', organizations: ['system:masters'], client: true });
  tenant = await startKubesimTenant(
    dir,
    { controllers: ['bootstrapsigner', 'tokencleaner', 'csrapproving', 'csrsigning'], logger: silentLogger },
    {
      kubelet: { clientCertPem: kubeletClient.certPem, clientKeyPem: kubeletClient.keyPem, preferredAddressTypes: ['InternalIP', 'ExternalIP', 'Hostname'] },
      egressSelection: parseEgressSelectorConfiguration(
        [
          'apiVersion: apiserver.k8s.io/v1beta1',
          'kind: EgressSelectorConfiguration',
          'egressSelections:',
          '- name: cluster',
          '  connection:',
          '    proxyProtocol: GRPC',
          '    transport:',
          '      uds:',
          `        udsName: ${socketPath}`,
          '- name: controlplane',
          '  connection:',
          '    proxyProtocol: Direct',
          '- name: etcd',
          '  connection:',
          '    proxyProtocol: Direct',
        ].join('\n'),
      ),
    },
    ca,
  );
  admin = tenant.admin;
  writeFileSync(join(dir, 'admin.conf'), tenant.seed.adminKubeconfig);

  // The proxy-server reviews agent tokens as system:konnectivity-server: the product's tenant
  // bootstrap objects (applied by startKubesimTenant) bind it to system:auth-delegator.
  await admin.request('POST', '/api/v1/namespaces/kube-system/serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'konnectivity-agent' },
  });
  const serverKubeconfig = join(dir, 'konnectivity-server.conf');
  writeFileSync(serverKubeconfig, await tenant.seed.userKubeconfig(SERVER_USER));
  const agentPortCert = await issueCertificate(ca, { commonName: 'konnectivity-server', server: true, ipAddresses: ['127.0.0.1'] });
  writeFileSync(join(dir, 'agent-port.crt'), agentPortCert.certPem);
  writeFileSync(join(dir, 'agent-port.key'), agentPortCert.keyPem);
  const agentPort = await registeredPort();
  proxyServerArgs = [
    `--uds-name=${socketPath}`,
    '--delete-existing-uds-file=true',
    '--mode=grpc',
    '--server-port=0',
    `--agent-port=${agentPort}`,
    '--agent-bind-address=127.0.0.1',
    `--cluster-cert=${join(dir, 'agent-port.crt')}`,
    `--cluster-key=${join(dir, 'agent-port.key')}`,
    `--admin-port=${await registeredPort()}`,
    '--admin-bind-address=127.0.0.1',
    `--health-port=${await registeredPort()}`,
    '--health-bind-address=127.0.0.1',
    '--agent-namespace=kube-system',
    '--agent-service-account=konnectivity-agent',
    `--authentication-audience=${AUDIENCE}`,
    `--kubeconfig=${serverKubeconfig}`,
    '--proxy-strategies=destHost,defaultRoute',
    '--server-count=1',
    '--keepalive-time=30s',
  ];
  proxyServer = await startProxyServer(proxyServerArgs, silent);

  node = await startNodeSimulator({
    userData: tenant.userData(await tenant.addToken(), { nodeName: NODE }),
    ip: '127.100.9.31',
    stateDir: mkdtempSync(join(dir, 'node-')),
    leaseRenewIntervalMs: 1_000,
    statusUpdateIntervalMs: 1_000,
    certificateTimeoutMs: 15_000,
    discoveryTimeoutMs: 15_000,
    networkPlugin: 'preinstalled',
    podBackoff: { initialMs: 200, maxMs: 1_000 },
    realBinaries: null,
    onError: (error) => nodeErrors.push(error.message),
  });
  await node.joined;

  // The agent as the add-on deploys it (services/core/src/addons/konnectivity-agent.ts).
  await admin.request('POST', '/api/v1/namespaces/kube-system/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'konnectivity-agent-abcde', labels: { 'k8s-app': 'konnectivity-agent' } },
    spec: {
      nodeName: NODE,
      serviceAccountName: 'konnectivity-agent',
      containers: [
        {
          name: 'konnectivity-agent',
          image: 'registry.k8s.io/kas-network-proxy/proxy-agent:v0.36.0',
          command: ['/proxy-agent'],
          args: [
            '--logtostderr=true',
            '--ca-cert=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
            '--proxy-server-host=127.0.0.1',
            `--proxy-server-port=${agentPort}`,
            '--admin-server-port=8094',
            '--health-server-port=8093',
            '--service-account-token-path=/var/run/secrets/tokens/konnectivity-agent-token',
            '--agent-identifiers=ipv4=$(HOST_IP)&default-route=true',
          ],
          env: [{ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }],
          ports: [{ name: 'health', containerPort: 8093 }],
          readinessProbe: { httpGet: { path: '/readyz', port: 8093 }, periodSeconds: 1 },
          volumeMounts: [{ name: 'konnectivity-agent-token', mountPath: '/var/run/secrets/tokens', readOnly: true }],
        },
      ],
      volumes: [
        {
          name: 'konnectivity-agent-token',
          projected: { sources: [{ serviceAccountToken: { path: 'konnectivity-agent-token', audience: AUDIENCE, expirationSeconds: 3600 } }] },
        },
      ],
    },
  });
  await admin.request('POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web' },
    spec: { nodeName: NODE, containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
  });
  await eventually(() => podReady('konnectivity-agent-abcde', 'kube-system'), 'the agent to connect (its /readyz)', 30_000, 200);
}, scaled(120_000));

afterAll(async () => {
  await node?.stop();
  await proxyServer?.close();
  await tenant?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the konnectivity tunnel to a simulated node behind NAT', () => {
  it('reports an InternalIP the seed cannot reach; the kubelet port is elsewhere', async () => {
    const registered = await admin.request<{
      status: { addresses: Array<{ type: string; address: string }>; daemonEndpoints: { kubeletEndpoint: { Port: number } } };
    }>('GET', `/api/v1/nodes/${NODE}`);
    expect(registered.status.addresses).toContainEqual({ type: 'InternalIP', address: '100.100.9.31' });
    expect(registered.status.daemonEndpoints.kubeletEndpoint.Port).toBeGreaterThan(0);
    expect(nodeErrors).toEqual([]);
  });

  it('carries nodes/<node>/proxy/healthz to the node kubelet', async () => {
    const response = await raw(tenant.seed.adminKubeconfig, 'GET', `/api/v1/nodes/${NODE}/proxy/healthz`);
    expect(response.status).toBe(200);
    expect(response.text).toBe('ok');
    const viaKubectl = await kubectl(['get', '--raw', `/api/v1/nodes/${NODE}/proxy/healthz`]);
    expect(viaKubectl.stderr).toBe('');
    expect(viaKubectl.stdout).toBe('ok');
  });

  it('carries kubectl logs of a user pod, and the agent logs its own start', async () => {
    await eventually(() => podReady('web'), 'the web pod to run', 15_000, 200);
    const logs = await kubectl(['logs', 'web']);
    expect(logs.stderr).toBe('');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('starting app (nginx:1.27) in pod default/web\nlistening on 80/TCP\n');
    const tail = await kubectl(['logs', 'web', '--tail=1', '--timestamps']);
    expect(tail.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z listening on 80\/TCP\n$/);
    const agent = await kubectl(['-n', 'kube-system', 'logs', 'konnectivity-agent-abcde']);
    expect(agent.stdout).toContain('"Starting proxy agent"');
    expect(agent.stdout).toContain('identifiers="ipv4=100.100.9.31&default-route=true"');
    // The kubelet's own answer for a container it does not have, as the apiserver passes it on.
    const previous = await raw(tenant.seed.adminKubeconfig, 'GET', '/api/v1/namespaces/default/pods/web/log?previous=true');
    expect(previous.status).toBe(400);
    expect(previous.json.message).toBe('previous terminated container "app" in pod "web" not found');
  });

  it('fails without the proxy-server (no direct route), and works again once the agent is back', async () => {
    await proxyServer?.close();
    proxyServer = undefined;
    const broken = await raw(tenant.seed.adminKubeconfig, 'GET', `/api/v1/nodes/${NODE}/proxy/healthz`);
    expect(broken.status).toBe(500);
    expect(String(broken.json.message)).toContain(socketPath);
    const logs = await kubectl(['logs', 'web']);
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toContain(socketPath);
    await eventually(async () => !(await podReady('konnectivity-agent-abcde', 'kube-system')), 'the agent to report the lost connection', 15_000, 200);

    proxyServer = await startProxyServer(proxyServerArgs, silent);
    await eventually(() => podReady('konnectivity-agent-abcde', 'kube-system'), 'the agent to reconnect', 30_000, 200);
    const again = await raw(tenant.seed.adminKubeconfig, 'GET', `/api/v1/nodes/${NODE}/proxy/healthz`);
    expect(again.status).toBe(200);
    expect(again.text).toBe('ok');
  });
});
