// --egress-selector-config-file: how the apiserver reaches the `cluster` network (nodes, pods and
// services: the kubelet's port for logs and node proxy), the `controlplane` and `etcd`. kubesim
// honours the `cluster` selection; `controlplane` and `etcd` are validated and then dialled directly,
// which is what the product configures for them.
import { connect as connectTcp, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export type EgressSelectionName = 'cluster' | 'controlplane' | 'etcd';

export type EgressConnection =
  | { protocol: 'Direct' }
  | { protocol: 'GRPC'; udsName: string }
  | {
      protocol: 'HTTPConnect';
      transport: { uds: string } | { url: string; tls?: { caBundle?: string; clientCert: string; clientKey: string; serverName?: string } };
    };

export type EgressSelection = Partial<Record<EgressSelectionName, EgressConnection>>;

/** A byte stream to host:port on the selected network. */
export type NetworkDialer = (host: string, port: number) => Promise<Duplex>;

/** The grpc-mode konnectivity client, as services/sandbox/src/konnectivity exposes it. */
export type TunnelDialer = (udsPath: string, host: string, port: number, options?: { timeoutMs?: number }) => Promise<Duplex>;

export class EgressConfigError extends Error {}

/** The API versions whose scheme registers EgressSelectorConfiguration (apiserver.k8s.io/v1 does not). */
const KNOWN_VERSIONS = ['apiserver.k8s.io/v1alpha1', 'apiserver.k8s.io/v1beta1'];
const VALID_NAMES: EgressSelectionName[] = ['cluster', 'controlplane', 'etcd'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Strict decoding: the real decoder (serializer.EnableStrict) refuses fields its types do not have. */
function checkFields(value: Record<string, unknown>, allowed: string[], path: string, unknown: string[]): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) unknown.push(`unknown field "${path}${path ? '.' : ''}${key}"`);
}

/**
 * Reads an EgressSelectorConfiguration as ReadEgressSelectorConfiguration and
 * ValidateEgressSelectorConfiguration do: strict decoding, v1beta1's `master` renamed
 * `controlplane`, the protocol/transport rules, duplicate and unknown selection names.
 */
export function parseEgressSelectorConfiguration(text: string): EgressSelection {
  const documents = parseAllDocuments(text);
  const first = documents[0];
  if (!first || first.errors.length > 0) throw new EgressConfigError(`error converting YAML to JSON: ${first?.errors[0]?.message ?? 'empty document'}`);
  const raw: unknown = first.toJS();
  if (!isRecord(raw)) throw new EgressConfigError("Object 'Kind' is missing in the configuration");
  const apiVersion = typeof raw.apiVersion === 'string' ? raw.apiVersion : '';
  const kind = typeof raw.kind === 'string' ? raw.kind : '';
  if (!kind) throw new EgressConfigError(`Object 'Kind' is missing in '${text.trim()}'`);
  if (kind !== 'EgressSelectorConfiguration' || !KNOWN_VERSIONS.includes(apiVersion))
    throw new EgressConfigError(`no kind "${kind}" is registered for version "${apiVersion}" in scheme "pkg/server/egressselector/config.go"`);
  const unknown: string[] = [];
  checkFields(raw, ['apiVersion', 'kind', 'egressSelections'], '', unknown);
  const selections = Array.isArray(raw.egressSelections) ? (raw.egressSelections as unknown[]) : [];
  const problems: string[] = [];
  const parsed: Array<{ name: string; connection: EgressConnection | undefined }> = [];
  selections.forEach((entry, index) => {
    const at = `egressSelections[${index}]`;
    const selection = isRecord(entry) ? entry : {};
    checkFields(selection, ['name', 'connection'], at, unknown);
    let name = typeof selection.name === 'string' ? selection.name : '';
    if (apiVersion === 'apiserver.k8s.io/v1beta1' && name === 'master') name = 'controlplane';
    const connection = isRecord(selection.connection) ? selection.connection : {};
    checkFields(connection, ['proxyProtocol', 'transport'], `${at}.connection`, unknown);
    const transport = isRecord(connection.transport) ? connection.transport : undefined;
    if (transport) checkFields(transport, ['tcp', 'uds'], `${at}.connection.transport`, unknown);
    const uds = transport && isRecord(transport.uds) ? transport.uds : undefined;
    const tcp = transport && isRecord(transport.tcp) ? transport.tcp : undefined;
    if (uds) checkFields(uds, ['udsName'], `${at}.connection.transport.uds`, unknown);
    if (tcp) checkFields(tcp, ['url', 'tlsConfig'], `${at}.connection.transport.tcp`, unknown);
    const tlsConfig = tcp && isRecord(tcp.tlsConfig) ? tcp.tlsConfig : undefined;
    if (tlsConfig) checkFields(tlsConfig, ['caBundle', 'clientKey', 'clientCert', 'tlsServerName'], `${at}.connection.transport.tcp.tlsConfig`, unknown);
    const protocol = typeof connection.proxyProtocol === 'string' ? connection.proxyProtocol : '';
    const udsName = typeof uds?.udsName === 'string' ? uds.udsName : '';
    const field = 'service.connection';
    let result: EgressConnection | undefined;
    if (protocol === 'Direct') {
      if (transport) problems.push(`${field}.transport: Invalid value: "direct": config must be absent for direct connect`);
      else result = { protocol: 'Direct' };
    } else if (protocol === 'GRPC') {
      if (!transport) problems.push(`${field}.transport: Required value: transport must be set for GRPC`);
      else if (!uds) problems.push(`${field}.uds: Required value: UDS must be set with GRPC`);
      else if (!udsName) problems.push(`${field}.udsName: Invalid value: "nil": must be present for UDS connections`);
      else result = { protocol: 'GRPC', udsName };
    } else if (protocol === 'HTTPConnect') {
      if (!transport) problems.push(`${field}.transport: Required value: transport must be set for HTTPConnect`);
      else if (tcp && uds) problems.push(`${field}.tcp: Invalid value: "object": TCP and UDS cannot both be set`);
      else if (!tcp && !uds) problems.push(`${field}.tcp: Required value: One of TCP or UDS must be set`);
      else if (uds) {
        if (!udsName) problems.push(`${field}.udsName: Invalid value: "nil": must be present for UDS connections`);
        else result = { protocol: 'HTTPConnect', transport: { uds: udsName } };
      } else if (tcp) {
        const url = typeof tcp.url === 'string' ? tcp.url : '';
        if (url.startsWith('http://')) {
          if (tlsConfig) problems.push(`${field}.tlsConfig: Invalid value: "nil": config must not be present when using HTTP`);
          else result = { protocol: 'HTTPConnect', transport: { url } };
        } else if (url.startsWith('https://')) {
          const text = (key: string): string => (typeof tlsConfig?.[key] === 'string' ? tlsConfig[key] : '');
          if (!tlsConfig) problems.push(`${field}.tlsConfig: Required value: TLSConfig must be present when using HTTPS`);
          else if (!text('clientCert')) problems.push(`${field}.tlsConfig.clientCert: Invalid value: "nil": Using TLS requires clientCert`);
          else if (!text('clientKey')) problems.push(`${field}.tlsConfig.clientKey: Invalid value: "nil": Using TLS requires requires clientKey`);
          else
            result = {
              protocol: 'HTTPConnect',
              transport: {
                url,
                tls: {
                  clientCert: text('clientCert'),
                  clientKey: text('clientKey'),
                  ...(text('caBundle') ? { caBundle: text('caBundle') } : {}),
                  ...(text('tlsServerName') ? { serverName: text('tlsServerName') } : {}),
                },
              },
            };
        } else problems.push(`${field}.url: Invalid value: "${url}": supported connection protocols are http:// and https://`);
      }
    } else {
      problems.push(`${field}.protocol: Unsupported value: "${protocol}": supported values: "Direct", "HTTPConnect", "GRPC"`);
    }
    parsed.push({ name, connection: result });
  });
  if (unknown.length > 0) throw new EgressConfigError(`strict decoding error: ${unknown.join(', ')}`);
  const seen = new Set<string>();
  const selection: EgressSelection = {};
  parsed.forEach(({ name, connection }, index) => {
    const canonical = name.toLowerCase();
    if (seen.has(canonical)) {
      problems.push(`service.connection[${index}]: Duplicate value: "${canonical}"`);
      return;
    }
    seen.add(canonical);
    if (!(VALID_NAMES as string[]).includes(canonical)) {
      problems.push(`service.connection: Unsupported value: "${canonical}": supported values: "cluster", "controlplane", "etcd"`);
      return;
    }
    if (connection) selection[canonical as EgressSelectionName] = connection;
  });
  if (problems.length > 0)
    throw new EgressConfigError(`failed to validate egress selector configuration: ${problems.length === 1 ? problems[0] : `[${problems.join(', ')}]`}`);
  return selection;
}

function directDial(host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connectTcp({ host, port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** How Go's net package words a failed unix-socket dial. */
function unixDialErrorText(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const wording: Record<string, string> = { ENOENT: 'no such file or directory', ECONNREFUSED: 'connection refused', EACCES: 'permission denied' };
  return code && wording[code] ? `dial unix ${path}: connect: ${wording[code]}` : error instanceof Error ? error.message : String(error);
}

/** HTTP CONNECT through a proxy reached over `open`: the stream once the proxy answered 200. */
function httpConnect(open: () => Duplex, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const stream = open();
    const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      stream.off('data', onData);
      stream.off('error', reject);
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 200/.test(statusLine)) {
        stream.destroy();
        reject(new Error(`proxy error from ${target}: ${statusLine}`));
        return;
      }
      const rest = head.subarray(end + 4);
      stream.pause();
      if (rest.length > 0) stream.unshift(rest);
      resolve(stream);
    };
    stream.on('data', onData);
    stream.once('error', reject);
    stream.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

/**
 * The dialer for one selection. GRPC goes through `tunnel` (the konnectivity client), whose
 * failures are the request's answer: there is no fallback to a direct dial, as in the real one.
 */
export function dialerFor(connection: EgressConnection | undefined, tunnel: () => Promise<TunnelDialer>): NetworkDialer {
  if (!connection || connection.protocol === 'Direct') return directDial;
  if (connection.protocol === 'GRPC') {
    const udsName = connection.udsName;
    return async (host, port) => (await tunnel())(udsName, host, port);
  }
  const transport = connection.transport;
  if ('uds' in transport)
    return (host, port) =>
      httpConnect(() => connectTcp({ path: transport.uds }), host, port).catch((error: unknown) => {
        throw new Error(unixDialErrorText(error, transport.uds));
      });
  const url = new URL(transport.url);
  const proxyPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (!transport.tls) return (host, port) => httpConnect(() => connectTcp({ host: url.hostname, port: proxyPort }), host, port);
  const tls = transport.tls;
  return (host, port) =>
    httpConnect(
      () =>
        connectTls({
          host: url.hostname,
          port: proxyPort,
          servername: tls.serverName ?? url.hostname,
          cert: readFileSync(tls.clientCert),
          key: readFileSync(tls.clientKey),
          ...(tls.caBundle ? { ca: readFileSync(tls.caBundle) } : {}),
        }),
      host,
      port,
    );
}

/** services/sandbox/src/konnectivity, loaded when the first tunnelled dial needs it. */
export async function loadTunnelDialer(): Promise<TunnelDialer> {
  const path = '../../konnectivity/index.js';
  try {
    const module = (await import(path)) as { dialThroughTunnel?: TunnelDialer };
    if (typeof module.dialThroughTunnel !== 'function') throw new Error(`${path} does not export dialThroughTunnel`);
    return module.dialThroughTunnel;
  } catch (error) {
    throw new Error(`the konnectivity client is not available: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
