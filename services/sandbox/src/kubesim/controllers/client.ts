import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../contracts.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    method: string,
    path: string,
  ) {
    super(`${method} ${path}: HTTP ${status}${statusMessage(body)}`);
  }
}

function statusMessage(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    return `: ${(body as { message: string }).message}`;
  }
  return '';
}

export interface ObjectList {
  metadata: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

/**
 * A small REST client over a kubeconfig, loaded and credentialed by @kubernetes/client-node's
 * KubeConfig so it behaves against kubesim exactly as against a real apiserver.
 */
export class KubeClient {
  private constructor(
    private readonly server: URL,
    private readonly baseOptions: RequestOptions,
    private readonly headers: Record<string, string>,
    readonly kubeConfig: KubeConfig,
    private readonly tokenSource?: () => Promise<string>,
    private readonly readVia?: KubeClient,
  ) {}

  static async fromKubeConfig(kubeConfig: KubeConfig): Promise<KubeClient> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const options: RequestOptions = {};
    await kubeConfig.applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (typeof value === 'string') headers[name] = value;
    }
    const { headers: _ignored, ...tls } = options;
    return new KubeClient(new URL(cluster.server), tls, headers, kubeConfig);
  }

  static async fromFile(path: string): Promise<KubeClient> {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(path);
    return KubeClient.fromKubeConfig(kubeConfig);
  }

  /**
   * The same server and trust, writing with a bearer token (a controller's service account)
   * while reads stay with this client, as kube-controller-manager's shared informers do.
   */
  withBearerToken(tokenSource: () => Promise<string>): KubeClient {
    const { cert: _cert, key: _key, ...tls } = this.baseOptions;
    return new KubeClient(this.server, tls, {}, this.kubeConfig, tokenSource, this);
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    if (this.readVia && method === 'GET' && isCollectionPath(path)) return this.readVia.request<T>(method, path, body, contentType);
    const response = await this.send(method, path, body, contentType);
    const text = await readBody(response);
    const parsed = text === '' ? undefined : safeJson(text);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw new ApiError(status, parsed, method, path);
    return parsed as T;
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  async getOptional<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list(path: string): Promise<ObjectList> {
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const separator = path.includes('?') ? '&' : '?';
      const page = await this.get<ObjectList>(continueToken ? `${path}${separator}continue=${encodeURIComponent(continueToken)}` : path);
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion;
      // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return { metadata: resourceVersion === undefined ? {} : { resourceVersion }, items };
  }

  /** Streams watch events until the server closes the stream or the signal aborts. */
  async watch(path: string, resourceVersion: string, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    if (this.readVia) return this.readVia.watch(path, resourceVersion, onEvent, signal);
    const separator = path.includes('?') ? '&' : '?';
    const response = await this.send(
      'GET',
      `${path}${separator}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`,
      undefined,
      'application/json',
      signal,
    );
    const status = response.statusCode ?? 0;
    if (status !== 200) {
      const text = await readBody(response);
      throw new ApiError(status, safeJson(text), 'WATCH', path);
    }
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== '') {
            const event = safeJson(line) as WatchEvent | undefined;
            if (event && typeof event === 'object' && 'type' in event) onEvent(event);
          }
          newline = buffered.indexOf('\n');
        }
      });
      response.on('end', () => resolve());
      response.on('close', () => resolve());
      response.on('error', (error) => (signal.aborted ? resolve() : reject(error)));
    });
  }

  private async send(method: string, path: string, body: unknown, contentType: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: 'application/json', ...this.headers };
    if (this.tokenSource) headers.Authorization = `Bearer ${await this.tokenSource()}`;
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const options: RequestOptions = {
      ...this.baseOptions,
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      headers,
      agent: false,
      ...(signal ? { signal } : {}),
    };
    return new Promise((resolve, reject) => {
      const request = (url.protocol === 'http:' ? httpRequest : httpsRequest)(options, resolve);
      request.on('error', reject);
      if (payload !== undefined) request.write(payload);
      request.end();
    });
  }
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function isStatus(error: unknown, status: number): boolean {
  return error instanceof ApiError && error.status === status;
}

export function objectKey(object: KubeObject): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name ?? ''}` : (object.metadata.name ?? '');
}

export interface Logger {
  info(message: string): void;
  error(message: string): void;
}

export const stderrLogger = (verbosity = 0): Logger => ({
  info: (message) => {
    if (verbosity >= 2) process.stderr.write(`I ${new Date().toISOString()} ${message}\n`);
  },
  error: (message) => process.stderr.write(`E ${new Date().toISOString()} ${message}\n`),
});

export const silentLogger: Logger = { info: () => undefined, error: () => undefined };

/** Sleeps, waking early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Whether a GET path lists a collection (`/api/v1/nodes`, `/apis/apps/v1/namespaces/x/daemonsets`)
 * rather than reading one object. The real controller manager's shared informers list and watch
 * as its own identity, which may list and watch everything but get little; a controller's read
 * of one object goes out with its own service account, as with --use-service-account-credentials.
 */
export function isCollectionPath(path: string): boolean {
  const segments = path
    .split('?')[0]
    .split('/')
    .filter((segment) => segment !== '');
  const rest = segments[0] === 'api' ? segments.slice(2) : segments.slice(3);
  const scoped = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  return scoped.length === 1;
}
