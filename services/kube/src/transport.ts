// One pool of kept-alive TLS connections per API server for @kubernetes/client-node.
//
// client-node 1.x creates a new https.Agent for every request, so every call pays a TCP and TLS
// handshake (and the server a client-certificate verification). Its fetch (node-fetch 2) also
// cannot share sockets safely: its check for a truncated chunked body treats the next request's
// data listener on a reused socket as a premature close (node-fetch/node-fetch#1767), the
// "Premature close" errors earlier attempts ran into. This transport keeps one agent per
// kubeconfig and sends requests with node:https directly.
import { Agent, request, type AgentOptions, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import {
  ResponseContext,
  SelfDecodingBody,
  wrapHttpLibrary,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node';

/** Connections kept to one API server; more requests than this queue for a free socket. */
export const MAX_SOCKETS_PER_SERVER = 32;
/** Idle connections are closed after this long (below kube-apiserver's and Node's own limits). */
const IDLE_SOCKET_MS = 30_000;

interface Credentials {
  agent: Agent;
  /** Headers that never change for this kubeconfig (static token, impersonation, basic auth). */
  headers: Record<string, string>;
}

function agentOptionsFrom(options: RequestOptions): AgentOptions {
  return {
    keepAlive: true,
    maxSockets: MAX_SOCKETS_PER_SERVER,
    maxFreeSockets: MAX_SOCKETS_PER_SERVER,
    timeout: IDLE_SOCKET_MS,
    scheduling: 'lifo',
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    pfx: options.pfx,
    passphrase: options.passphrase,
    servername: options.servername,
    // Unset means verify, as client-node leaves it; only skipTLSVerify turns it off.
    ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {}),
  };
}

function headersFrom(options: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
  return headers;
}

/**
 * The authentication method handed to client-node: it puts this kubeconfig's pooled agent and
 * its credentials on each request. Exec and auth-provider users get their headers per request
 * (their tokens refresh); everything else is computed once.
 */
export class PooledConnection implements SecurityAuthentication {
  private credentials: Promise<Credentials> | undefined;
  private agent: Agent | undefined;
  private readonly dynamicHeaders: boolean;

  constructor(private readonly config: KubeConfig) {
    const user = config.getCurrentUser();
    this.dynamicHeaders = Boolean(user?.exec ?? user?.authProvider);
  }

  /** Only https servers without a proxy are pooled here; the rest keep client-node's own path. */
  static supports(config: KubeConfig): boolean {
    const cluster = config.getCurrentCluster();
    return Boolean(cluster && cluster.server.startsWith('https://') && !cluster.proxyUrl);
  }

  getName(): string {
    return 'harbormaster-pooled-connection';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const { agent, headers } = await this.connection();
    const current = this.dynamicHeaders ? headersFrom(await this.freshOptions()) : headers;
    for (const [name, value] of Object.entries(current)) context.setHeaderParam(name, value);
    context.setAgent(agent);
  }

  /** Closes every pooled socket; later requests open new ones. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
    this.credentials = undefined;
  }

  private connection(): Promise<Credentials> {
    this.credentials ??= this.freshOptions().then(
      (options) => {
        this.agent = new Agent(agentOptionsFrom(options));
        return { agent: this.agent, headers: headersFrom(options) };
      },
      (error: unknown) => {
        this.credentials = undefined;
        throw error;
      },
    );
    return this.credentials;
  }

  private async freshOptions(): Promise<RequestOptions> {
    const options: RequestOptions = {};
    // Fills in CA, client certificate and key, TLS server name, skipTLSVerify and auth headers
    // exactly as client-node reads the kubeconfig (its agent in options.agent is not used).
    await this.config.applyToHTTPSOptions(options);
    return options;
  }
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** Errors that mean a kept-alive socket was closed by the server before it took our request. */
function closedIdleSocket(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ECONNRESET' || error.code === 'EPIPE' || error.message === 'socket hang up';
}

function send(context: RequestContext, retried = false): Promise<ResponseContext> {
  const body = context.getBody();
  if (body !== undefined && typeof body !== 'string' && !(body instanceof URLSearchParams)) {
    return Promise.reject(new Error('multipart request bodies are not supported by the pooled transport'));
  }
  const payload = body === undefined ? undefined : Buffer.from(body.toString());
  const method = context.getHttpMethod().toString();
  const headers: Record<string, string> = { ...context.getHeaders() };
  if (payload) headers['Content-Length'] = String(payload.length);
  return new Promise<ResponseContext>((resolve, reject) => {
    let responded = false;
    const outgoing = request(context.getUrl(), { method, headers, agent: context.getAgent(), signal: context.getSignal() }, (response) => {
      responded = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        resolve(new ResponseContext(response.statusCode ?? 0, flattenHeaders(response.headers), new SelfDecodingBody(Promise.resolve(Buffer.concat(chunks)))));
      });
      response.on('close', () => {
        // Settles nothing after 'end'; before it, the body was cut off.
        if (!response.complete) reject(new Error(`the connection closed before the whole response of ${method} ${context.getUrl()} arrived`));
      });
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close an idle kept-alive connection just as we reuse it; then it never
      // saw the request, and one retry on a fresh socket is what Go's net/http does too. POST
      // (create) is not retried: it is the one call a replay could turn into a conflict.
      if (!responded && !retried && outgoing.reusedSocket && method !== 'POST' && closedIdleSocket(error)) {
        send(context, true).then(resolve, reject);
        return;
      }
      reject(error);
    });
    outgoing.end(payload);
  });
}

/** client-node's HTTP library, over node:https and whatever agent the request carries. */
export const pooledHttpLibrary: HttpLibrary = wrapHttpLibrary({ send });
