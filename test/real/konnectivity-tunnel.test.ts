// The API-server-to-node tunnel with the real binaries: a real etcd and kube-apiserver whose
// `cluster` egress (--egress-selector-config-file) goes over gRPC on a unix socket to a real
// konnectivity proxy-server, and a real proxy-agent on the node's side that dials out to the
// proxy-server's agent port (TLS) with a bound service-account token (audience
// system:konnectivity-server) that the server checks with a TokenReview.
//
// The node is a network namespace: the agent and a stand-in for the kubelet's port (an HTTPS
// server that, like the kubelet, asks the apiserver for its kubelet client certificate) live in
// it, on an address of the namespace's own. The host, where the apiserver runs, has no route to
// that address (an `unreachable` route for it, so a direct dial fails at once instead of timing
// out), as a control plane has none into a NATed node network. So `nodes/<n>/proxy` and pod logs
// can only reach the node through the tunnel, which the test shows by stopping the proxy-server.
//
// Why a stand-in and not kubemark's hollow kubelet: the hollow kubelet calls RunKubelet without
// TLS options, so it serves its port over plain HTTP (https://…/healthz fails the handshake,
// http://…/healthz answers ok), which the apiserver's kubelet client (HTTPS) cannot talk to.
//
// The same setup holds the sandbox's konnectivity stand-ins (services/sandbox/src/konnectivity) to
// the real contract: our proxy-server in place of the real one, between the real apiserver and the
// real agent; and our agent and apiserver-side client against a second real proxy-server.
//
// Needs root (network namespaces, veth, routes), like the real nodes' kubeadm chroot.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, Socket, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPPORTED_VERSIONS } from '../../services/core/src/versions.js';
import { createCa, issueCertificate, type CertificateAuthority, type KeyPairPem } from '../../services/sandbox/src/kubesim/index.js';
import { dialThroughTunnel, startProxyAgent, type RunningProxyAgent } from '../../services/sandbox/src/konnectivity/index.js';
import { RealBinaries } from '../../services/sandbox/src/real-binaries/index.js';
import { ensureBuilt } from '../support/build.js';
import { eventually, scaled } from '../support/time.js';
import { send, type Identity, type WireResponse } from './differential/client.js';
import { freePort } from './differential/servers.js';

const real = RealBinaries.fromEnvironment();
const newest = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1];

const AUDIENCE = 'system:konnectivity-server';
const AGENT_NAMESPACE = 'kube-system';
const AGENT_SERVICE_ACCOUNT = 'konnectivity-agent';
/** The proxy-server's own identity towards the apiserver (its TokenReviews). */
const SERVER_USER = 'system:konnectivity-server';
const KUBELET_CLIENT = 'kube-apiserver-kubelet-client';
const NODE_NAME = 'tunnel-node';
const POD = { namespace: 'default', name: 'behind-nat', container: 'app' };
/** The kubelet's port: the node is a namespace of its own, so the usual one is free there. */
const KUBELET_PORT = 10250;
const AGENT_HEALTH_PORT = 8093;
/** The proxy-server and proxy-agent stand-ins' command line (the process kubelet runs it for the images). */
const STAND_IN_CLI = resolve('dist/services/sandbox/src/konnectivity/cli.js');
/** A node only our agent reaches: its dial maps this address to a server in this process. */
const STAND_IN_NODE_IP = '192.0.2.77';

// One /30 and one node address per run, so parallel runs on one host do not meet.
const slot = (process.pid % 250) + 1;
const netns = `hm-konn-${process.pid}`;
const hostVeth = `hmk${process.pid % 100_000}h`;
const nodeVeth = `hmk${process.pid % 100_000}n`;
const hostSide = `10.254.${slot}.1`;
const nodeSide = `10.254.${slot}.2`;
/** The node's InternalIP: on the namespace's loopback, routed nowhere from the host. */
const nodeIP = `10.253.${slot}.10`;

interface KubeletRequest {
  method: string;
  url: string;
  from: string;
  client?: string;
}

class Proc {
  readonly child: ChildProcess;
  private readonly exit: Promise<void>;
  constructor(
    readonly name: string,
    command: string,
    args: string[],
    readonly logPath: string,
    onStdout?: (line: string) => void,
  ) {
    const log = createWriteStream(logPath, { flags: 'a' });
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (!onStdout) return;
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onStdout(line);
    });
    this.child.stderr?.pipe(log, { end: false });
    this.exit = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.once('close', () => log.end());
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(lines = 25): string {
    if (!existsSync(this.logPath)) return '';
    return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Throws with the log's tail once the process has exited: a wait on it cannot succeed. */
  assertRunning(): void {
    if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.tail()}`);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.child.kill('SIGTERM');
    await this.exit;
    clearTimeout(timer);
  }
}

/** A free port in 1024-32767: the proxy-server refuses the ephemeral range (above 49151). */
async function registeredPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/** A TCP connection from this (the apiserver's) network namespace: the error code, or 'connected'. */
function dialFromHost(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('ETIMEDOUT');
    }, 5000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? error.message);
    });
  });
}

/** The same dial from inside the node's namespace. */
function dialFromNode(host: string, port: number): string {
  const script = `const s=require('node:net').connect({host:${JSON.stringify(host)},port:${port}});s.once('connect',()=>{console.log('connected');process.exit(0)});s.once('error',(e)=>{console.log(e.code);process.exit(0)});setTimeout(()=>{console.log('ETIMEDOUT');process.exit(0)},5000);`;
  return execFileSync('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { encoding: 'utf8' }).trim();
}

/** A command's exit code and output, without blocking the event loop. */
function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tryIp(...args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore' });
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function kubeconfig(server: string, ca: CertificateAuthority, user: string, credentials: KeyPairPem): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(ca.certPem)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(credentials.certPem)}`,
    `    client-key-data: ${b64(credentials.keyPem)}`,
    'contexts:',
    '- name: local',
    '  context:',
    '    cluster: local',
    `    user: ${user}`,
    'current-context: local',
    '',
  ].join('\n');
}

/** The kubelet's port, as far as the apiserver uses it: healthz and container logs, mTLS. */
const KUBELET_STAND_IN = `
const https = require('node:https');
const fs = require('node:fs');
const [host, port, cert, key, ca] = process.argv.slice(2);
const server = https.createServer(
  { cert: fs.readFileSync(cert), key: fs.readFileSync(key), ca: fs.readFileSync(ca), requestCert: true, rejectUnauthorized: true },
  (req, res) => {
    const peer = req.socket.getPeerCertificate();
    console.log(JSON.stringify({ method: req.method, url: req.url, from: req.socket.remoteAddress, client: peer && peer.subject ? peer.subject.CN : undefined }));
    if (req.url === '/healthz') return res.end('ok');
    const logs = /^\\/containerLogs\\/([^/]+)\\/([^/]+)\\/([^/?]+)/.exec(req.url);
    if (logs) {
      res.setHeader('Content-Type', 'text/plain');
      return res.end('first line of ' + logs[1] + '/' + logs[2] + '/' + logs[3] + '\\nsecond line, through the tunnel\\n');
    }
    res.statusCode = 404;
    res.end('404 page not found');
  },
);
server.listen(Number(port), host, () => console.log(JSON.stringify({ listening: true })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let dir = '';
let ca: CertificateAuthority;
let admin: Identity;
let adminKubeconfig = '';
let apiUrl = '';
let socketPath = '';
let serverHealthPort = 0;
let agentPort = 0;
const procs: Proc[] = [];
const kubeletRequests: KubeletRequest[] = [];
let etcd: Proc;
let apiserver: Proc;
let proxyServer: Proc;
let proxyAgent: Proc;
let proxyServerArgs: string[] = [];
let networkUp = false;

const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};

async function api(method: string, path: string, body?: unknown, contentType?: string): Promise<WireResponse> {
  return send(apiUrl, admin, { method, path, ...(body === undefined ? {} : { body: JSON.stringify(body), contentType }) });
}

async function created(method: string, path: string, body: unknown, contentType?: string): Promise<WireResponse> {
  const response = await api(method, path, body, contentType);
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

function startProxyServer(): Proc {
  const proc = new Proc('proxy-server', real!.konnectivity('proxy-server', newest.version), proxyServerArgs, join(dir, 'proxy-server.log'));
  procs.push(proc);
  return proc;
}

/** Waits until the proxy-server has the agent's connection: its /readyz is 200 only then. */
async function tunnelReady(): Promise<void> {
  await eventually(
    async () => {
      proxyServer.assertRunning();
      proxyAgent.assertRunning();
      return healthy(`http://127.0.0.1:${serverHealthPort}/readyz`);
    },
    'the proxy-server to hold a connection from the agent',
    60_000,
  );
}

beforeAll(async () => {
  if (!real) throw new Error('the konnectivity tunnel test needs KUBE_BIN_DIR (vitest.real.config.ts)');
  if (process.getuid?.() !== 0) throw new Error('the konnectivity tunnel test needs root: it puts the node in a network namespace');
  ensureBuilt();
  // Throws RealBinaryMissing now rather than in the middle of the setup.
  real.konnectivity('proxy-server', newest.version);
  real.konnectivity('proxy-agent', newest.version);
  // Short: the unix socket's path must fit in 108 bytes.
  dir = mkdtempSync('/tmp/hm-konn-');

  // ---- the node's network: a namespace with a veth to the host and an address of its own ----
  tryIp('netns', 'del', netns);
  tryIp('link', 'del', hostVeth);
  tryIp('route', 'del', 'unreachable', `${nodeIP}/32`);
  ip('netns', 'add', netns);
  networkUp = true;
  ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nodeVeth);
  ip('link', 'set', nodeVeth, 'netns', netns);
  ip('addr', 'add', `${hostSide}/30`, 'dev', hostVeth);
  ip('link', 'set', hostVeth, 'up');
  ip('-n', netns, 'link', 'set', 'lo', 'up');
  ip('-n', netns, 'addr', 'add', `${nodeIP}/32`, 'dev', 'lo');
  ip('-n', netns, 'addr', 'add', `${nodeSide}/30`, 'dev', nodeVeth);
  ip('-n', netns, 'link', 'set', nodeVeth, 'up');
  // The control plane's network has no route into the node's: without this the host would send
  // the packets out of its default route, to be lost, and a direct dial would only time out.
  ip('route', 'add', 'unreachable', `${nodeIP}/32`);

  // ---- PKI: one CA for the apiserver, its clients, the agent port and the kubelet ----
  ca = await createCa('hm-konnectivity-test-ca');
  const serving = await issueCertificate(ca, { commonName: 'kube-apiserver', server: true, dnsNames: ['localhost', 'kubernetes'], ipAddresses: ['127.0.0.1'] });
  const adminCert = await issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], client: true });
  const kubeletClient = await issueCertificate(ca, { commonName: KUBELET_CLIENT, organizations: ['kubeadm:cluster-admins'], client: true });
  const serverClient = await issueCertificate(ca, { commonName: SERVER_USER, client: true });
  // The agent dials the proxy-server by the host side's address and checks it against --ca-cert.
  const agentPortCert = await issueCertificate(ca, { commonName: 'konnectivity-server', server: true, ipAddresses: [hostSide, '127.0.0.1'] });
  const kubeletServing = await issueCertificate(ca, { commonName: NODE_NAME, server: true, dnsNames: [NODE_NAME], ipAddresses: [nodeIP] });
  admin = { kind: 'cert', certPem: adminCert.certPem, keyPem: adminCert.keyPem };
  const caFile = file('ca.crt', ca.certPem);

  // ---- etcd ----
  const [clientPort, peerPort, metricsPort, securePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${clientPort}`;
  etcd = new Proc(
    'etcd',
    real.etcd('etcd', newest.etcdVersion),
    [
      '--name=m0',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=m0=http://127.0.0.1:${peerPort}`,
      `--listen-metrics-urls=http://127.0.0.1:${metricsPort}`,
      '--log-level=error',
    ],
    join(dir, 'etcd.log'),
  );
  procs.push(etcd);
  await eventually(
    async () => {
      etcd.assertRunning();
      return healthy(`http://127.0.0.1:${metricsPort}/health`);
    },
    'etcd to be healthy',
    20_000,
  );

  // ---- kube-apiserver, its cluster egress through the proxy-server's unix socket ----
  socketPath = join(dir, 'konnectivity-server.socket');
  const egress = file(
    'egress-selector.yaml',
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
      '',
    ].join('\n'),
  );
  const saKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  apiUrl = `https://127.0.0.1:${securePort}`;
  apiserver = new Proc(
    'kube-apiserver',
    real.kube('kube-apiserver', newest.version),
    [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${securePort}`,
      `--tls-cert-file=${file('serving.crt', serving.certPem)}`,
      `--tls-private-key-file=${file('serving.key', serving.keyPem)}`,
      `--client-ca-file=${caFile}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${file('sa.pub', saKey.publicKey.export({ type: 'spki', format: 'pem' }).toString())}`,
      `--service-account-signing-key-file=${file('sa.key', saKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())}`,
      '--service-cluster-ip-range=10.96.0.0/12',
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      `--egress-selector-config-file=${egress}`,
      `--kubelet-client-certificate=${file('kubelet-client.crt', kubeletClient.certPem)}`,
      `--kubelet-client-key=${file('kubelet-client.key', kubeletClient.keyPem)}`,
      // The kubelet's serving certificate is checked, through the tunnel, as a kubeadm cluster
      // with serverTLSBootstrap would.
      `--kubelet-certificate-authority=${caFile}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--profiling=false',
      '--endpoint-reconciler-type=none',
      '--v=2',
    ],
    join(dir, 'kube-apiserver.log'),
  );
  procs.push(apiserver);
  await eventually(
    async () => {
      apiserver.assertRunning();
      return (await api('GET', '/readyz')).status === 200;
    },
    'kube-apiserver to be ready',
    60_000,
    250,
  );
  adminKubeconfig = file('admin.conf', kubeconfig(apiUrl, ca, 'admin', adminCert));

  // ---- what the proxy-server and agent need in the cluster ----
  // The proxy-server reviews agent tokens: TokenReview is what system:auth-delegator grants.
  await created('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'system:konnectivity-server' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: SERVER_USER }],
  });
  await eventually(async () => (await api('GET', `/api/v1/namespaces/${AGENT_NAMESPACE}`)).status === 200, `namespace ${AGENT_NAMESPACE} to exist`, 20_000);
  await created('POST', `/api/v1/namespaces/${AGENT_NAMESPACE}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: AGENT_SERVICE_ACCOUNT },
  });
  const tokenRequest = await created('POST', `/api/v1/namespaces/${AGENT_NAMESPACE}/serviceaccounts/${AGENT_SERVICE_ACCOUNT}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: [AUDIENCE], expirationSeconds: 3600 },
  });
  const token = (tokenRequest.body as { status: { token: string } }).status.token;
  const tokenFile = file('konnectivity-agent.token', token);

  // ---- the proxy-server, beside the apiserver ----
  agentPort = await registeredPort();
  serverHealthPort = await registeredPort();
  const adminPort = await registeredPort();
  proxyServerArgs = [
    `--uds-name=${socketPath}`,
    '--delete-existing-uds-file=true',
    '--mode=grpc',
    '--server-port=0',
    `--agent-port=${agentPort}`,
    `--agent-bind-address=${hostSide}`,
    `--cluster-cert=${file('agent-port.crt', agentPortCert.certPem)}`,
    `--cluster-key=${file('agent-port.key', agentPortCert.keyPem)}`,
    `--admin-port=${adminPort}`,
    '--admin-bind-address=127.0.0.1',
    `--health-port=${serverHealthPort}`,
    '--health-bind-address=127.0.0.1',
    `--agent-namespace=${AGENT_NAMESPACE}`,
    `--agent-service-account=${AGENT_SERVICE_ACCOUNT}`,
    `--authentication-audience=${AUDIENCE}`,
    `--kubeconfig=${file('konnectivity-server.conf', kubeconfig(apiUrl, ca, SERVER_USER, serverClient))}`,
    '--server-count=1',
    '--v=2',
  ];
  proxyServer = startProxyServer();
  await eventually(
    async () => {
      proxyServer.assertRunning();
      return healthy(`http://127.0.0.1:${serverHealthPort}/healthz`);
    },
    'the proxy-server to be live',
    30_000,
  );

  // ---- the node: the kubelet's port and the agent, inside the namespace ----
  const kubelet = new Proc(
    'kubelet stand-in',
    'ip',
    [
      'netns',
      'exec',
      netns,
      process.execPath,
      file('kubelet-stand-in.cjs', KUBELET_STAND_IN),
      nodeIP,
      String(KUBELET_PORT),
      file('kubelet.crt', kubeletServing.certPem),
      file('kubelet.key', kubeletServing.keyPem),
      caFile,
    ],
    join(dir, 'kubelet-stand-in.log'),
    (line) => {
      if (!line.startsWith('{')) return; // anything but the stand-in's own reports (a runtime warning)
      const entry = JSON.parse(line) as Partial<KubeletRequest> & { listening?: boolean };
      if (entry.url) kubeletRequests.push(entry as KubeletRequest);
    },
  );
  procs.push(kubelet);
  proxyAgent = new Proc(
    'proxy-agent',
    'ip',
    [
      'netns',
      'exec',
      netns,
      real.konnectivity('proxy-agent', newest.version),
      `--proxy-server-host=${hostSide}`,
      `--proxy-server-port=${agentPort}`,
      `--ca-cert=${caFile}`,
      `--service-account-token-path=${tokenFile}`,
      `--health-server-port=${AGENT_HEALTH_PORT}`,
      '--admin-server-port=8094',
      '--v=2',
    ],
    join(dir, 'proxy-agent.log'),
  );
  procs.push(proxyAgent);
  await eventually(
    () => {
      kubelet.assertRunning();
      return dialFromNode(nodeIP, KUBELET_PORT) === 'connected';
    },
    'the kubelet stand-in to listen in the node namespace',
    20_000,
  );
  await tunnelReady();

  // ---- the Node, as the kubelet registers it: InternalIP and the kubelet's port ----
  await created('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME } });
  await created(
    'PATCH',
    `/api/v1/nodes/${NODE_NAME}/status`,
    {
      status: {
        addresses: [
          { type: 'InternalIP', address: nodeIP },
          { type: 'Hostname', address: NODE_NAME },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
      },
    },
    'application/merge-patch+json',
  );
}, scaled(240_000));

afterAll(async () => {
  for (const proc of [...procs].reverse()) await proc.stop();
  if (networkUp) {
    tryIp('route', 'del', 'unreachable', `${nodeIP}/32`);
    tryIp('netns', 'del', netns);
    tryIp('link', 'del', hostVeth);
  }
  if (dir && process.env.HM_KEEP_KONNECTIVITY_LOGS !== '1') rmSync(dir, { recursive: true, force: true });
}, scaled(60_000));

describe('the API-server-to-node tunnel (konnectivity) with the real binaries', () => {
  it(
    'has no direct route from the apiserver to the node, only from inside the node',
    async () => {
      expect(await dialFromHost(nodeIP, KUBELET_PORT)).toMatch(/^(EHOSTUNREACH|ENETUNREACH)$/);
      expect(dialFromNode(nodeIP, KUBELET_PORT)).toBe('connected');
      // The agent is ready and the proxy-server counts it: the token passed the TokenReview.
      expect(await healthy(`http://${nodeSide}:${AGENT_HEALTH_PORT}/readyz`)).toBe(true);
      expect(await healthy(`http://127.0.0.1:${serverHealthPort}/readyz`)).toBe(true);
    },
    scaled(30_000),
  );

  it(
    'carries nodes/<n>/proxy to the kubelet port, as the apiserver with its kubelet client certificate',
    async () => {
      const before = kubeletRequests.length;
      const response = await eventually(
        async () => {
          const answer = await api('GET', `/api/v1/nodes/${NODE_NAME}/proxy/healthz`);
          return answer.status === 200 ? answer : undefined;
        },
        'nodes/proxy/healthz through the tunnel',
        30_000,
        500,
      );
      expect(response.body).toBe('ok');
      const seen = kubeletRequests.slice(before).find((request) => request.url === '/healthz');
      // TLS end to end: the kubelet saw the apiserver's own client certificate.
      expect(seen).toMatchObject({ method: 'GET', client: KUBELET_CLIENT });
      // And the connection came from inside the node's namespace: the agent dialled it.
      expect([nodeIP, nodeSide, `::ffff:${nodeIP}`, `::ffff:${nodeSide}`]).toContain(seen?.from);
    },
    scaled(60_000),
  );

  it(
    'carries pod logs: kubectl logs of a pod on the node behind NAT',
    async () => {
      // The ServiceAccount admission plugin wants the namespace's default ServiceAccount, which
      // no kube-controller-manager runs here to create.
      await created('POST', `/api/v1/namespaces/${POD.namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
      await created('POST', `/api/v1/namespaces/${POD.namespace}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: POD.name },
        spec: { nodeName: NODE_NAME, containers: [{ name: POD.container, image: 'registry.k8s.io/pause:3.10' }] },
      });
      const kubectl = real!.kube('kubectl', newest.version);
      // Not spawnSync: the kubelet stand-in's report of the request arrives on this event loop.
      const result = await run(kubectl, ['--kubeconfig', adminKubeconfig, '-n', POD.namespace, 'logs', POD.name, '-c', POD.container], scaled(30_000));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`first line of ${POD.namespace}/${POD.name}/${POD.container}\nsecond line, through the tunnel\n`);
      const logRequest = await eventually(
        () => kubeletRequests.find((request) => request.url.startsWith(`/containerLogs/${POD.namespace}/${POD.name}/${POD.container}`)),
        'the kubelet stand-in to report the containerLogs request',
        10_000,
      );
      expect(logRequest.client).toBe(KUBELET_CLIENT);
    },
    scaled(60_000),
  );

  it(
    'refuses an agent whose token is not for the konnectivity audience (the TokenReview names it)',
    async () => {
      // A token of the same ServiceAccount, for the apiserver's own audience (no audiences asked).
      const tokenRequest = await created('POST', `/api/v1/namespaces/${AGENT_NAMESPACE}/serviceaccounts/${AGENT_SERVICE_ACCOUNT}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      });
      const tokenFile = file('wrong-audience.token', (tokenRequest.body as { status: { token: string } }).status.token);
      const intruder = new Proc(
        'proxy-agent (wrong audience)',
        'ip',
        [
          'netns',
          'exec',
          netns,
          real!.konnectivity('proxy-agent', newest.version),
          '--agent-id=wrong-audience',
          `--proxy-server-host=${hostSide}`,
          `--proxy-server-port=${agentPort}`,
          `--ca-cert=${join(dir, 'ca.crt')}`,
          `--service-account-token-path=${tokenFile}`,
          '--health-server-port=8095',
          '--admin-server-port=8096',
          '--v=2',
        ],
        join(dir, 'proxy-agent-wrong-audience.log'),
      );
      procs.push(intruder);
      try {
        await eventually(
          () => {
            intruder.assertRunning();
            return readFileSync(proxyServer.logPath, 'utf8')
              .split('\n')
              .some((line) => line.includes('Client authentication failed') && line.includes('agentID="wrong-audience"'));
          },
          'the proxy-server to refuse the agent with the wrong audience',
          30_000,
        );
        expect(await healthy(`http://${nodeSide}:8095/readyz`)).toBe(false);
      } finally {
        await intruder.stop();
      }
    },
    scaled(60_000),
  );

  it(
    'fails without the proxy-server, and works again once it is back and the agent has reconnected',
    async () => {
      await proxyServer.stop();
      const before = kubeletRequests.length;
      // In GRPC mode the apiserver's tunnel dial blocks until the proxy-server answers, for at
      // most 30 s (egressselector's udsGRPCConnector: grpc.WithBlock, WithTimeout(30s), and not
      // the request's context), then fails; there is no direct dial to fall back on.
      const broken = await send(apiUrl, admin, { method: 'GET', path: `/api/v1/nodes/${NODE_NAME}/proxy/healthz` }, scaled(60_000));
      expect(broken.status).toBeGreaterThanOrEqual(500);
      expect(JSON.stringify(broken.body)).toContain(socketPath);
      expect(kubeletRequests.length).toBe(before);
      // The apiserver itself stays ready: its readiness does not depend on the tunnel.
      expect((await api('GET', '/readyz')).status).toBe(200);

      proxyServer = startProxyServer();
      await tunnelReady();
      const again = await eventually(
        async () => {
          const answer = await api('GET', `/api/v1/nodes/${NODE_NAME}/proxy/healthz`);
          return answer.status === 200 ? answer : undefined;
        },
        'nodes/proxy/healthz through the new tunnel',
        30_000,
        500,
      );
      expect(again.body).toBe('ok');
    },
    scaled(120_000),
  );
  it(
    'our proxy-server stand-in in place of the real one: the real apiserver and the real agent carry nodes/<n>/proxy and logs through it',
    async () => {
      await proxyServer.stop();
      // The same command line as the real one: the stand-in must accept exactly what the sidecar passes.
      proxyServer = new Proc(
        'proxy-server stand-in',
        process.execPath,
        [STAND_IN_CLI, 'proxy-server', ...proxyServerArgs],
        join(dir, 'proxy-server-stand-in.log'),
      );
      procs.push(proxyServer);
      // Ready only once the real agent has reconnected and passed our TokenReview.
      await tunnelReady();
      expect(readFileSync(proxyServer.logPath, 'utf8')).toContain('"Agent connected"');
      const before = kubeletRequests.length;
      const response = await eventually(
        async () => {
          const answer = await api('GET', `/api/v1/nodes/${NODE_NAME}/proxy/healthz`);
          return answer.status === 200 ? answer : undefined;
        },
        'nodes/proxy/healthz through the stand-in',
        30_000,
        500,
      );
      expect(response.body).toBe('ok');
      const seen = kubeletRequests.slice(before).find((entry) => entry.url === '/healthz');
      expect(seen).toMatchObject({ method: 'GET', client: KUBELET_CLIENT });
      expect([nodeIP, nodeSide, `::ffff:${nodeIP}`, `::ffff:${nodeSide}`]).toContain(seen?.from);
      const kubectl = real!.kube('kubectl', newest.version);
      const logs = await run(kubectl, ['--kubeconfig', adminKubeconfig, '-n', POD.namespace, 'logs', POD.name, '-c', POD.container], scaled(30_000));
      expect(logs.stderr).toBe('');
      expect(logs.stdout).toBe(`first line of ${POD.namespace}/${POD.name}/${POD.container}\nsecond line, through the tunnel\n`);
    },
    scaled(120_000),
  );

  it(
    'our agent and our apiserver-side client against the real proxy-server: routing, readiness and token review as the real one does them',
    async () => {
      // A second real proxy-server, with the strategies the product's sidecar uses.
      const socket = join(dir, 'second.socket');
      const ports = { agent: await registeredPort(), health: await registeredPort(), admin: await registeredPort() };
      const args = proxyServerArgs.map((arg) => {
        if (arg.startsWith('--uds-name=')) return `--uds-name=${socket}`;
        if (arg.startsWith('--agent-port=')) return `--agent-port=${ports.agent}`;
        if (arg.startsWith('--health-port=')) return `--health-port=${ports.health}`;
        if (arg.startsWith('--admin-port=')) return `--admin-port=${ports.admin}`;
        if (arg.startsWith('--agent-bind-address=')) return '--agent-bind-address=127.0.0.1';
        return arg;
      });
      const second = new Proc(
        'second proxy-server',
        real!.konnectivity('proxy-server', newest.version),
        [...args, '--proxy-strategies=destHost,defaultRoute'],
        join(dir, 'second-proxy-server.log'),
      );
      procs.push(second);
      const health = `http://127.0.0.1:${ports.health}`;
      await eventually(async () => {
        second.assertRunning();
        return healthy(`${health}/healthz`);
      }, 'the second proxy-server to be live');

      const node = createServer((connection) =>
        connection.on('data', () => connection.end('HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nok, our node')),
      );
      await new Promise<void>((ready) => node.listen(0, '127.0.0.1', ready));
      const dial = (host: string, port: number): Promise<Duplex> =>
        new Promise((dialled, refused) => {
          if (host !== STAND_IN_NODE_IP || port !== KUBELET_PORT) return refused(new Error(`dial tcp ${host}:${port}: connect: connection refused`));
          const upstream = new Socket();
          upstream.connect((node.address() as AddressInfo).port, '127.0.0.1', () => dialled(upstream));
          upstream.once('error', refused);
        });
      const token = readFileSync(join(dir, 'konnectivity-agent.token'), 'utf8');
      const agents: RunningProxyAgent[] = [];
      const ourAgent = (agentId: string, identifiers: string, agentToken = token): Promise<RunningProxyAgent> =>
        startProxyAgent({
          serverHost: '127.0.0.1',
          serverPort: ports.agent,
          caCertPem: ca.certPem,
          token: () => agentToken,
          agentId,
          identifiers,
          dial,
          syncIntervalMs: 200,
          syncIntervalCapMs: 1000,
        }).then((agent) => {
          agents.push(agent);
          return agent;
        });
      try {
        const defaultRoute = await ourAgent('ours-default-route', 'default-route=true');
        await eventually(() => defaultRoute.connected(), 'our agent to be accepted by the real proxy-server');
        // Readiness is the first strategy's (destHost): an agent naming no host does not count.
        expect((await fetch(`${health}/readyz`)).status).toBe(500);

        const response = await new Promise<{ status: number; body: string }>((answered, failed) => {
          const createConnection = (_options: unknown, created: (error: Error | null, stream?: Duplex) => void): undefined => {
            dialThroughTunnel(socket, STAND_IN_NODE_IP, KUBELET_PORT).then(
              (connection) => created(null, connection),
              (error: unknown) => created(error instanceof Error ? error : new Error(String(error))),
            );
            return undefined;
          };
          const call = request({ host: STAND_IN_NODE_IP, port: KUBELET_PORT, path: '/healthz', createConnection: createConnection as never }, (incoming) => {
            let body = '';
            incoming.on('data', (chunk: Buffer) => (body += chunk.toString()));
            incoming.on('end', () => answered({ status: incoming.statusCode ?? 0, body }));
          });
          call.on('error', failed);
          call.end();
        });
        expect(response).toEqual({ status: 200, body: 'ok, our node' });
        // The agent's own dial error comes back to the client as the real server relays it.
        await expect(dialThroughTunnel(socket, STAND_IN_NODE_IP, 22)).rejects.toThrow(`dial tcp ${STAND_IN_NODE_IP}:22: connect: connection refused`);

        const byHost = await ourAgent('ours-by-host', `ipv4=${STAND_IN_NODE_IP}`);
        await eventually(() => byHost.connected(), 'the agent naming its host to be accepted');
        expect((await fetch(`${health}/readyz`)).status).toBe(200);

        // A token of the right ServiceAccount for the apiserver's own audience: refused.
        const wrongAudience = (
          await created('POST', `/api/v1/namespaces/${AGENT_NAMESPACE}/serviceaccounts/${AGENT_SERVICE_ACCOUNT}/token`, {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { expirationSeconds: 3600 },
          })
        ).body as { status: { token: string } };
        const intruder = await ourAgent('ours-wrong-audience', 'default-route=true', wrongAudience.status.token);
        await eventually(
          () =>
            readFileSync(second.logPath, 'utf8')
              .split('\n')
              .some((line) => line.includes('Client authentication failed') && line.includes('agentID="ours-wrong-audience"')),
          'the real proxy-server to refuse our agent with the wrong audience',
        );
        expect(intruder.connected()).toBe(false);
      } finally {
        for (const agent of agents) await agent.close();
        node.close();
        await second.stop();
      }
    },
    scaled(120_000),
  );
});
