// The konnectivity wire protocol (konnectivity.proto) loaded for @grpc/grpc-js, with the
// metadata keys and the facts the real binaries agree on. int64 ids travel as decimal strings:
// the frontend's dial ids are random 63-bit numbers, which a JS number would round.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export type PacketType = 'DIAL_REQ' | 'DIAL_RSP' | 'CLOSE_REQ' | 'CLOSE_RSP' | 'DATA' | 'DIAL_CLS' | 'DRAIN';

export interface DialRequest {
  protocol: string;
  address: string;
  random: string;
}
export interface DialResponse {
  error: string;
  connectID: string;
  random: string;
}
export interface CloseRequest {
  connectID: string;
}
export interface CloseResponse {
  error: string;
  connectID: string;
}
export interface CloseDial {
  random: string;
}
export interface Data {
  connectID: string;
  error: string;
  data: Buffer;
}

/** One packet as it is written: the type and the one payload that goes with it. */
export type Packet =
  | { type: 'DIAL_REQ'; dialRequest: DialRequest }
  | { type: 'DIAL_RSP'; dialResponse: DialResponse }
  | { type: 'CLOSE_REQ'; closeRequest: CloseRequest }
  | { type: 'CLOSE_RSP'; closeResponse: CloseResponse }
  | { type: 'DATA'; data: Data }
  | { type: 'DIAL_CLS'; closeDial: CloseDial }
  | { type: 'DRAIN'; drain: Record<string, never> };

/** Metadata keys (proto/header in apiserver-network-proxy). */
export const HEADER = {
  agentID: 'agentid',
  agentIdentifiers: 'agentidentifiers',
  serverID: 'serverid',
  serverCount: 'servercount',
  authorization: 'authorization',
} as const;
export const BEARER_PREFIX = 'Bearer ';

export type PacketStream = grpc.ClientDuplexStream<Packet, Packet>;
export type ServerPacketStream = grpc.ServerDuplexStream<Packet, Packet>;

interface ServiceDefinitions {
  ProxyService: grpc.ServiceClientConstructor;
  AgentService: grpc.ServiceClientConstructor;
}

let loaded: ServiceDefinitions | undefined;

/**
 * The .proto sits beside this module: in the source tree, and in dist/ where the build copies it.
 * A dist module whose copy is missing (an older build script) falls back to the sources.
 */
function protoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'konnectivity.proto');
  if (existsSync(beside)) return beside;
  const sources = resolve(here, '../../../../../services/sandbox/src/konnectivity/konnectivity.proto');
  if (existsSync(sources)) return sources;
  throw new Error(`konnectivity.proto is neither at ${beside} nor at ${sources}`);
}

function isServiceConstructor(value: unknown): value is grpc.ServiceClientConstructor {
  return typeof value === 'function' && 'service' in value;
}

export function services(): ServiceDefinitions {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(protoPath(), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const root = grpc.loadPackageDefinition(definition);
  const { ProxyService, AgentService } = root;
  if (!isServiceConstructor(ProxyService) || !isServiceConstructor(AgentService)) throw new Error('konnectivity.proto lacks ProxyService or AgentService');
  loaded = { ProxyService, AgentService };
  return loaded;
}

/**
 * A decoded packet's payload for its type; undefined when the sender set another one (a packet
 * the receiver must ignore, as the real peers do for unrecognised packets).
 */
export function readPacket(raw: unknown): Packet | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const record = raw as Record<string, unknown>;
  const payload = (key: string): Record<string, unknown> | undefined => {
    const value = record[key];
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  };
  const text = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? String(value) : '');
  const id = (value: unknown): string => text(value) || '0';
  switch (record.type) {
    case 'DIAL_REQ': {
      const body = payload('dialRequest');
      return body && { type: 'DIAL_REQ', dialRequest: { protocol: text(body.protocol), address: text(body.address), random: id(body.random) } };
    }
    case 'DIAL_RSP': {
      const body = payload('dialResponse');
      return body && { type: 'DIAL_RSP', dialResponse: { error: text(body.error), connectID: id(body.connectID), random: id(body.random) } };
    }
    case 'CLOSE_REQ': {
      const body = payload('closeRequest');
      return body && { type: 'CLOSE_REQ', closeRequest: { connectID: id(body.connectID) } };
    }
    case 'CLOSE_RSP': {
      const body = payload('closeResponse');
      return body && { type: 'CLOSE_RSP', closeResponse: { error: text(body.error), connectID: id(body.connectID) } };
    }
    case 'DATA': {
      const body = payload('data');
      const bytes = body?.data;
      return body && { type: 'DATA', data: { connectID: id(body.connectID), error: text(body.error), data: Buffer.isBuffer(bytes) ? bytes : Buffer.alloc(0) } };
    }
    case 'DIAL_CLS': {
      const body = payload('closeDial');
      return body && { type: 'DIAL_CLS', closeDial: { random: id(body.random) } };
    }
    case 'DRAIN':
      return { type: 'DRAIN', drain: {} };
    default:
      return undefined;
  }
}

/** A random positive int64, as the konnectivity-client picks dial ids. */
export function randomDialId(): string {
  const high = BigInt(Math.floor(Math.random() * 0x7fffffff));
  const low = BigInt(Math.floor(Math.random() * 0x100000000));
  const value = (high << 32n) | low;
  return (value === 0n ? 1n : value).toString();
}

/** `host:port` → [host, port]; IPv6 hosts are bracketed, as Go's net.JoinHostPort writes them. */
export function splitHostPort(address: string): [string, number] | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(address);
  const plain = /^([^:]+):(\d+)$/.exec(address);
  const match = bracketed ?? plain;
  if (!match) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65536 ? [match[1], port] : undefined;
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export type LogFields = Record<string, string | number | boolean | undefined>;
export type Logger = (severity: 'I' | 'W' | 'E', message: string, fields?: LogFields) => void;

export const silent: Logger = () => undefined;

/** klog's text format, closely enough that log assertions on the real binaries hold for ours. */
export const klog: Logger = (severity, message, fields = {}) => {
  const now = new Date();
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  const stamp = `${pad(now.getMonth() + 1)}${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds() * 1000, 6)}`;
  const rendered = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
    .join('');
  process.stderr.write(`${severity}${stamp} ${pad(process.pid, 7)} konnectivity] ${JSON.stringify(message)}${rendered}\n`);
};
