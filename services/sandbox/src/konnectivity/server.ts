// The proxy-server stand-in: the konnectivity server beside each kube-apiserver replica. The
// apiserver (frontend) opens one gRPC stream per connection on the unix socket; agents (backends)
// hold one TLS gRPC stream each on the agent port, authenticated by a TokenReview of their bound
// service-account token. The server picks an agent per dial by the proxy strategies and relays
// DATA and CLOSE by connection id. Same flags, same refusals, same readiness as the real binary.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node';
import { FlagError, KLOG_FLAGS, nonEmpty, parseFlags, type FlagSet, type ParsedFlags } from './flags.js';
import { BEARER_PREFIX, HEADER, klog, readPacket, services, splitHostPort, type Logger, type Packet, type ServerPacketStream } from './protocol.js';

export const PROXY_SERVER_FLAGS: FlagSet = {
  ...KLOG_FLAGS,
  'server-cert': { kind: 'string' },
  'server-key': { kind: 'string' },
  'server-ca-cert': { kind: 'string' },
  'cluster-cert': { kind: 'string' },
  'cluster-key': { kind: 'string' },
  'cluster-ca-cert': { kind: 'string' },
  mode: { kind: 'string', default: 'grpc' },
  'uds-name': { kind: 'string' },
  'delete-existing-uds-file': { kind: 'bool', default: 'true' },
  'server-port': { kind: 'int', default: '8090' },
  'server-bind-address': { kind: 'string' },
  'agent-port': { kind: 'int', default: '8091' },
  'agent-bind-address': { kind: 'string' },
  'admin-port': { kind: 'int', default: '8095' },
  'admin-bind-address': { kind: 'string', default: '127.0.0.1' },
  'health-port': { kind: 'int', default: '8092' },
  'health-bind-address': { kind: 'string' },
  'keepalive-time': { kind: 'duration', default: '1h' },
  'frontend-keepalive-time': { kind: 'duration', default: '1h' },
  'enable-profiling': { kind: 'bool' },
  'enable-contention-profiling': { kind: 'bool' },
  'server-id': { kind: 'string' },
  'server-count': { kind: 'int', default: '1' },
  'agent-namespace': { kind: 'string' },
  'agent-service-account': { kind: 'string' },
  kubeconfig: { kind: 'string' },
  'kubeconfig-qps': { kind: 'float' },
  'kubeconfig-burst': { kind: 'int' },
  'authentication-audience': { kind: 'string' },
  'proxy-strategies': { kind: 'string', default: 'default' },
  'cipher-suites': { kind: 'string' },
  'xfr-channel-size': { kind: 'int', default: '10' },
  'enable-lease-controller': { kind: 'bool' },
  'lease-namespace': { kind: 'string', default: 'kube-system' },
  'lease-label': { kind: 'string', default: 'k8s-app=konnectivity-server' },
  'kube-api-content-type': { kind: 'string' },
  'backend-dial-timeout': { kind: 'duration' },
  'graceful-shutdown-timeout': { kind: 'duration' },
  'tls-min-version': { kind: 'string' },
};

export type ProxyStrategy = 'default' | 'destHost' | 'defaultRoute';
const STRATEGIES: readonly ProxyStrategy[] = ['default', 'destHost', 'defaultRoute'];

export interface ProxyServerOptions {
  udsName: string;
  deleteExistingUdsFile: boolean;
  agentPort: number;
  agentBindAddress: string;
  clusterCertPem: Buffer;
  clusterKeyPem: Buffer;
  adminPort: number;
  adminBindAddress: string;
  healthPort: number;
  healthBindAddress: string;
  serverId: string;
  serverCount: number;
  keepaliveTimeMs: number;
  strategies: ProxyStrategy[];
  /** Unset: agents are not authenticated (the real server then wants a cluster CA instead). */
  authentication?: { namespace: string; serviceAccount: string; audience: string; kubeconfigPath: string };
}

/** Validates as the real ProxyRunOptions.Validate does, with its messages, for what we support. */
export function proxyServerOptions(args: string[], env: NodeJS.ProcessEnv = process.env): ProxyServerOptions {
  const flags = parseFlags(args, PROXY_SERVER_FLAGS);
  try {
    return validated(flags, env);
  } catch (error) {
    if (error instanceof FlagError) throw new FlagError(`failed to validate server options with ${error.message}`);
    throw error;
  }
}

function validated(flags: ParsedFlags, env: NodeJS.ProcessEnv): ProxyServerOptions {
  const fileOf = (flag: string, label: string): void => {
    const path = flags.string(flag);
    if (path && !existsSync(path)) throw new FlagError(`error checking ${label} ${path}, got stat ${path}: no such file or directory`);
  };
  fileOf('cluster-key', 'cluster key');
  fileOf('cluster-cert', 'cluster cert');
  if (flags.string('cluster-key') && !flags.string('cluster-cert'))
    throw new FlagError(`cannot have cluster cert empty when cluster key is set to "${flags.string('cluster-key')}"`);
  if (flags.string('cluster-cert') && !flags.string('cluster-key'))
    throw new FlagError(`cannot have cluster key empty when cluster cert is set to "${flags.string('cluster-cert')}"`);
  const mode = flags.string('mode');
  if (mode !== 'grpc' && mode !== 'http-connect') throw new FlagError(`mode must be set to either 'grpc' or 'http-connect' not "${mode}"`);
  const udsName = flags.string('uds-name');
  if (udsName) {
    if (flags.int('server-port') !== 0) throw new FlagError(`server port should be set to 0 not ${flags.int('server-port')} for UDS`);
    if (flags.string('server-key')) throw new FlagError('server key should not be set for UDS');
    if (flags.string('server-cert')) throw new FlagError('server cert should not be set for UDS');
    if (flags.string('server-ca-cert')) throw new FlagError('server ca cert should not be set for UDS');
  } else if (!flags.string('server-ca-cert')) {
    throw new FlagError('server ca cert must be set when in TCP mode (uds-name is empty)');
  }
  for (const [flag, label] of [
    ['server-port', 'server'],
    ['agent-port', 'agent'],
    ['admin-port', 'admin'],
    ['health-port', 'health'],
  ] as const) {
    const port = flags.int(flag);
    if (port > 49151) throw new FlagError(`please do not try to use ephemeral port ${port} for the ${label} port`);
    if (port < 1024 && !(flag === 'server-port' && udsName)) throw new FlagError(`please do not try to use reserved port ${port} for the ${label} port`);
  }
  if (flags.bool('enable-contention-profiling') && !flags.bool('enable-profiling')) {
    throw new FlagError('if --enable-contention-profiling is set, --enable-profiling must also be set');
  }
  const namespace = flags.string('agent-namespace');
  const serviceAccount = flags.string('agent-service-account');
  const audience = flags.string('authentication-audience');
  const kubeconfigPath = flags.string('kubeconfig');
  if (namespace || serviceAccount || audience) {
    if (flags.string('cluster-ca-cert')) throw new FlagError('--cluster-ca-cert can not be used when agent authentication is enabled');
    if (!namespace) throw new FlagError('--agent-namespace cannot be empty when agent authentication is enabled');
    if (!serviceAccount) throw new FlagError('--agent-service-account cannot be empty when agent authentication is enabled');
    if (!audience) throw new FlagError('--authentication-audience cannot be empty when agent authentication is enabled');
  }
  if (kubeconfigPath && !existsSync(kubeconfigPath))
    throw new FlagError(`checking KubeconfigPath "${kubeconfigPath}", got stat ${kubeconfigPath}: no such file or directory`);
  const strategies: ProxyStrategy[] = [];
  for (const name of flags.string('proxy-strategies').split(',')) {
    if (name === '') continue;
    const strategy = STRATEGIES.find((candidate) => candidate === name);
    if (!strategy) throw new FlagError(`invalid proxy strategies: unknown proxy strategy: ${name}`);
    strategies.push(strategy);
  }
  if (strategies.length === 0) throw new FlagError('ProxyStrategies cannot be empty');
  if (flags.int('xfr-channel-size') <= 0) throw new FlagError(`channel size ${flags.int('xfr-channel-size')} must be greater than 0`);
  // What the real binary supports and this stand-in does not: refused rather than half-served.
  if (mode !== 'grpc') throw new FlagError('the proxy-server stand-in serves --mode=grpc only');
  if (!udsName) throw new FlagError('the proxy-server stand-in serves its frontend on --uds-name only');
  if (!flags.string('cluster-cert')) throw new FlagError('the proxy-server stand-in needs --cluster-cert/--cluster-key: agents dial it with TLS');
  if (flags.string('cluster-ca-cert')) throw new FlagError('the proxy-server stand-in authenticates agents by token, not --cluster-ca-cert');
  if (kubeconfigPath === '' && namespace) throw new FlagError('the proxy-server stand-in needs --kubeconfig for the TokenReviews (no in-cluster config)');
  return {
    udsName,
    deleteExistingUdsFile: flags.bool('delete-existing-uds-file'),
    agentPort: flags.int('agent-port'),
    agentBindAddress: flags.string('agent-bind-address'),
    clusterCertPem: readFileSync(flags.string('cluster-cert')),
    clusterKeyPem: readFileSync(flags.string('cluster-key')),
    adminPort: flags.int('admin-port'),
    adminBindAddress: flags.string('admin-bind-address'),
    healthPort: flags.int('health-port'),
    healthBindAddress: flags.string('health-bind-address'),
    serverId: nonEmpty(flags.string('server-id')) ?? nonEmpty(env.PROXY_SERVER_ID) ?? randomUUID(),
    serverCount: flags.int('server-count'),
    keepaliveTimeMs: flags.durationMs('keepalive-time'),
    strategies,
    authentication: namespace ? { namespace, serviceAccount, audience, kubeconfigPath } : undefined,
  };
}

interface AgentIdentifiers {
  hosts: string[];
  defaultRoute: boolean;
}

/** `host=a&ipv4=10.0.0.1&default-route=true` (url-encoded, as the agents send them). */
export function parseAgentIdentifiers(text: string): AgentIdentifiers {
  const identifiers: AgentIdentifiers = { hosts: [], defaultRoute: false };
  for (const [type, value] of new URLSearchParams(text)) {
    if (type === 'host' || type === 'ipv4' || type === 'ipv6') identifiers.hosts.push(value);
    // Go's strconv.ParseBool, of the first entry only.
    else if (type === 'default-route' && !identifiers.defaultRoute) identifiers.defaultRoute = ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
  }
  return identifiers;
}

/** One agent's stream to this server. */
class Backend {
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    readonly agentId: string,
    readonly identifiers: AgentIdentifiers,
    private readonly stream: ServerPacketStream,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  send(packet: Packet): void {
    if (!this.stream.writable) return;
    this.stream.write(packet);
  }

  ended(): void {
    this.finish();
  }
}

/** Agents by key (agent id, or a host they serve), each key's first connection serving. */
class BackendStorage {
  private readonly byKey = new Map<string, Backend[]>();

  add(key: string, backend: Backend): void {
    const list = this.byKey.get(key) ?? [];
    if (!list.includes(backend)) list.push(backend);
    this.byKey.set(key, list);
  }

  remove(key: string, backend: Backend): void {
    const list = (this.byKey.get(key) ?? []).filter((candidate) => candidate !== backend);
    if (list.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, list);
  }

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Backend | undefined {
    return this.byKey.get(key)?.[0];
  }

  random(): Backend | undefined {
    const keys = [...this.byKey.keys()];
    if (keys.length === 0) return undefined;
    return this.get(keys[Math.floor(Math.random() * keys.length)]);
  }
}

/** What each strategy registers an agent under, and how it picks one for a destination host. */
class BackendManager {
  readonly storage = new BackendStorage();
  constructor(readonly strategy: ProxyStrategy) {}

  private keys(backend: Backend): string[] {
    switch (this.strategy) {
      case 'default':
        return [backend.agentId];
      case 'destHost':
        return backend.identifiers.hosts;
      case 'defaultRoute':
        return backend.identifiers.defaultRoute ? [backend.agentId] : [];
    }
  }

  add(backend: Backend): void {
    for (const key of this.keys(backend)) this.storage.add(key, backend);
  }

  remove(backend: Backend): void {
    for (const key of this.keys(backend)) this.storage.remove(key, backend);
  }

  pick(destinationHost: string): Backend | undefined {
    return this.strategy === 'destHost' ? this.storage.get(destinationHost) : this.storage.random();
  }
}

/** A frontend stream (one per tunnelled connection) once it has asked for a dial. */
interface Frontend {
  stream: ServerPacketStream;
  backend: Backend;
  dialId: string;
  address: string;
  connectId?: string;
}

export interface RunningProxyServer {
  close(): Promise<void>;
  /** The ids of the agents connected now. */
  agents(): string[];
}

export class ProxyServer implements RunningProxyServer {
  private readonly managers: BackendManager[];
  private readonly backends = new Set<Backend>();
  private readonly pendingDials = new Map<string, Frontend>();
  /** agent id → connect id → frontend. */
  private readonly established = new Map<string, Map<string, Frontend>>();
  private readonly frontendServer: grpc.Server;
  private readonly agentServer: grpc.Server;
  private readonly httpServers: HttpServer[] = [];
  private readonly reviewer: AuthenticationV1Api | undefined;

  constructor(
    private readonly options: ProxyServerOptions,
    private readonly log: Logger = klog,
  ) {
    this.managers = options.strategies.map((strategy) => new BackendManager(strategy));
    const definitions = services();
    this.frontendServer = new grpc.Server({ 'grpc.keepalive_time_ms': options.keepaliveTimeMs });
    this.frontendServer.addService(definitions.ProxyService.service, { Proxy: (stream: ServerPacketStream) => this.serveFrontend(stream) });
    this.agentServer = new grpc.Server({ 'grpc.keepalive_time_ms': options.keepaliveTimeMs });
    this.agentServer.addService(definitions.AgentService.service, { Connect: (stream: ServerPacketStream) => void this.serveAgent(stream) });
    if (options.authentication) {
      const config = new KubeConfig();
      config.loadFromFile(options.authentication.kubeconfigPath);
      this.reviewer = config.makeApiClient(AuthenticationV1Api);
    }
  }

  async start(): Promise<void> {
    const { options } = this;
    if (options.deleteExistingUdsFile) rmSync(options.udsName, { force: true });
    await bind(this.frontendServer, `unix:${options.udsName}`, grpc.ServerCredentials.createInsecure());
    const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.clusterCertPem, private_key: options.clusterKeyPem }], false);
    await bind(this.agentServer, hostPort(options.agentBindAddress || '0.0.0.0', options.agentPort), credentials);
    this.httpServers.push(await listen(options.healthPort, options.healthBindAddress, (request, response) => this.health(request, response)));
    this.httpServers.push(await listen(options.adminPort, options.adminBindAddress, (request, response) => this.admin(request, response)));
    this.log('I', 'Starting proxy-server stand-in', {
      serverID: options.serverId,
      serverCount: options.serverCount,
      udsName: options.udsName,
      agentPort: options.agentPort,
    });
  }

  agents(): string[] {
    return [...new Set([...this.backends].map((backend) => backend.agentId))];
  }

  /** Like the real server: ready once the first strategy's manager holds an agent. */
  private ready(): boolean {
    return (this.managers[0]?.storage.size ?? 0) > 0;
  }

  private health(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return void response.end('ok');
    if (path === '/readyz' || path === '/ready') {
      if (this.ready()) return void response.end('ok');
      response.statusCode = 500;
      return void response.end('no connection to any proxy agent');
    }
    if (path === '/metrics') return void response.end(this.metrics());
    response.statusCode = 404;
    response.end('404 page not found\n');
  }

  private admin(request: IncomingMessage, response: ServerResponse): void {
    if ((request.url ?? '/').split('?')[0] === '/metrics') return void response.end(this.metrics());
    response.statusCode = 404;
    response.end('404 page not found\n');
  }

  private metrics(): string {
    const established = [...this.established.values()].reduce((total, connections) => total + connections.size, 0);
    return [
      `konnectivity_network_proxy_server_ready_backend_connections ${this.backends.size}`,
      `konnectivity_network_proxy_server_established_connections ${established}`,
      `konnectivity_network_proxy_server_pending_backend_dials ${this.pendingDials.size}`,
      '',
    ].join('\n');
  }

  async close(): Promise<void> {
    for (const backend of this.backends) backend.ended();
    await Promise.all([shutdown(this.frontendServer), shutdown(this.agentServer), ...this.httpServers.map((server) => closeHttp(server))]);
    rmSync(this.options.udsName, { force: true });
  }

  // ---- agents ----

  private async serveAgent(stream: ServerPacketStream): Promise<void> {
    const ids = stream.metadata.get(HEADER.agentID).map(String);
    if (ids.length !== 1) {
      this.log('E', 'Invalid backend', { err: `expected one agent ID in the context, got ${JSON.stringify(ids)}` });
      return void stream.emit('error', grpcError(grpc.status.UNKNOWN, `expected one agent ID in the context, got ${JSON.stringify(ids)}`));
    }
    const agentId = ids[0];
    const identifierHeaders = stream.metadata.get(HEADER.agentIdentifiers).map(String);
    if (identifierHeaders.length > 1) {
      return void stream.emit(
        'error',
        grpcError(grpc.status.UNKNOWN, `expected at most one set of agent identifiers in the context, got ${JSON.stringify(identifierHeaders)}`),
      );
    }
    if (this.options.authentication) {
      try {
        await this.authenticate(stream.metadata);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.log('E', 'Client authentication failed', { err: message, agentID: agentId });
        return void stream.emit('error', grpcError(grpc.status.UNKNOWN, message));
      }
    }
    const header = new grpc.Metadata();
    header.set(HEADER.serverID, this.options.serverId);
    header.set(HEADER.serverCount, String(this.options.serverCount));
    stream.sendMetadata(header);
    const backend = new Backend(agentId, parseAgentIdentifiers(identifierHeaders[0] ?? ''), stream);
    this.log('I', 'Agent connected', { agentID: agentId, serverID: this.options.serverId });
    this.backends.add(backend);
    for (const manager of this.managers) manager.add(backend);
    const finished = (): void => {
      if (!this.backends.delete(backend)) return;
      for (const manager of this.managers) manager.remove(backend);
      backend.ended();
      this.log('I', 'Receive stream from agent is closed', { agentID: agentId });
      this.closeEstablishedOf(backend);
    };
    stream.on('data', (raw: unknown) => {
      const packet = readPacket(raw);
      if (packet) this.fromAgent(backend, packet);
    });
    stream.on('end', () => {
      finished();
      stream.end();
    });
    stream.on('error', finished);
    stream.on('cancelled', finished);
    stream.on('close', finished);
    await backend.done;
    if (stream.writable) stream.end();
  }

  private async authenticate(metadata: grpc.Metadata): Promise<void> {
    const authentication = this.options.authentication;
    if (!authentication || !this.reviewer) return;
    const values = metadata.get(HEADER.authorization).map(String);
    if (values.length === 0) throw new Error('Failed to validate authentication token, err:Authentication context was not found in metadata');
    if (values.length > 1) throw new Error(`too many (${values.length}) tokens are received`);
    if (!values[0].startsWith(BEARER_PREFIX)) throw new Error(`received token does not have "${BEARER_PREFIX}" prefix`);
    const token = values[0].slice(BEARER_PREFIX.length);
    const failed = (reason: string): Error => new Error(`Failed to validate authentication token, err:${reason}`);
    let review;
    try {
      review = await this.reviewer.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [authentication.audience] } },
      });
    } catch (error) {
      throw failed(`Failed to authenticate request. err:${error instanceof Error ? error.message : String(error)}`);
    }
    if (review.status?.error) throw failed(`lookup failed: ${review.status.error}`);
    if (!review.status?.authenticated) throw failed('lookup failed: service account jwt not valid');
    const parts = (review.status.user?.username ?? '').split(':');
    if (parts.length !== 4) throw failed('lookup failed: unexpected username format');
    if (parts[0] !== 'system' || parts[1] !== 'serviceaccount') throw failed('lookup failed: username returned is not a service account');
    if (parts[2] !== authentication.namespace)
      throw failed(`lookup failed: incoming request from "${parts[2]}" namespace. Expected "${authentication.namespace}"`);
    if (parts[3] !== authentication.serviceAccount) {
      throw failed(`lookup failed: incoming request from "${parts[3]}" service account. Expected "${authentication.serviceAccount}"`);
    }
  }

  private fromAgent(backend: Backend, packet: Packet): void {
    switch (packet.type) {
      case 'DIAL_RSP': {
        const { random, connectID, error } = packet.dialResponse;
        const frontend = this.pendingDials.get(random);
        this.pendingDials.delete(random);
        if (!frontend) {
          this.log('I', 'DIAL_RSP not recognized; dropped', { dialID: random, agentID: backend.agentId, connectionID: connectID });
          if (connectID !== '0') backend.send({ type: 'CLOSE_REQ', closeRequest: { connectID } });
          return;
        }
        sendTo(frontend.stream, packet);
        if (error) {
          this.log('E', 'DIAL_RSP contains failure', { err: error, dialID: random, agentID: backend.agentId });
          return;
        }
        frontend.connectId = connectID;
        const connections = this.established.get(backend.agentId) ?? new Map<string, Frontend>();
        connections.set(connectID, frontend);
        this.established.set(backend.agentId, connections);
        this.log('I', 'Proxy connection established', { dialID: random, connectionID: connectID, agentID: backend.agentId, dialAddress: frontend.address });
        return;
      }
      case 'DIAL_CLS': {
        const frontend = this.pendingDials.get(packet.closeDial.random);
        this.pendingDials.delete(packet.closeDial.random);
        if (frontend) sendTo(frontend.stream, packet);
        return;
      }
      case 'DATA': {
        const { connectID } = packet.data;
        if (connectID === '0') return;
        const frontend = this.established.get(backend.agentId)?.get(connectID);
        if (!frontend) {
          backend.send({ type: 'CLOSE_REQ', closeRequest: { connectID } });
          return;
        }
        sendTo(frontend.stream, packet);
        return;
      }
      case 'CLOSE_RSP': {
        const { connectID } = packet.closeResponse;
        const connections = this.established.get(backend.agentId);
        const frontend = connections?.get(connectID);
        if (!frontend || !connections) return;
        connections.delete(connectID);
        if (connections.size === 0) this.established.delete(backend.agentId);
        sendTo(frontend.stream, packet);
        return;
      }
      default:
        return;
    }
  }

  /** An agent went away: every connection it carried is closed towards the apiserver. */
  private closeEstablishedOf(backend: Backend): void {
    const connections = this.established.get(backend.agentId);
    if (!connections) return;
    for (const [connectId, frontend] of connections) {
      if (frontend.backend !== backend) continue;
      connections.delete(connectId);
      sendTo(frontend.stream, { type: 'CLOSE_RSP', closeResponse: { connectID: connectId, error: '' } });
    }
    if (connections.size === 0) this.established.delete(backend.agentId);
    for (const [dialId, frontend] of this.pendingDials) {
      if (frontend.backend === backend) this.pendingDials.delete(dialId);
    }
  }

  // ---- the apiserver ----

  private pickBackend(address: string): Backend | undefined {
    const host = splitHostPort(address)?.[0] ?? address;
    for (const manager of this.managers) {
      const backend = manager.pick(host);
      if (backend) return backend;
    }
    return undefined;
  }

  private serveFrontend(stream: ServerPacketStream): void {
    let frontend: Frontend | undefined;
    let serving = true;
    stream.on('data', (raw: unknown) => {
      const packet = readPacket(raw);
      if (!packet || !serving) return;
      switch (packet.type) {
        case 'DIAL_REQ': {
          const { random, address } = packet.dialRequest;
          const backend = this.pickBackend(address);
          if (!backend) {
            this.log('E', 'Failed to get a backend', { err: 'No agent available', dialID: random });
            sendTo(stream, { type: 'DIAL_RSP', dialResponse: { random, error: 'No agent available', connectID: '0' } });
            serving = false;
            return;
          }
          frontend = { stream, backend, dialId: random, address };
          this.pendingDials.set(random, frontend);
          backend.send(packet);
          return;
        }
        case 'DATA': {
          if (!frontend) {
            sendTo(stream, { type: 'CLOSE_RSP', closeResponse: { connectID: packet.data.connectID, error: 'backend not initialized' } });
            serving = false;
            return;
          }
          if (packet.data.connectID === '0') return;
          frontend.backend.send(packet);
          return;
        }
        case 'CLOSE_REQ': {
          if (!frontend) {
            sendTo(stream, { type: 'CLOSE_RSP', closeResponse: { connectID: packet.closeRequest.connectID, error: 'backend uninitialized' } });
            return;
          }
          frontend.backend.send(packet);
          serving = false;
          return;
        }
        case 'DIAL_CLS': {
          if (this.pendingDials.get(packet.closeDial.random) === frontend) this.pendingDials.delete(packet.closeDial.random);
          return;
        }
        default:
          return;
      }
    });
    // The apiserver hung up: whatever this stream still had open on an agent is closed there.
    const gone = (): void => {
      if (!frontend) return;
      const current = frontend;
      frontend = undefined;
      if (this.pendingDials.get(current.dialId) === current) {
        this.pendingDials.delete(current.dialId);
        current.backend.send({ type: 'DIAL_CLS', closeDial: { random: current.dialId } });
      }
      if (current.connectId !== undefined) {
        const connections = this.established.get(current.backend.agentId);
        if (connections?.get(current.connectId) === current) {
          connections.delete(current.connectId);
          if (connections.size === 0) this.established.delete(current.backend.agentId);
          current.backend.send({ type: 'CLOSE_REQ', closeRequest: { connectID: current.connectId } });
        }
      }
    };
    stream.on('end', () => {
      gone();
      if (stream.writable) stream.end();
    });
    stream.on('error', gone);
    stream.on('cancelled', gone);
    stream.on('close', gone);
  }
}

function sendTo(stream: ServerPacketStream, packet: Packet): void {
  if (stream.writable && !stream.destroyed) stream.write(packet);
}

function grpcError(code: grpc.status, details: string): Error & { code: grpc.status; details: string } {
  return Object.assign(new Error(details), { code, details });
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port))));
}

function shutdown(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function listen(port: number, host: string, handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    const ready = (): void => {
      server.off('error', reject);
      resolve(server);
    };
    if (host) server.listen(port, host, ready);
    else server.listen(port, ready);
  });
}

function closeHttp(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** The proxy-server stand-in from its command line (the flags of the real one). */
export async function startProxyServer(args: string[], log: Logger = klog): Promise<RunningProxyServer> {
  const server = new ProxyServer(proxyServerOptions(args), log);
  try {
    await server.start();
  } catch (error) {
    await server.close().catch(() => undefined);
    throw error;
  }
  return server;
}
