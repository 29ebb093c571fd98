// The simulated node's kubelet port (10250, HTTPS): what the apiserver's nodes/proxy and pods/log
// reach. As a kubeadm node's kubelet: client certificates against the cluster CA or bearer tokens
// (TokenReview), no anonymous access, webhook authorization (a SubjectAccessReview per decision,
// cached as the kubelet caches them), a self-signed serving certificate (no serverTLSBootstrap).
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createCa, issueCertificate } from '../kubesim/pki.js';
import type { ContainerLog, LogReadOptions } from './container-log.js';
import { apiRequest, type ApiTarget } from './join.js';

export type ContainerLogLookup = { log: ContainerLog } | { status: number; message: string };

export interface KubeletServerOptions {
  nodeName: string;
  /** The loopback address the port binds on; never the Node's InternalIP (the seed must not reach it directly). */
  host: string;
  /** 10250; taken by something else on this machine, an ephemeral port (the Node reports the port it got). */
  port: number;
  /** Addresses the self-signed serving certificate names. */
  servingAddresses: string[];
  /** The cluster CA: client certificates are verified against it (--client-ca-file). */
  clientCaPem: string;
  /** The node's own credentials for TokenReviews and SubjectAccessReviews. */
  api: ApiTarget;
  containerLog(namespace: string, pod: string, container: string, previous: boolean): ContainerLogLookup;
}

export interface KubeletServerHandle {
  port: number;
  close(): Promise<void>;
}

interface Caller {
  username: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

const VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
/** --authorization-webhook-cache-authorized-ttl / -unauthorized-ttl defaults of the kubelet. */
const ALLOWED_TTL_MS = 5 * 60_000;
const DENIED_TTL_MS = 30_000;

function isSubpath(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix.replace(/\/$/, '')}/`);
}

/** nodeAuthorizerAttributesGetter with KubeletFineGrainedAuthz: the subresources tried, in order. */
export function kubeletSubresources(path: string): string[] {
  const fineGrained =
    isSubpath(path, '/pods') || isSubpath(path, '/runningpods')
      ? ['pods']
      : isSubpath(path, '/healthz')
        ? ['healthz']
        : isSubpath(path, '/configz')
          ? ['configz']
          : [];
  const coarse = isSubpath(path, '/stats')
    ? 'stats'
    : isSubpath(path, '/metrics')
      ? 'metrics'
      : isSubpath(path, '/logs')
        ? 'log'
        : isSubpath(path, '/checkpoint')
          ? 'checkpoint'
          : isSubpath(path, '/statusz')
            ? 'statusz'
            : isSubpath(path, '/flagz')
              ? 'configz'
              : 'proxy';
  return [...fineGrained, coarse];
}

function text(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  response.end(body);
}

function logOptionsOf(query: URLSearchParams): LogReadOptions | undefined {
  const integer = (name: string): number | undefined | null => {
    const value = query.get(name);
    if (value === null) return undefined;
    return /^-?\d+$/.test(value) ? Number(value) : null;
  };
  const tail = query.get('tail');
  const tailLines = tail !== null ? (tail === 'all' ? undefined : /^\d+$/.test(tail) ? Number(tail) : null) : integer('tailLines');
  const sinceSeconds = integer('sinceSeconds');
  const limitBytes = integer('limitBytes');
  const sinceTime = query.get('sinceTime');
  if (tailLines === null || sinceSeconds === null || limitBytes === null || (sinceTime !== null && Number.isNaN(Date.parse(sinceTime)))) return undefined;
  return {
    follow: query.get('follow') === 'true',
    timestamps: query.get('timestamps') === 'true',
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { sinceSeconds } : {}),
    ...(sinceTime !== null ? { sinceTime: new Date(sinceTime) } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

export async function startKubeletServer(options: KubeletServerOptions): Promise<KubeletServerHandle> {
  // A kubelet without serverTLSBootstrap signs its own serving certificate, for its hostname.
  const selfSigned = await createCa(`${options.nodeName}-ca@${Math.floor(Date.now() / 1000)}`);
  const serving = await issueCertificate(selfSigned, {
    commonName: `${options.nodeName}@${Math.floor(Date.now() / 1000)}`,
    server: true,
    dnsNames: [options.nodeName],
    ipAddresses: options.servingAddresses,
  });
  const decisions = new Map<string, { allowed: boolean; until: number }>();

  const authenticate = async (request: IncomingMessage): Promise<Caller | undefined> => {
    const socket = request.socket as TLSSocket;
    if (socket.authorized) {
      const subject = socket.getPeerCertificate().subject as unknown as Record<string, string | string[] | undefined>;
      const username = [subject.CN].flat()[0];
      if (username) return { username, groups: [subject.O ?? []].flat() };
    }
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!bearer) return undefined;
    const review = await apiRequest<{ status?: { authenticated?: boolean; user?: Caller } }>(
      options.api,
      'POST',
      '/apis/authentication.k8s.io/v1/tokenreviews',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token: bearer },
      },
    );
    return review.status?.authenticated && review.status.user ? { ...review.status.user, groups: review.status.user.groups ?? [] } : undefined;
  };

  const allowed = async (caller: Caller, verb: string, subresource: string): Promise<boolean> => {
    const key = JSON.stringify([caller.username, caller.groups, caller.uid, caller.extra, verb, subresource]);
    const cached = decisions.get(key);
    if (cached && cached.until > Date.now()) return cached.allowed;
    const review = await apiRequest<{ status?: { allowed?: boolean } }>(options.api, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: caller.username,
        groups: caller.groups,
        ...(caller.uid ? { uid: caller.uid } : {}),
        ...(caller.extra ? { extra: caller.extra } : {}),
        resourceAttributes: { verb, version: 'v1', resource: 'nodes', subresource, name: options.nodeName },
      },
    });
    const decision = review.status?.allowed === true;
    decisions.set(key, { allowed: decision, until: Date.now() + (decision ? ALLOWED_TTL_MS : DENIED_TTL_MS) });
    return decision;
  };

  const serveLogs = async (request: IncomingMessage, response: ServerResponse, url: URL, match: RegExpExecArray): Promise<void> => {
    const [, namespace, pod, container] = match.map((part) => decodeURIComponent(part)) as [string, string, string, string];
    const readOptions = logOptionsOf(url.searchParams);
    if (!readOptions) {
      text(response, 400, '{"message": "Unable to decode query."}');
      return;
    }
    const found = options.containerLog(namespace, pod, container, url.searchParams.get('previous') === 'true');
    if ('status' in found) {
      text(response, found.status, found.message);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
    const abort = new AbortController();
    response.once('close', () => abort.abort());
    await found.log.read(readOptions, (chunk) => response.write(chunk), abort.signal);
    response.end();
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'https://kubelet');
    const caller = await authenticate(request);
    if (!caller) {
      text(response, 401, 'Unauthorized');
      return;
    }
    const verb = VERBS[request.method ?? 'GET'] ?? '';
    const subresources = kubeletSubresources(url.pathname);
    let permitted = false;
    for (const subresource of subresources) {
      if (await allowed(caller, verb, subresource)) {
        permitted = true;
        break;
      }
    }
    if (!permitted) {
      text(response, 403, `Forbidden (user=${caller.username}, verb=${verb}, resource=nodes, subresource(s)=[${subresources.join(' ')}])\n`);
      return;
    }
    if (url.pathname === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
      text(response, 200, 'ok');
      return;
    }
    const logs = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (logs && request.method === 'GET') return serveLogs(request, response, url, logs);
    text(response, 404, '404 page not found\n');
  };

  const server: Server = createServer(
    { cert: serving.certPem, key: serving.keyPem, ca: options.clientCaPem, requestCert: true, rejectUnauthorized: false },
    (request, response) => {
      handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) text(response, 500, error instanceof Error ? error.message : String(error));
        else response.destroy();
      });
    },
  );
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen(options.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    await listen(0);
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
