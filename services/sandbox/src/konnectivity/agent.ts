// The proxy-agent stand-in: on the node's side, it dials out to the konnectivity server (TLS,
// checked against the cluster CA) with its bound service-account token and keeps one stream per
// server, as many servers as the server count the servers announce (each replica has its own:
// the agent dials again through the same address until it has met every server id). Over each
// stream it opens the connections the server asks for, with `dial` (the node's network).
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createServer, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { FlagError, KLOG_FLAGS, nonEmpty, parseFlags, type FlagSet } from './flags.js';
import { HEADER, BEARER_PREFIX, joinHostPort, readPacket, services, silent, splitHostPort, type Logger, type Packet, type PacketStream } from './protocol.js';

export interface ProxyAgentOptions {
  serverHost: string;
  serverPort: number;
  caCertPem: string;
  /** The current token: read for every connection attempt (the kubelet rotates the file). */
  token: () => string;
  agentId: string;
  /** URL-encoded, as --agent-identifiers: `default-route=true`, `host=10.0.0.5&ipv4=10.0.0.5`. */
  identifiers?: string;
  healthPort?: number;
  healthHost?: string;
  /** How the node's network reaches host:port; net.connect by default. */
  dial?: (host: string, port: number) => Promise<Duplex>;
  log?: Logger;
  /** First retry after a failed or lost connection; doubles up to syncIntervalCapMs. */
  syncIntervalMs?: number;
  syncIntervalCapMs?: number;
}

export interface RunningProxyAgent {
  close(): Promise<void>;
  /** Connected to at least one server (what /readyz reports). */
  connected(): boolean;
}

/** The real proxy-agent's flags (v0.36.0 --help). */
export const PROXY_AGENT_FLAGS: FlagSet = {
  ...KLOG_FLAGS,
  'agent-cert': { kind: 'string' },
  'agent-key': { kind: 'string' },
  'ca-cert': { kind: 'string' },
  'proxy-server-host': { kind: 'string', default: '127.0.0.1' },
  'proxy-server-port': { kind: 'int', default: '8091' },
  'alpn-proto': { kind: 'string' },
  'health-server-host': { kind: 'string' },
  'health-server-port': { kind: 'int', default: '8093' },
  'admin-server-port': { kind: 'int', default: '8094' },
  'admin-bind-address': { kind: 'string', default: '127.0.0.1' },
  'enable-profiling': { kind: 'bool' },
  'enable-contention-profiling': { kind: 'bool' },
  'agent-id': { kind: 'string' },
  'sync-interval': { kind: 'duration', default: '1s' },
  'probe-interval': { kind: 'duration', default: '1s' },
  'sync-interval-cap': { kind: 'duration', default: '10s' },
  'keepalive-time': { kind: 'duration', default: '1h' },
  'service-account-token-path': { kind: 'string' },
  'agent-identifiers': { kind: 'string' },
  'warn-on-channel-limit': { kind: 'bool' },
  'sync-forever': { kind: 'bool' },
  'xfr-channel-size': { kind: 'int', default: '150' },
  'count-server-leases': { kind: 'bool' },
  'lease-namespace': { kind: 'string', default: 'kube-system' },
  'lease-label': { kind: 'string', default: 'k8s-app=konnectivity-server' },
  'server-count-source': { kind: 'string', default: 'default' },
  kubeconfig: { kind: 'string' },
  'kube-api-content-type': { kind: 'string' },
};

const IDENTIFIER_TYPES = new Set(['ipv4', 'ipv6', 'host', 'cidr', 'default-route']);

/** What a proxy-agent command line asks for; the files are the caller's to read (its filesystem). */
export interface ProxyAgentArguments {
  serverHost: string;
  serverPort: number;
  caCertPath: string;
  tokenPath: string;
  agentId: string;
  identifiers: string;
  healthPort: number;
  healthHost: string;
  syncIntervalMs: number;
  syncIntervalCapMs: number;
}

/**
 * A real proxy-agent command line (the DaemonSet's args, variables already expanded) for
 * startProxyAgent. Refuses unknown flags, and what the stand-in does not do (client certificates).
 */
export function proxyAgentArguments(args: string[], env: NodeJS.ProcessEnv = process.env): ProxyAgentArguments {
  const flags = parseFlags(args, PROXY_AGENT_FLAGS);
  const caCertPath = flags.string('ca-cert');
  if (!caCertPath) throw new FlagError('the proxy-agent stand-in needs --ca-cert: it dials the server with TLS');
  if (flags.string('agent-cert') || flags.string('agent-key'))
    throw new FlagError('the proxy-agent stand-in authenticates by --service-account-token-path, not client certificates');
  const tokenPath = flags.string('service-account-token-path');
  if (!tokenPath) throw new FlagError('the proxy-agent stand-in needs --service-account-token-path');
  const identifiers = flags.string('agent-identifiers');
  for (const [type] of new URLSearchParams(identifiers)) {
    if (!IDENTIFIER_TYPES.has(type)) throw new FlagError(`agent address is invalid: unknown identifier type: ${type}`);
  }
  return {
    serverHost: flags.string('proxy-server-host'),
    serverPort: flags.int('proxy-server-port'),
    caCertPath,
    tokenPath,
    agentId: nonEmpty(flags.string('agent-id')) ?? nonEmpty(env.PROXY_AGENT_ID) ?? randomUUID(),
    identifiers,
    healthPort: flags.int('health-server-port'),
    healthHost: flags.string('health-server-host'),
    syncIntervalMs: flags.durationMs('sync-interval'),
    syncIntervalCapMs: flags.durationMs('sync-interval-cap'),
  };
}

const DIAL_TIMEOUT_MS = 5_000;

function tcpDial(host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`dial tcp ${joinHostPort(host, port)}: i/o timeout`)), DIAL_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** One stream to one server, and the connections it carries. */
class ServerConnection {
  private nextConnectId = 0;
  private readonly connections = new Map<string, Duplex>();
  serverId = '';
  serverCount = 1;

  constructor(
    readonly stream: PacketStream,
    private readonly client: grpc.Client,
    private readonly dial: (host: string, port: number) => Promise<Duplex>,
    private readonly log: Logger,
  ) {}

  serve(): void {
    this.stream.on('data', (raw: unknown) => {
      const packet = readPacket(raw);
      if (packet) this.handle(packet);
    });
  }

  private send(packet: Packet): void {
    if (this.stream.writable) this.stream.write(packet);
  }

  private handle(packet: Packet): void {
    switch (packet.type) {
      case 'DIAL_REQ': {
        const { random, address } = packet.dialRequest;
        this.nextConnectId += 1;
        const connectId = String(this.nextConnectId);
        const target = splitHostPort(address);
        if (packet.dialRequest.protocol !== 'tcp' || !target) {
          this.send({
            type: 'DIAL_RSP',
            dialResponse: { random, connectID: '0', error: `dial ${packet.dialRequest.protocol} ${address}: unknown network or address` },
          });
          return;
        }
        this.dial(target[0], target[1]).then(
          (socket) => this.established(random, connectId, address, socket),
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            this.log('I', 'error dialing backend', { error: message, dialID: random, connectionID: connectId, dialAddress: address });
            this.send({ type: 'DIAL_RSP', dialResponse: { random, connectID: '0', error: message } });
          },
        );
        return;
      }
      case 'DATA': {
        const { connectID, data } = packet.data;
        if (connectID === '0') return;
        const socket = this.connections.get(connectID);
        if (!socket) {
          this.send({ type: 'CLOSE_RSP', closeResponse: { connectID, error: 'unrecognized connectID' } });
          return;
        }
        socket.write(data);
        return;
      }
      case 'CLOSE_REQ': {
        const { connectID } = packet.closeRequest;
        const socket = this.connections.get(connectID);
        if (!socket) {
          this.send({ type: 'CLOSE_RSP', closeResponse: { connectID, error: 'Unknown connectID' } });
          return;
        }
        socket.destroy();
        return;
      }
      default:
        return;
    }
  }

  private established(random: string, connectId: string, address: string, socket: Duplex): void {
    if (!this.stream.writable) {
      socket.destroy();
      return;
    }
    this.connections.set(connectId, socket);
    this.log('I', 'Endpoint connection established', { dialID: random, connectionID: connectId, dialAddress: address });
    this.send({ type: 'DIAL_RSP', dialResponse: { random, connectID: connectId, error: '' } });
    socket.on('data', (chunk: Buffer) => this.send({ type: 'DATA', data: { connectID: connectId, error: '', data: chunk } }));
    // Either side ending ends the connection, and the server hears of it once, by a CLOSE_RSP.
    const closed = (): void => {
      if (!this.connections.delete(connectId)) return;
      this.send({ type: 'CLOSE_RSP', closeResponse: { connectID: connectId, error: '' } });
      socket.destroy();
    };
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('error', closed);
  }

  close(): void {
    for (const socket of this.connections.values()) socket.destroy();
    this.connections.clear();
    this.stream.cancel();
    this.client.close();
  }
}

export class ProxyAgent implements RunningProxyAgent {
  private readonly servers = new Map<string, ServerConnection>();
  private health: HttpServer | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private attempt: Promise<void> | undefined;
  /** The most servers any of them announced: the agent wants a stream to each. */
  private wanted = 1;
  private readonly log: Logger;
  private readonly dial: (host: string, port: number) => Promise<Duplex>;

  constructor(private readonly options: ProxyAgentOptions) {
    this.log = options.log ?? silent;
    this.dial = options.dial ?? tcpDial;
    this.backoffMs = options.syncIntervalMs ?? 1000;
  }

  connected(): boolean {
    return this.servers.size > 0;
  }

  async start(): Promise<void> {
    if (this.options.healthPort !== undefined) {
      const server = createServer((request, response) => {
        const path = (request.url ?? '/').split('?')[0];
        if (path === '/healthz') return void response.end('ok');
        if (path === '/readyz') {
          if (this.connected()) return void response.end('ok');
          response.statusCode = 503;
          return void response.end('[+]ping ok\n[-]server-connected failed: no servers connected\n');
        }
        response.statusCode = 404;
        response.end('404 page not found\n');
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.healthPort, this.options.healthHost === '' ? undefined : this.options.healthHost, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.health = server;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt = this.sync().finally(() => (this.attempt = undefined));
    }, delayMs);
  }

  /** Connects once more when short of servers; then waits, longer after each failure. */
  private async sync(): Promise<void> {
    if (this.stopped) return;
    if (this.servers.size >= this.wanted) return;
    const interval = this.options.syncIntervalMs ?? 1000;
    const cap = this.options.syncIntervalCapMs ?? 10_000;
    try {
      await this.connectOnce();
      this.backoffMs = interval;
    } catch (error) {
      this.log('E', 'cannot connect once', { err: error instanceof Error ? error.message : String(error), serverAddress: this.address });
      this.backoffMs = Math.min(this.backoffMs * 2, cap);
    }
    if (this.servers.size < this.wanted) this.schedule(this.backoffMs);
  }

  private get address(): string {
    return joinHostPort(this.options.serverHost, this.options.serverPort);
  }

  private connectOnce(): Promise<void> {
    const { AgentService } = services();
    const credentials = grpc.credentials.createSsl(Buffer.from(this.options.caCertPem));
    const client = new AgentService(this.address, credentials);
    const metadata = new grpc.Metadata();
    metadata.set(HEADER.agentID, this.options.agentId);
    metadata.set(HEADER.agentIdentifiers, this.options.identifiers ?? '');
    metadata.set(HEADER.authorization, `${BEARER_PREFIX}${this.options.token()}`);
    const stream = (client as unknown as { Connect(metadata: grpc.Metadata): PacketStream }).Connect(metadata);
    const connection = new ServerConnection(stream, client, this.dial, this.log);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        connection.close();
        reject(error);
      };
      stream.once('metadata', (header: grpc.Metadata) => {
        const serverIds = header.get(HEADER.serverID).map(String);
        const counts = header.get(HEADER.serverCount).map(String);
        if (serverIds.length !== 1) return fail(new Error(`expected one server ID in the context, got ${JSON.stringify(serverIds)}`));
        if (counts.length !== 1 || !/^\d+$/.test(counts[0])) return fail(new Error(`expected one server count, got ${counts.length}`));
        settled = true;
        connection.serverId = serverIds[0];
        connection.serverCount = Number(counts[0]);
        this.wanted = Math.max(this.wanted, connection.serverCount);
        if (this.servers.has(connection.serverId)) {
          // Through the same address, the balancer led us to a server we already hold.
          connection.close();
          return resolve();
        }
        this.servers.set(connection.serverId, connection);
        this.log('I', 'Connect to server', { serverID: connection.serverId });
        connection.serve();
        const lost = (): void => {
          if (this.servers.get(connection.serverId) !== connection) return;
          this.servers.delete(connection.serverId);
          connection.close();
          this.log('I', 'lost the connection to the server', { serverID: connection.serverId });
          this.schedule(this.options.syncIntervalMs ?? 1000);
        };
        stream.on('error', lost);
        stream.on('end', lost);
        stream.on('close', lost);
        resolve();
      });
      stream.once('error', fail);
      stream.once('end', () => fail(new Error('the server closed the stream before its headers')));
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.attempt?.catch(() => undefined);
    for (const connection of this.servers.values()) connection.close();
    this.servers.clear();
    const health = this.health;
    if (health) {
      health.closeAllConnections();
      await new Promise<void>((resolve) => health.close(() => resolve()));
    }
  }
}

export async function startProxyAgent(options: ProxyAgentOptions): Promise<RunningProxyAgent> {
  const agent = new ProxyAgent({ ...options, agentId: options.agentId || randomUUID() });
  await agent.start();
  return agent;
}
