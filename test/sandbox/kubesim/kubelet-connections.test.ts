// kubesim's apiserver-to-kubelet requests (nodes/{name}/proxy and pods/{name}/log): the node's
// address and kubelet port as the Node reports them, the kubelet client certificate, the `cluster`
// egress selection (a CONNECT proxy on a unix socket here, as the real apiserver speaks
// HTTPConnect; GRPC goes through the konnectivity client) and the real apiserver's error answers.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCa,
  createSeed,
  issueCertificate,
  parseEgressSelectorConfiguration,
  type CertificateAuthority,
  type SeedHandle,
} from '../../../services/sandbox/src/kubesim/index.js';
import { raw } from './helpers.js';

/** The node's InternalIP: an address of the node network, which this machine has no route into. */
const NODE_IP = '100.64.7.10';
const KUBELET_PORT = 10250;
const KUBELET_CLIENT = 'kube-apiserver-kubelet-client';

interface Seen {
  url: string;
  client: string | undefined;
}

let dir: string;
let ca: CertificateAuthority;
let kubelet: HttpsServer;
let kubeletPort: number;
const seen: Seen[] = [];
let proxy: Server;
let proxySocket: string;
const proxied: string[] = [];
const proxyConnections = new Set<import('node:net').Socket>();
let seed: SeedHandle;
let rbacSeed: SeedHandle;
let grpcSeed: SeedHandle;
const tunnelled: Array<{ uds: string; host: string; port: number }> = [];

/** The node network as the egress proxy sees it: only the node's kubelet port is there. */
function dialNodeNetwork(host: string, port: number): Duplex | undefined {
  return host === NODE_IP && port === KUBELET_PORT ? connect({ host: '127.0.0.1', port: kubeletPort }) : undefined;
}

async function node(target: SeedHandle, name: string, addresses: Array<{ type: string; address: string }>, port = KUBELET_PORT): Promise<void> {
  const created = await raw(target.adminKubeconfig, 'POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
  expect(created.status).toBe(201);
  const patched = await raw(
    target.adminKubeconfig,
    'PATCH',
    `/api/v1/nodes/${name}/status`,
    { status: { addresses, daemonEndpoints: { kubeletEndpoint: { Port: port } } } },
    'application/merge-patch+json',
  );
  expect(patched.status).toBe(200);
}

async function pod(target: SeedHandle, name: string, containers: string[], nodeName?: string): Promise<void> {
  const created = await raw(target.adminKubeconfig, 'POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { ...(nodeName ? { nodeName } : {}), containers: containers.map((container) => ({ name: container, image: 'registry.k8s.io/pause:3.10' })) },
  });
  expect(created.status).toBe(201);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hm-kubelet-conn-'));
  ca = await createCa('kubelet-client-ca');
  const client = await issueCertificate(ca, { commonName: KUBELET_CLIENT, organizations: ['kubeadm:cluster-admins'], client: true });
  const serving = await issueCertificate(ca, { commonName: 'node-a', server: true, dnsNames: ['node-a'], ipAddresses: [NODE_IP] });
  kubelet = createHttpsServer(
    { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (request, response) => {
      const peer = (request.socket as import('node:tls').TLSSocket).getPeerCertificate();
      seen.push({ url: request.url ?? '', client: [peer.subject?.CN].flat()[0] });
      if (request.url === '/healthz') return void response.end('ok');
      const logs = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(request.url ?? '');
      if (logs?.[3] === 'gone') {
        response.writeHead(404);
        return void response.end(`container "gone" not found in pod "${logs[2]}"`);
      }
      if (logs) return void response.end(`log of ${logs[1]}/${logs[2]}/${logs[3]}\n`);
      response.writeHead(404);
      response.end('404 page not found');
    },
  );
  await new Promise<void>((resolve) => kubelet.listen(0, '127.0.0.1', resolve));
  kubeletPort = (kubelet.address() as AddressInfo).port;

  proxySocket = join(dir, 'egress.sock');
  proxy = createServer((socket) => {
    proxyConnections.add(socket);
    socket.once('close', () => proxyConnections.delete(socket));
    socket.once('data', (head: Buffer) => {
      const target = /^CONNECT ([^ ]+):(\d+) HTTP\/1\.1\r\n/.exec(head.toString('latin1'));
      proxied.push(target ? `${target[1]}:${target[2]}` : head.toString('latin1'));
      const upstream = target ? dialNodeNetwork(target[1], Number(target[2])) : undefined;
      if (!upstream) return void socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
      upstream.once('connect', () => {
        socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
        socket.pipe(upstream).pipe(socket);
      });
      upstream.once('error', () => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(proxySocket, resolve));

  const kubeletOptions = { clientCertPem: client.certPem, clientKeyPem: client.keyPem, preferredAddressTypes: ['InternalIP', 'ExternalIP', 'Hostname'] };
  seed = await createSeed({
    kubelet: kubeletOptions,
    egressSelection: parseEgressSelectorConfiguration(
      [
        'apiVersion: apiserver.k8s.io/v1beta1',
        'kind: EgressSelectorConfiguration',
        'egressSelections:',
        '- name: cluster',
        '  connection:',
        '    proxyProtocol: HTTPConnect',
        '    transport:',
        '      uds:',
        `        udsName: ${proxySocket}`,
        '- name: controlplane',
        '  connection:',
        '    proxyProtocol: Direct',
      ].join('\n'),
    ),
  });
  rbacSeed = await createSeed({ kubelet: kubeletOptions, authorizationModes: ['Node', 'RBAC'] });
  grpcSeed = await createSeed({
    kubelet: kubeletOptions,
    egressSelection: { cluster: { protocol: 'GRPC', udsName: '/etc/kubernetes/konnectivity-server/konnectivity-server.socket' } },
    tunnelDialer: (uds, host, port) => {
      tunnelled.push({ uds, host, port });
      const stream = dialNodeNetwork(host, port);
      if (stream) return Promise.resolve(stream);
      const refused = new PassThrough();
      refused.destroy();
      return Promise.reject(new Error(`connection refused by the agent for ${host}:${port}`));
    },
  });
  await node(seed, 'node-a', [
    { type: 'InternalIP', address: NODE_IP },
    { type: 'Hostname', address: 'node-a' },
  ]);
  await node(seed, 'node-loopback', [{ type: 'InternalIP', address: '127.0.0.1' }]);
  await node(seed, 'node-bare', []);
  await node(grpcSeed, 'node-a', [{ type: 'InternalIP', address: NODE_IP }]);
  await node(rbacSeed, 'node-a', [{ type: 'InternalIP', address: NODE_IP }]);
  await pod(seed, 'single', ['app'], 'node-a');
  await pod(seed, 'pair', ['app', 'sidecar'], 'node-a');
  await pod(seed, 'pending', ['app']);
  await pod(grpcSeed, 'single', ['app'], 'node-a');
});

afterAll(async () => {
  await Promise.all([seed?.close(), rbacSeed?.close(), grpcSeed?.close()]);
  kubelet?.close();
  proxy?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubesim nodes/proxy and pods/log', () => {
  it('proxies nodes/<n>/proxy/<path> to the kubelet through the cluster egress, with the kubelet client certificate', async () => {
    const before = seen.length;
    const response = await raw(seed.adminKubeconfig, 'GET', '/api/v1/nodes/node-a/proxy/healthz');
    expect(response.status).toBe(200);
    expect(response.text).toBe('ok');
    expect(seen.slice(before)).toEqual([{ url: '/healthz', client: KUBELET_CLIENT }]);
    expect(proxied.at(-1)).toBe(`${NODE_IP}:${KUBELET_PORT}`);
    // The kubelet's own 404 comes back as it is.
    const missing = await raw(seed.adminKubeconfig, 'GET', '/api/v1/nodes/node-a/proxy/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('404 page not found');
  });

  it('reads a pod log from its node, passing the log options on as the kubelet takes them', async () => {
    const before = seen.length;
    const response = await raw(seed.adminKubeconfig, 'GET', '/api/v1/namespaces/default/pods/single/log?tailLines=2&timestamps=true&follow=false');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(response.text).toBe('log of default/single/app\n');
    expect(seen.slice(before)).toEqual([{ url: '/containerLogs/default/single/app?tailLines=2&timestamps=true', client: KUBELET_CLIENT }]);
    const sidecar = await raw(seed.adminKubeconfig, 'GET', '/api/v1/namespaces/default/pods/pair/log?container=sidecar');
    expect(sidecar.text).toBe('log of default/pair/sidecar\n');
  });

  it('answers as the real apiserver when the request cannot be served', async () => {
    const answer = async (path: string) => {
      const response = await raw(seed.adminKubeconfig, 'GET', path);
      return { status: response.status, reason: response.json.reason, message: response.json.message };
    };
    expect(await answer('/api/v1/namespaces/default/pods/pair/log')).toEqual({
      status: 400,
      reason: 'BadRequest',
      message: 'a container name must be specified for pod pair, choose one of: [app sidecar]',
    });
    expect(await answer('/api/v1/namespaces/default/pods/single/log?container=other')).toEqual({
      status: 400,
      reason: 'BadRequest',
      message: 'container other is not valid for pod single',
    });
    expect(await answer('/api/v1/namespaces/default/pods/single/log?tailLines=-1')).toEqual({
      status: 422,
      reason: 'Invalid',
      message: 'PodLogOptions "single" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
    });
    expect(await answer('/api/v1/namespaces/default/pods/nope/log')).toEqual({ status: 404, reason: 'NotFound', message: 'pods "nope" not found' });
    expect(await answer('/api/v1/nodes/nope/proxy/healthz')).toEqual({ status: 404, reason: 'NotFound', message: 'nodes "nope" not found' });
    // node.ResourceLocation only proxies to global unicast addresses.
    expect(await answer('/api/v1/nodes/node-loopback/proxy/healthz')).toEqual({ status: 400, reason: 'BadRequest', message: 'address not allowed' });
    expect(await answer('/api/v1/nodes/node-bare/proxy/healthz')).toEqual({
      status: 500,
      reason: undefined,
      message: 'no preferred addresses found; known addresses: []',
    });
    // The kubelet's 404 for a container it does not know, through GenericHttpResponseChecker.
    await pod(seed, 'gone-pod', ['gone'], 'node-a');
    expect(await answer('/api/v1/namespaces/default/pods/gone-pod/log')).toEqual({
      status: 404,
      reason: 'NotFound',
      message: 'the server could not find the requested resource ( pods/log gone-pod)',
    });
    // A pod without a node has no log location yet: 204 and no body.
    const pending = await raw(seed.adminKubeconfig, 'GET', '/api/v1/namespaces/default/pods/pending/log');
    expect(pending.status).toBe(204);
    expect(pending.text).toBe('');
    expect((await raw(seed.adminKubeconfig, 'POST', '/api/v1/namespaces/default/pods/single/log', {})).status).toBe(405);
  });

  it('needs nodes/proxy and pods/log in RBAC like any subresource', async () => {
    const bob = await rbacSeed.userKubeconfig('bob');
    const proxy = await raw(bob, 'GET', '/api/v1/nodes/node-a/proxy/healthz');
    expect(proxy.status).toBe(403);
    expect(proxy.json.message).toBe('nodes "node-a" is forbidden: User "bob" cannot get resource "nodes/proxy" in API group "" at the cluster scope');
    const logs = await raw(bob, 'GET', '/api/v1/namespaces/default/pods/single/log');
    expect(logs.status).toBe(403);
    expect(logs.json.message).toBe('pods "single" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "default"');
  });

  it('goes through the konnectivity client for a GRPC selection, and fails with it: there is no direct fallback', async () => {
    const before = seen.length;
    const ok = await raw(grpcSeed.adminKubeconfig, 'GET', '/api/v1/nodes/node-a/proxy/healthz');
    expect(ok.status).toBe(200);
    expect(tunnelled.at(-1)).toEqual({ uds: '/etc/kubernetes/konnectivity-server/konnectivity-server.socket', host: NODE_IP, port: KUBELET_PORT });
    expect(seen.slice(before)).toEqual([{ url: '/healthz', client: KUBELET_CLIENT }]);
    const logs = await raw(grpcSeed.adminKubeconfig, 'GET', '/api/v1/namespaces/default/pods/single/log');
    expect(logs.text).toBe('log of default/single/app\n');

    await node(grpcSeed, 'node-elsewhere', [{ type: 'InternalIP', address: '100.64.9.9' }]);
    await pod(grpcSeed, 'elsewhere', ['app'], 'node-elsewhere');
    const broken = await raw(grpcSeed.adminKubeconfig, 'GET', '/api/v1/nodes/node-elsewhere/proxy/healthz');
    expect(broken.status).toBe(500);
    expect(broken.json.message).toBe('connection refused by the agent for 100.64.9.9:10250');
    const brokenLogs = await raw(grpcSeed.adminKubeconfig, 'GET', '/api/v1/namespaces/default/pods/elsewhere/log');
    expect(brokenLogs.status).toBe(500);
    expect(brokenLogs.json.message).toBe(
      'Get "https://100.64.9.9:10250/containerLogs/default/elsewhere/app": connection refused by the agent for 100.64.9.9:10250',
    );
  });

  it('fails when the egress proxy is gone instead of dialling the node directly', async () => {
    const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
    for (const connection of proxyConnections) connection.destroy();
    await closed;
    const before = seen.length;
    const response = await raw(seed.adminKubeconfig, 'GET', '/api/v1/nodes/node-a/proxy/healthz');
    expect(response.status).toBe(500);
    expect(response.json.message).toBe(`dial unix ${proxySocket}: connect: no such file or directory`);
    expect(seen.length).toBe(before);
  });
});

describe('--egress-selector-config-file', () => {
  const config = (apiVersion: string, selections: string[]): string =>
    [`apiVersion: ${apiVersion}`, 'kind: EgressSelectorConfiguration', 'egressSelections:', ...selections].join('\n');

  it('reads the selections the product writes, and v1beta1 `master` as controlplane', () => {
    expect(
      parseEgressSelectorConfiguration(
        config('apiserver.k8s.io/v1beta1', [
          '- name: cluster',
          '  connection:',
          '    proxyProtocol: GRPC',
          '    transport:',
          '      uds:',
          '        udsName: /etc/kubernetes/konnectivity-server/konnectivity-server.socket',
          '- name: master',
          '  connection:',
          '    proxyProtocol: Direct',
          '- name: etcd',
          '  connection:',
          '    proxyProtocol: Direct',
        ]),
      ),
    ).toEqual({
      cluster: { protocol: 'GRPC', udsName: '/etc/kubernetes/konnectivity-server/konnectivity-server.socket' },
      controlplane: { protocol: 'Direct' },
      etcd: { protocol: 'Direct' },
    });
  });

  it('refuses what the real apiserver refuses', () => {
    // apiserver.k8s.io/v1 has no EgressSelectorConfiguration (v1.37's scheme registers v1alpha1 and v1beta1).
    expect(() => parseEgressSelectorConfiguration(config('apiserver.k8s.io/v1', []))).toThrow(
      'no kind "EgressSelectorConfiguration" is registered for version "apiserver.k8s.io/v1"',
    );
    expect(() => parseEgressSelectorConfiguration(config('apiserver.k8s.io/v1beta1', ['- name: nodes', '  connection:', '    proxyProtocol: Direct']))).toThrow(
      'service.connection: Unsupported value: "nodes": supported values: "cluster", "controlplane", "etcd"',
    );
    expect(() => parseEgressSelectorConfiguration(config('apiserver.k8s.io/v1beta1', ['- name: cluster', '  connection:', '    proxyProtocol: GRPC']))).toThrow(
      'service.connection.transport: Required value: transport must be set for GRPC',
    );
    expect(() =>
      parseEgressSelectorConfiguration(
        config('apiserver.k8s.io/v1beta1', [
          '- name: cluster',
          '  connection:',
          '    proxyProtocol: GRPC',
          '    transport:',
          '      tcp:',
          '        url: http://x:1',
        ]),
      ),
    ).toThrow('service.connection.uds: Required value: UDS must be set with GRPC');
    expect(() =>
      parseEgressSelectorConfiguration(
        config('apiserver.k8s.io/v1beta1', [
          '- name: cluster',
          '  connection:',
          '    proxyProtocol: Direct',
          '- name: Cluster',
          '  connection:',
          '    proxyProtocol: Direct',
        ]),
      ),
    ).toThrow('service.connection[1]: Duplicate value: "cluster"');
    expect(() =>
      parseEgressSelectorConfiguration(
        config('apiserver.k8s.io/v1beta1', ['- name: cluster', '  connection:', '    proxyProtocol: Direct', '    udsName: /x']),
      ),
    ).toThrow('strict decoding error: unknown field "egressSelections[0].connection.udsName"');
  });
});
