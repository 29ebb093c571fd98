// The apiserver's requests to kubelets: `nodes/{name}/proxy/{path}` (pkg/registry/core/node/rest
// ProxyREST) and `pods/{name}/log` (pod/rest LogREST), over HTTPS with the kubelet client
// certificate, dialled through the `cluster` egress selection.
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { KubeObject } from '../contracts.js';
import { findResourceByPlural, type ResourceInfo } from '../registry/resources.js';
import { ApiError, errors } from './errors.js';
import type { NetworkDialer } from './egress.js';
import type { ObjectStore } from './store.js';

export interface KubeletClientOptions {
  /** --kubelet-client-certificate / --kubelet-client-key (PEM). */
  clientCertPem?: string;
  clientKeyPem?: string;
  /** --kubelet-certificate-authority (PEM): without it the kubelet's serving certificate is not verified. */
  certificateAuthorityPem?: string;
  /** --kubelet-preferred-address-types. */
  preferredAddressTypes?: string[];
  /** --kubelet-port: used when the Node reports no daemon endpoint. */
  port?: number;
  /** How the apiserver reaches the cluster network (the `cluster` egress selection). */
  dial: NetworkDialer;
}

/** kube-apiserver's default --kubelet-preferred-address-types. */
export const DEFAULT_PREFERRED_ADDRESS_TYPES = ['Hostname', 'InternalDNS', 'InternalIP', 'ExternalDNS', 'ExternalIP'];

/** A Go-style error that becomes a Status without a reason (ErrorToAPIStatus' default case). */
function unknownStatus(message: string): ApiError {
  return new ApiError(500, '', message);
}

/** How Go's net package words a failed dial, which is what the real apiserver shows. */
function dialErrorText(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const address = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const wording: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
    ETIMEDOUT: 'i/o timeout',
    ECONNRESET: 'read: connection reset by peer',
  };
  if (code && wording[code]) return `dial tcp ${address}: ${wording[code]}`;
  return error instanceof Error ? error.message : String(error);
}

/** net.IP.IsGlobalUnicast, as node.ResourceLocation's isProxyableHostname applies it. */
export function isGlobalUnicast(address: string): boolean {
  if (isIP(address) === 4) {
    const [a, b] = address.split('.').map(Number) as [number, number, number, number];
    if (address === '0.0.0.0' || address === '255.255.255.255') return false;
    if (a === 127) return false;
    if (a >= 224 && a < 240) return false;
    return !(a === 169 && b === 254);
  }
  if (isIP(address) === 6) {
    const lower = address.toLowerCase();
    if (lower === '::' || lower === '::1') return false;
    if (lower.startsWith('ff')) return false;
    if (/^fe[89ab]/.test(lower)) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    return mapped ? isGlobalUnicast(mapped[1]) : true;
  }
  return false;
}

async function proxyableHostname(hostname: string): Promise<void> {
  let addresses: string[];
  if (isIP(hostname)) addresses = [hostname];
  else {
    try {
      addresses = (await lookup(hostname, { all: true })).map((entry) => entry.address);
    } catch {
      throw errors.badRequest(`lookup ${hostname}: no such host`);
    }
  }
  if (addresses.length === 0) throw errors.badRequest('no addresses for hostname');
  if (addresses.some((address) => !isGlobalUnicast(address))) throw errors.badRequest('address not allowed');
}

/** utilnet.SplitSchemeNamePort: `name`, `name:port` or `scheme:name:port`. */
function splitSchemeNamePort(id: string): { scheme: string; name: string; port: string } | undefined {
  const parts = id.split(':');
  if (parts.length > 3) return undefined;
  const [scheme, name, port] = parts.length === 3 ? parts : parts.length === 2 ? ['', ...parts] : ['', parts[0], ''];
  if (!name || (scheme !== '' && scheme !== 'http' && scheme !== 'https')) return undefined;
  return { scheme: scheme ?? '', name, port: port ?? '' };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    // The authentication filter removes the caller's credentials before any handler runs.
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'authorization' || name === 'host' || name.startsWith('impersonate-')) continue;
    out[name] = value;
  }
  return out;
}

interface LogOptions {
  container: string;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  sinceSeconds?: number;
  sinceTime?: string;
  tailLines?: number;
  limitBytes?: number;
  insecureSkipTLSVerifyBackend: boolean;
}

function parseBool(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', ''].includes(value)) return false;
  throw errors.badRequest(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

function parseInt64(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (!/^[+-]?\d+$/.test(value)) throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number(value);
}

/** PodLogOptions from the query, decoded and validated as LogREST.Get does (PodLogsQuerySplitStreams is off). */
function logOptions(query: URLSearchParams, podName: string): LogOptions {
  const options: LogOptions = {
    container: query.get('container') ?? '',
    follow: parseBool(query, 'follow'),
    previous: parseBool(query, 'previous'),
    timestamps: parseBool(query, 'timestamps'),
    insecureSkipTLSVerifyBackend: parseBool(query, 'insecureSkipTLSVerifyBackend'),
  };
  const sinceSeconds = parseInt64(query, 'sinceSeconds');
  const tailLines = parseInt64(query, 'tailLines');
  const limitBytes = parseInt64(query, 'limitBytes');
  const sinceTime = query.get('sinceTime') ?? undefined;
  if (sinceTime !== undefined && Number.isNaN(Date.parse(sinceTime)))
    throw errors.badRequest(`parsing time ${JSON.stringify(sinceTime)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(sinceTime)} as "2006"`);
  const causes: Array<{ type: string; field: string; message: string }> = [];
  if (tailLines !== undefined && tailLines < 0)
    causes.push({ type: 'FieldValueInvalid', field: 'tailLines', message: `Invalid value: ${tailLines}: must be greater than or equal to 0` });
  if (limitBytes !== undefined && limitBytes < 1)
    causes.push({ type: 'FieldValueInvalid', field: 'limitBytes', message: `Invalid value: ${limitBytes}: must be greater than 0` });
  if (sinceSeconds !== undefined && sinceTime !== undefined)
    causes.push({ type: 'FieldValueForbidden', field: '', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified' });
  else if (sinceSeconds !== undefined && sinceSeconds < 1)
    causes.push({ type: 'FieldValueInvalid', field: 'sinceSeconds', message: `Invalid value: ${sinceSeconds}: must be greater than 0` });
  if (query.has('stream')) causes.push({ type: 'FieldValueForbidden', field: 'stream', message: 'Forbidden: may not be specified' });
  if (causes.length > 0) throw errors.invalid('', 'PodLogOptions', podName, causes);
  return {
    ...options,
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTime !== undefined ? { sinceTime: new Date(sinceTime).toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

interface PodSpecView {
  nodeName?: string;
  containers?: Array<{ name: string }>;
  initContainers?: Array<{ name: string }>;
  ephemeralContainers?: Array<{ name: string }>;
}

/** validateContainer: the named container must exist; without a name the pod must have exactly one. */
function containerFor(pod: KubeObject, requested: string): string {
  const spec = (pod.spec ?? {}) as PodSpecView;
  const name = pod.metadata.name ?? '';
  const containers = spec.containers ?? [];
  if (requested === '') {
    if (containers.length === 1) return containers[0].name;
    if (containers.length === 0) throw errors.badRequest(`a container name must be specified for pod ${name}`);
    const all = [...(spec.initContainers ?? []), ...containers, ...(spec.ephemeralContainers ?? [])].map((container) => container.name);
    throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.join(' ')}]`);
  }
  const known = [...containers, ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])].some((container) => container.name === requested);
  if (!known) throw errors.badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** GenericHttpResponseChecker: a kubelet answer outside 200-206 becomes the request's error. */
function checkedKubeletError(status: number, body: string, podName: string): ApiError {
  if (status === 500) return errors.internal(body);
  if (status === 400) return errors.badRequest(body);
  const details = { name: podName, kind: 'pods/log' };
  const reasons: Record<number, [string, string]> = {
    404: ['NotFound', 'the server could not find the requested resource'],
    401: ['Unauthorized', 'the server has asked for the client to provide credentials'],
    403: ['Forbidden', body],
    405: ['MethodNotAllowed', 'the server does not allow this method on the requested resource'],
    503: ['ServiceUnavailable', 'the server is currently unable to handle the request'],
  };
  const [reason, message] =
    reasons[status] ??
    (status >= 500
      ? ['InternalError', `an error on the server (${JSON.stringify(body)}) has prevented the request from succeeding`]
      : ['', `the server responded with the status code ${status} but did not return more information`]);
  return new ApiError(status, reason, `${message} ( pods/log ${podName})`, details);
}

export class KubeletClient {
  private readonly preferred: string[];

  constructor(
    private readonly store: ObjectStore,
    private readonly options: KubeletClientOptions,
  ) {
    this.preferred = options.preferredAddressTypes ?? DEFAULT_PREFERRED_ADDRESS_TYPES;
  }

  /** NodeConnectionInfoGetter: the preferred address and the kubelet-reported port. */
  private async connectionInfo(nodeName: string): Promise<{ host: string; port: number }> {
    const nodes = findResourceByPlural('', 'nodes') as ResourceInfo;
    const node = await this.store.read(nodes, undefined, nodeName);
    const status = (node.status ?? {}) as { addresses?: Array<{ type?: string; address?: string }>; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
    const addresses = status.addresses ?? [];
    let host: string | undefined;
    for (const type of this.preferred) {
      host = addresses.find((address) => address.type === type)?.address;
      if (host !== undefined) break;
    }
    if (host === undefined)
      throw unknownStatus(
        `no preferred addresses found; known addresses: [${addresses.map((address) => `{${address.type ?? ''} ${address.address ?? ''}}`).join(' ')}]`,
      );
    const reported = status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
    return { host, port: reported > 0 ? reported : (this.options.port ?? 10250) };
  }

  /** A connection to host:port, TLS with the kubelet client certificate when `tls`. */
  private async open(host: string, port: number, tls: { clientCertificate: boolean; verify: boolean } | undefined): Promise<Duplex> {
    let stream: Duplex;
    try {
      stream = await this.options.dial(host, port);
    } catch (error) {
      throw new KubeletDialError(dialErrorText(error, host, port));
    }
    if (!tls) return stream;
    return new Promise<TLSSocket>((resolve, reject) => {
      const socket = connectTls({
        socket: stream,
        ...(isIP(host) ? {} : { servername: host }),
        ...(tls.clientCertificate && this.options.clientCertPem && this.options.clientKeyPem
          ? { cert: this.options.clientCertPem, key: this.options.clientKeyPem }
          : {}),
        ...(tls.verify && this.options.certificateAuthorityPem ? { ca: this.options.certificateAuthorityPem } : {}),
        rejectUnauthorized: tls.verify && this.options.certificateAuthorityPem !== undefined,
        ...(tls.verify && this.options.certificateAuthorityPem ? { host } : {}),
      });
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        resolve(socket);
      });
      const onError = (error: Error): void => {
        stream.destroy();
        reject(new KubeletDialError(error.message.includes('certificate') ? `tls: failed to verify certificate: x509: ${error.message}` : error.message));
      };
      socket.once('error', onError);
    });
  }

  /** One request over a fresh connection; the response streams back to the caller. */
  private send(
    socket: Duplex,
    method: string,
    host: string,
    port: number,
    path: string,
    headers: Record<string, string | string[]>,
    body?: Buffer,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const request = httpRequest({
        method,
        host,
        port,
        path,
        headers: { ...headers, host: `${isIP(host) === 6 ? `[${host}]` : host}:${port}` },
        createConnection: () => socket,
      });
      request.once('response', resolve);
      request.once('error', reject);
      request.end(body);
    });
  }

  /** GET/POST/… /api/v1/nodes/{id}/proxy/{path}: the kubelet's answer, as is. */
  async proxyNode(id: string, path: string, search: string, request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<void> {
    const parts = splitSchemeNamePort(id);
    if (!parts) throw errors.badRequest(`invalid node request ${JSON.stringify(id)}`);
    const info = await this.connectionInfo(parts.name);
    await proxyableHostname(info.host);
    const kubeletPort = parts.port === '' || parts.port === String(info.port);
    const port = kubeletPort ? info.port : Number(parts.port);
    const secure = kubeletPort ? true : parts.scheme === 'https';
    let upstream: IncomingMessage;
    try {
      const socket = await this.open(info.host, port, secure ? { clientCertificate: kubeletPort, verify: kubeletPort } : undefined);
      upstream = await this.send(socket, request.method ?? 'GET', info.host, port, `${path || '/'}${search}`, forwardedHeaders(request.headers), body);
    } catch (error) {
      throw unknownStatus(error instanceof Error ? error.message : String(error));
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(upstream.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    response.writeHead(upstream.statusCode ?? 502, headers);
    upstream.pipe(response);
    await new Promise<void>((resolve) => {
      upstream.once('end', resolve);
      upstream.once('error', () => resolve());
      response.once('close', () => {
        upstream.destroy();
        resolve();
      });
    });
  }

  /** GET /api/v1/namespaces/{ns}/pods/{name}/log: the container's log from its node's kubelet. */
  async podLogs(namespace: string, name: string, query: URLSearchParams, response: ServerResponse): Promise<void> {
    const options = logOptions(query, name);
    const pods = findResourceByPlural('', 'pods') as ResourceInfo;
    const pod = await this.store.read(pods, namespace, name);
    const container = containerFor(pod, options.container);
    const nodeName = ((pod.spec ?? {}) as PodSpecView).nodeName ?? '';
    if (nodeName === '') {
      // No host yet: an empty location, which the stream handler answers with 204.
      response.writeHead(204);
      response.end();
      return;
    }
    const info = await this.connectionInfo(nodeName);
    const params = new URLSearchParams();
    if (options.follow) params.append('follow', 'true');
    if (options.previous) params.append('previous', 'true');
    if (options.timestamps) params.append('timestamps', 'true');
    if (options.sinceSeconds !== undefined) params.append('sinceSeconds', String(options.sinceSeconds));
    if (options.sinceTime !== undefined) params.append('sinceTime', options.sinceTime);
    if (options.tailLines !== undefined) params.append('tailLines', String(options.tailLines));
    if (options.limitBytes !== undefined) params.append('limitBytes', String(options.limitBytes));
    params.sort();
    const encoded = params.toString();
    const path = `/containerLogs/${namespace}/${name}/${container}${encoded ? `?${encoded}` : ''}`;
    const location = `https://${isIP(info.host) === 6 ? `[${info.host}]` : info.host}:${info.port}${path}`;
    let upstream: IncomingMessage;
    try {
      const socket = await this.open(info.host, info.port, { clientCertificate: true, verify: !options.insecureSkipTLSVerifyBackend });
      upstream = await this.send(socket, 'GET', info.host, info.port, path, {});
    } catch (error) {
      // http.Client.Do wraps the transport's error in a url.Error.
      throw unknownStatus(`Get ${JSON.stringify(location)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const status = upstream.statusCode ?? 500;
    if (status < 200 || status > 206) {
      const chunks: Buffer[] = [];
      for await (const chunk of upstream) chunks.push(chunk as Buffer);
      throw checkedKubeletError(status, Buffer.concat(chunks).toString('utf8').slice(0, 50_000), name);
    }
    response.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    if (options.follow) response.flushHeaders();
    upstream.pipe(response);
    await new Promise<void>((resolve) => {
      upstream.once('end', resolve);
      upstream.once('error', () => resolve());
      response.once('close', () => {
        upstream.destroy();
        resolve();
      });
    });
  }
}

class KubeletDialError extends Error {}
