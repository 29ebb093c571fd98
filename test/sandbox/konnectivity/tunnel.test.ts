// The konnectivity stand-ins together: our proxy-server (agents authenticated by TokenReview
// against kubesim), our agents and the apiserver-side client. The node's kubelet port is a TCP
// server the test can reach only through an agent's `dial`, which maps a node address no host
// route leads to (as the node simulator maps its InternalIP). test/real/konnectivity-tunnel.test.ts
// holds the same pieces to the real binaries.
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { konnectivityAgentArguments } from '../../../services/core/src/addons/konnectivity-agent.js';
import {
  dialThroughTunnel,
  proxyAgentArguments,
  startProxyAgent,
  startProxyServer,
  type RunningProxyAgent,
  type RunningProxyServer,
} from '../../../services/sandbox/src/konnectivity/index.js';
import { proxyServerOptions } from '../../../services/sandbox/src/konnectivity/server.js';
import type { LogFields } from '../../../services/sandbox/src/konnectivity/protocol.js';
import { createCa, createSeed, issueCertificate, type SeedHandle } from '../../../services/sandbox/src/kubesim/index.js';
import { eventually } from '../../support/time.js';
import { referenceAddonSpec } from '../../core/addons/reference.js';

const AUDIENCE = 'system:konnectivity-server';
/** A node address: nothing on this host answers it, only the agents' dial maps it. */
const NODE_IP = '192.0.2.10';
const OTHER_NODE_IP = '192.0.2.11';
const KUBELET_PORT = 10250;

let seed: SeedHandle;
let dir: string;
let caPem: string;
let token: string;
let wrongAudienceToken: string;
let kubeletStandIn: Server;
let otherNodeStandIn: Server;
const kubeletSockets: Socket[] = [];
let serverArgs: (overrides?: Record<string, string>) => string[];
const running: Array<{ close(): Promise<void> }> = [];

/** Ports 1024-49151, as the real proxy-server wants them. */
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

/** Echoes with a prefix naming the node, so a test sees which node's port answered. */
function standIn(name: string): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      kubeletSockets.push(socket);
      socket.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        if (text.startsWith('GET ')) socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${name.length + 3}\r\nConnection: close\r\n\r\nok ${name}`);
        else socket.write(`${name}:${text}`);
      });
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** The node's network: only its own address (and port) leads anywhere. */
function nodeDial(nodeIp: string, server: () => Server) {
  return (host: string, port: number): Promise<Duplex> =>
    new Promise((resolve, reject) => {
      if (host !== nodeIp || port !== KUBELET_PORT) return reject(new Error(`dial tcp ${host}:${port}: connect: connection refused`));
      const { port: local } = server().address() as AddressInfo;
      const socket = new Socket();
      socket.connect(local, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
}

function read(stream: Duplex, until: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no complete answer, got ${JSON.stringify(text)}`)), 10_000);
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (until(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
}

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

async function server(
  overrides: Record<string, string> = {},
  logs?: Array<{ message: string; fields: LogFields }>,
): Promise<{ server: RunningProxyServer; health: string; agentPort: number; uds: string }> {
  const args = serverArgs(overrides);
  const value = (flag: string): string => args.find((arg) => arg.startsWith(`--${flag}=`))?.split('=')[1] ?? '';
  const proxy = await startProxyServer(args, (_severity, message, fields = {}) => logs?.push({ message, fields }));
  running.push(proxy);
  return { server: proxy, health: `http://127.0.0.1:${value('health-port')}`, agentPort: Number(value('agent-port')), uds: value('uds-name') };
}

async function agent(
  agentPort: number,
  options: { agentId: string; identifiers?: string; token?: string; nodeIp?: string; node?: () => Server; healthPort?: number },
): Promise<RunningProxyAgent> {
  const proxyAgent = await startProxyAgent({
    serverHost: '127.0.0.1',
    serverPort: agentPort,
    caCertPem: caPem,
    token: () => options.token ?? token,
    agentId: options.agentId,
    identifiers: options.identifiers ?? 'default-route=true',
    healthPort: options.healthPort,
    healthHost: '127.0.0.1',
    dial: nodeDial(options.nodeIp ?? NODE_IP, options.node ?? (() => kubeletStandIn)),
    syncIntervalMs: 100,
    syncIntervalCapMs: 400,
  });
  running.push(proxyAgent);
  return proxyAgent;
}

beforeAll(async () => {
  seed = await createSeed();
  dir = mkdtempSync('/tmp/hm-konn-');
  const config = new KubeConfig();
  config.loadFromString(seed.adminKubeconfig);
  const core = config.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace: 'kube-system', body: { metadata: { name: 'konnectivity-agent' } } });
  await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'konnectivity-agent' } } });
  const tokenFor = async (namespace: string, audiences?: string[]): Promise<string> =>
    (
      await core.createNamespacedServiceAccountToken({
        namespace,
        name: 'konnectivity-agent',
        body: { spec: { audiences: audiences ?? [], expirationSeconds: 3600 } },
      })
    ).status?.token ?? '';
  token = await tokenFor('kube-system', [AUDIENCE]);
  wrongAudienceToken = await tokenFor('kube-system');
  const otherNamespaceToken = await tokenFor('default', [AUDIENCE]);
  writeFileSync(join(dir, 'other-namespace.token'), otherNamespaceToken);
  const ca = await createCa('konnectivity-test-ca');
  caPem = ca.certPem;
  const agentPortCert = await issueCertificate(ca, { commonName: 'konnectivity-server', server: true, ipAddresses: ['127.0.0.1'] });
  const kubeconfig = join(dir, 'konnectivity-server.conf');
  writeFileSync(kubeconfig, seed.adminKubeconfig);
  writeFileSync(join(dir, 'agent-port.crt'), agentPortCert.certPem);
  writeFileSync(join(dir, 'agent-port.key'), agentPortCert.keyPem);
  kubeletStandIn = await standIn('node-a');
  otherNodeStandIn = await standIn('node-b');
  serverArgs = (overrides = {}) => {
    const flags: Record<string, string> = {
      'uds-name': join(dir, `s${Math.floor(Math.random() * 1e6)}.socket`),
      'delete-existing-uds-file': 'true',
      mode: 'grpc',
      'server-port': '0',
      'agent-port': '',
      'agent-bind-address': '127.0.0.1',
      'cluster-cert': join(dir, 'agent-port.crt'),
      'cluster-key': join(dir, 'agent-port.key'),
      'admin-port': '',
      'admin-bind-address': '127.0.0.1',
      'health-port': '',
      'health-bind-address': '127.0.0.1',
      'agent-namespace': 'kube-system',
      'agent-service-account': 'konnectivity-agent',
      'authentication-audience': AUDIENCE,
      kubeconfig,
      'proxy-strategies': 'destHost,defaultRoute',
      'server-count': '1',
      'keepalive-time': '30s',
      v: '2',
      ...overrides,
    };
    return Object.entries(flags).map(([flag, value]) => `--${flag}=${value}`);
  };
});

afterEach(async () => {
  for (const piece of running.splice(0).reverse()) await piece.close();
});

afterAll(async () => {
  for (const socket of kubeletSockets) socket.destroy();
  kubeletStandIn?.close();
  otherNodeStandIn?.close();
  await seed?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function ports(): Promise<Record<string, string>> {
  return { 'agent-port': String(await registeredPort()), 'health-port': String(await registeredPort()), 'admin-port': String(await registeredPort()) };
}

describe('the konnectivity stand-ins: proxy-server, proxy-agent and the apiserver client', () => {
  it('refuses the flags the real proxy-server refuses', () => {
    const args = serverArgs({ 'agent-port': '8132', 'health-port': '8134', 'admin-port': '8133' });
    expect(() => proxyServerOptions([...args, '--no-such-flag=1'])).toThrow('unknown flag: --no-such-flag');
    expect(() =>
      proxyServerOptions(serverArgs({ 'agent-port': '8132', 'health-port': '8134', 'admin-port': '8133', 'proxy-strategies': 'destHost,default-route' })),
    ).toThrow('invalid proxy strategies: unknown proxy strategy: default-route');
    expect(() => proxyServerOptions(serverArgs({ 'agent-port': '50000', 'health-port': '8134', 'admin-port': '8133' }))).toThrow(
      'please do not try to use ephemeral port 50000 for the agent port',
    );
    expect(() => proxyServerOptions(serverArgs({ 'agent-port': '8132', 'health-port': '8134', 'admin-port': '8133', 'server-port': '8090' }))).toThrow(
      'server port should be set to 0 not 8090 for UDS',
    );
    expect(proxyServerOptions(args).strategies).toEqual(['destHost', 'defaultRoute']);
  });

  it("takes the agent DaemonSet's command line as the real proxy-agent does, and refuses what it refuses", () => {
    const spec = referenceAddonSpec();
    const parsed = proxyAgentArguments(konnectivityAgentArguments(spec), {});
    expect(parsed).toMatchObject({
      serverHost: spec.konnectivity?.host,
      serverPort: spec.konnectivity?.port,
      caCertPath: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    });
    expect(new URLSearchParams(parsed.identifiers).get('default-route')).toBe('true');
    expect(() => proxyAgentArguments(['--ca-cert=/ca.crt', '--service-account-token-path=/token', '--agent-identifiers=zone=a'])).toThrow(
      'unknown identifier type: zone',
    );
    expect(() => proxyAgentArguments(['--proxy-server-port=many'])).toThrow('invalid argument "many" for "--proxy-server-port" flag');
  });

  it('carries a connection to a node port only the agent reaches, data both ways, and closes it from either end', async () => {
    const { server: proxy, health, agentPort, uds } = await server(await ports());
    // Ready only with an agent, judged by the first strategy (destHost): this agent names its host.
    expect(await status(`${health}/healthz`)).toBe(200);
    expect(await status(`${health}/readyz`)).toBe(500);
    const agentHealth = await registeredPort();
    const nodeAgent = await agent(agentPort, { agentId: 'node-a', identifiers: `host=${NODE_IP}&default-route=true`, healthPort: agentHealth });
    await eventually(() => nodeAgent.connected(), 'the agent to connect');
    expect(proxy.agents()).toEqual(['node-a']);
    expect(await status(`${health}/readyz`)).toBe(200);
    expect(await status(`http://127.0.0.1:${agentHealth}/readyz`)).toBe(200);

    const tunnel = await dialThroughTunnel(uds, NODE_IP, KUBELET_PORT);
    const answer = read(tunnel, (text) => text === 'node-a:ping');
    tunnel.write('ping');
    expect(await answer).toBe('node-a:ping');
    const before = kubeletSockets.length;
    // Closing on the apiserver's side closes the node's socket.
    const nodeSocket = kubeletSockets[before - 1];
    const nodeSideClosed = new Promise<void>((resolve) => nodeSocket.once('close', () => resolve()));
    tunnel.end();
    await nodeSideClosed;

    // And an HTTP exchange, which the node's side ends: the client sees the end of the stream.
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const createConnection = (_options: unknown, created: (error: Error | null, stream?: Duplex) => void): undefined => {
        dialThroughTunnel(uds, NODE_IP, KUBELET_PORT).then(
          (connection) => created(null, connection),
          (error: unknown) => created(error instanceof Error ? error : new Error(String(error))),
        );
        return undefined;
      };
      const call = request({ host: NODE_IP, port: KUBELET_PORT, path: '/healthz', createConnection: createConnection as never }, (incoming) => {
        let body = '';
        incoming.on('data', (chunk: Buffer) => (body += chunk.toString()));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body }));
      });
      call.on('error', reject);
      call.end();
    });
    expect(response).toEqual({ status: 200, body: 'ok node-a' });
  });

  it('fails a dial the agent cannot make, and one no agent serves, with their errors', async () => {
    const { agentPort, uds } = await server(await ports());
    await expect(dialThroughTunnel(uds, NODE_IP, KUBELET_PORT)).rejects.toThrow('No agent available');
    const nodeAgent = await agent(agentPort, { agentId: 'node-a' });
    await eventually(() => nodeAgent.connected(), 'the agent to connect');
    await expect(dialThroughTunnel(uds, NODE_IP, 22)).rejects.toThrow(`dial tcp ${NODE_IP}:22: connect: connection refused`);
    await expect(dialThroughTunnel(join(dir, 'absent.socket'), NODE_IP, KUBELET_PORT, { timeoutMs: 5000 })).rejects.toThrow();
  });

  it('routes by destination host, and everything else to the agent that claims the default route', async () => {
    const { agentPort, uds } = await server(await ports());
    const nodeA = await agent(agentPort, { agentId: 'node-a', identifiers: `host=${NODE_IP}` });
    const nodeB = await agent(agentPort, { agentId: 'node-b', identifiers: 'default-route=true', nodeIp: OTHER_NODE_IP, node: () => otherNodeStandIn });
    await eventually(() => nodeA.connected() && nodeB.connected(), 'both agents to connect');
    for (const [ip, name] of [
      [NODE_IP, 'node-a'],
      [OTHER_NODE_IP, 'node-b'],
    ]) {
      const tunnel = await dialThroughTunnel(uds, ip, KUBELET_PORT);
      const answer = read(tunnel, (text) => text.endsWith(':hello'));
      tunnel.write('hello');
      expect(await answer).toBe(`${name}:hello`);
      tunnel.destroy();
    }
  });

  it('refuses agents whose token is for another audience or another service account', async () => {
    const logs: Array<{ message: string; fields: LogFields }> = [];
    const { server: proxy, health, agentPort } = await server(await ports(), logs);
    const intruder = await agent(agentPort, { agentId: 'wrong-audience', token: wrongAudienceToken });
    const stranger = await agent(agentPort, { agentId: 'other-namespace', token: readFileSync(join(dir, 'other-namespace.token'), 'utf8') });
    await eventually(
      () =>
        ['wrong-audience', 'other-namespace'].every((id) =>
          logs.some((entry) => entry.message === 'Client authentication failed' && entry.fields.agentID === id),
        ),
      'the server to refuse both agents',
    );
    expect(intruder.connected()).toBe(false);
    expect(stranger.connected()).toBe(false);
    expect(proxy.agents()).toEqual([]);
    expect(await status(`${health}/readyz`)).toBe(500);
    const reasons = logs.filter((entry) => entry.message === 'Client authentication failed').map((entry) => String(entry.fields.err));
    expect(reasons.some((reason) => reason.includes('incoming request from "default" namespace. Expected "kube-system"'))).toBe(true);
  });

  it('reconnects the agent once the server is back, and the tunnel works again', async () => {
    const fixed = await ports();
    let current = await server(fixed);
    const nodeAgent = await agent(current.agentPort, { agentId: 'node-a' });
    await eventually(() => nodeAgent.connected(), 'the agent to connect');
    const open = await dialThroughTunnel(current.uds, NODE_IP, KUBELET_PORT);
    const ended = new Promise<void>((resolve) => open.once('end', () => resolve()));
    open.resume();
    await current.server.close();
    running.splice(running.indexOf(current.server), 1);
    // The connection it carried ends with it.
    await ended;
    await eventually(() => !nodeAgent.connected(), 'the agent to notice');
    current = await server(fixed);
    await eventually(() => nodeAgent.connected(), 'the agent to reconnect', 10_000);
    const tunnel = await dialThroughTunnel(current.uds, NODE_IP, KUBELET_PORT);
    const answer = read(tunnel, (text) => text === 'node-a:again');
    tunnel.write('again');
    expect(await answer).toBe('node-a:again');
    tunnel.destroy();
  });

  it('holds one stream to each of several servers behind one address, as the server count asks', async () => {
    // Two replicas' servers, reached by the agent through one balancing address.
    const first = await server({ ...(await ports()), 'server-count': '2', 'server-id': 'replica-0' });
    const second = await server({ ...(await ports()), 'server-count': '2', 'server-id': 'replica-1' });
    const balancer = createServer((socket) => {
      const target = Math.random() < 0.5 ? first.agentPort : second.agentPort;
      const upstream = new Socket();
      upstream.connect(target, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    const balancerPort = await registeredPort();
    await new Promise<void>((resolve) => balancer.listen(balancerPort, '127.0.0.1', resolve));
    try {
      await agent(balancerPort, { agentId: 'node-a' });
      await eventually(() => first.server.agents().length === 1 && second.server.agents().length === 1, 'the agent on both servers', 20_000);
      for (const { uds } of [first, second]) {
        const tunnel = await dialThroughTunnel(uds, NODE_IP, KUBELET_PORT);
        const answer = read(tunnel, (text) => text === 'node-a:x');
        tunnel.write('x');
        expect(await answer).toBe('node-a:x');
        tunnel.destroy();
      }
    } finally {
      for (const piece of running.splice(0).reverse()) await piece.close();
      balancer.close();
    }
  });
});
