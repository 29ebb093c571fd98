import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import type { Authenticator, Authorizer, KubeObject, RequestAttributes, UserInfo } from '../contracts.js';
import { findResource, groupVersion, qualifiedResource, type ResourceInfo } from '../registry/resources.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, KUBE_VERSION } from './discovery.js';
import { ApiError, errors, fieldError } from './errors.js';
import { openApiV2, openApiV3Index, openApiV3Group } from './openapi.js';
import { decodeProtobufObject, decodeProtobufReview } from './protobuf.js';
import { rbacEscalationCheck } from './rbac-escalation.js';
import { createToken, type TokenSigner } from './token-request.js';
import { serveWatch } from './watch.js';
import { StorageError } from '../storage/types.js';
import { toTable, wantsTable } from './table.js';
import type { DeleteOptions, FieldValidation, ObjectStore, PatchType, RequestContext } from './store.js';
import { bindPod, evictPod, readScale, writeScale } from './subresources.js';
import type { KubeletClient } from './kubelet-client.js';
import type { ApiFaults } from './faults.js';
import { scalarText } from '../../text.js';

export interface ApiServerOptions {
  store: ObjectStore;
  authenticators: Authenticator[];
  authorizers: Authorizer[];
  anonymous: boolean;
  tls: { cert: string; key: string; clientCA?: string };
  bookmarkIntervalMs?: number;
  /** Signs serviceaccounts/token requests; without it the subresource is not served. */
  tokenSigner?: TokenSigner;
  /** Default audiences of issued tokens (--api-audiences, else the issuer). */
  apiAudiences?: string[];
  /** Extra readiness condition (e.g. storage reachable). */
  ready?: () => Promise<boolean>;
  /** Serves nodes/proxy and pods/log; without it they answer 503 as with no kubelet client. */
  kubelet?: KubeletClient;
  /** Fault windows a test opens (5xx or latency for a while); none when absent. */
  faults?: ApiFaults;
}

interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  info?: ResourceInfo;
}

const MAX_BODY = 3 * 1024 * 1024;

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseBody(raw: Buffer, contentType: string): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  try {
    if (contentType.includes('yaml')) return parseYaml(text) as unknown;
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw errors.badRequest(`error decoding ${contentType.includes('yaml') ? 'YAML' : 'JSON'}: ${(error as Error).message}`);
  }
}

const verbsByMethod: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch' };

/** k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory. */
function requestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const base: RequestInfo = {
    resourceRequest: false,
    path: pathname,
    verb: method.toLowerCase(),
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
  };
  // Go's net/url hands the apiserver decoded path segments: `kubeadm%3Anodes` names `kubeadm:nodes`.
  const parts = pathname
    .split('/')
    .filter(Boolean)
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    base.apiVersion = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    base.apiGroup = parts[1];
    base.apiVersion = parts[2];
    rest = parts.slice(3);
  } else return base;
  base.resourceRequest = true;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    base.namespace = rest[1];
    if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') rest = rest.slice(2);
  }
  [base.resource, base.name = '', base.subresource = ''] = rest;
  // Only a proxy subresource takes a path of its own (nodes/{name}/proxy/{path}).
  if (rest.length > 3 && base.subresource !== 'proxy') base.resource = '';
  if (method === 'GET' || method === 'HEAD') base.verb = base.name ? 'get' : query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : 'list';
  else if (method === 'DELETE') base.verb = base.name ? 'delete' : 'deletecollection';
  else base.verb = verbsByMethod[method] ?? method.toLowerCase();
  base.info = findResource(base.apiGroup, base.apiVersion, base.resource);
  return base;
}

function forbiddenMessage(attributes: RequestAttributes, reason: string): ApiError {
  const user = attributes.user.username;
  let message: string;
  if (!attributes.resourceRequest) {
    message = `forbidden: User "${user}" cannot ${attributes.verb} path "${attributes.path}"`;
  } else {
    const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
    const qualified = attributes.apiGroup ? `${attributes.resource}.${attributes.apiGroup}` : attributes.resource;
    const subject = attributes.name ? `${qualified} "${attributes.name}" is forbidden` : `${qualified} is forbidden`;
    const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : 'at the cluster scope';
    message = `${subject}: User "${user}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.apiGroup}" ${scope}`;
  }
  if (reason) message += `: ${reason}`;
  return new ApiError(403, 'Forbidden', message, { name: attributes.name || undefined, group: attributes.apiGroup, kind: attributes.resource || undefined });
}

function fieldManagerFromUserAgent(userAgent: string | undefined): string {
  const agent = userAgent ?? 'unknown';
  return agent.split('/')[0].slice(0, 128) || 'unknown';
}

function listKind(info: ResourceInfo): string {
  return `${info.kind}List`;
}

function withTypeMeta(info: ResourceInfo, object: KubeObject): KubeObject {
  return { ...object, apiVersion: groupVersion(info), kind: info.kind };
}

export class ApiServer {
  readonly server: Server;
  private readonly bookmarkIntervalMs: number;
  /** TLS connections accepted so far, for tests that check clients reuse connections. */
  connectionsAccepted = 0;

  constructor(private readonly options: ApiServerOptions) {
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? 5000;
    this.server = createHttpsServer(
      {
        cert: options.tls.cert,
        key: options.tls.key,
        ...(options.tls.clientCA ? { ca: options.tls.clientCA } : {}),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (request, response) => {
        this.handle(request, response).catch((error: unknown) => this.fail(response, error));
      },
    );
    this.server.on('secureConnection', () => {
      this.connectionsAccepted += 1;
    });
    options.store.admission.push(rbacEscalationCheck(options.store, (attributes) => this.authorize(attributes)));
  }

  /** Closes connections that sit idle between requests, as a server's keep-alive timeout does. */
  closeIdleConnections(): void {
    this.server.closeIdleConnections();
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private send(response: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
    if (response.headersSent) {
      response.end();
      return;
    }
    const payload = Buffer.from(JSON.stringify(body));
    // A length, not chunked encoding: Go's net/http sends one for small bodies, and clients can
    // tell a complete response on a kept-alive connection without waiting for a terminator.
    const headers: Record<string, string | string[]> = {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Content-Length': String(payload.length),
    };
    if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    response.writeHead(code, headers);
    response.end(payload);
  }

  private fail(response: ServerResponse, error: unknown): void {
    const apiError =
      error instanceof ApiError
        ? error
        : error instanceof StorageError && error.code === 'Expired'
          ? errors.gone(error.message)
          : error instanceof StorageError && error.code === 'Conflict'
            ? new ApiError(409, 'Conflict', error.message)
            : errors.internal(error instanceof Error ? error.message : String(error));
    if (!(error instanceof ApiError) && !(error instanceof StorageError))
      process.stderr.write(`kubesim: ${error instanceof Error ? error.stack : String(error)}\n`);
    // writers.go: a Status with details.retryAfterSeconds also carries the Retry-After header.
    if (apiError.details?.retryAfterSeconds && !response.headersSent) response.setHeader('Retry-After', String(apiError.details.retryAfterSeconds));
    this.send(response, apiError.code, apiError.toStatus());
  }

  private async authenticate(request: IncomingMessage): Promise<UserInfo> {
    let rejected = false;
    for (const authenticator of this.options.authenticators) {
      const result = await authenticator.authenticate({ headers: request.headers, socket: request.socket as TLSSocket });
      if (result.outcome === 'authenticated') return result.user;
      if (result.outcome === 'rejected') rejected = true;
    }
    if (rejected || !this.options.anonymous) throw errors.unauthorized();
    return { username: 'system:anonymous', groups: ['system:unauthenticated'] };
  }

  async authorize(attributes: RequestAttributes): Promise<{ allowed: boolean; denied: boolean; reason: string }> {
    if (this.options.authorizers.length === 0) return { allowed: true, denied: false, reason: '' };
    const reasons: string[] = [];
    for (const authorizer of this.options.authorizers) {
      const decision = await authorizer.authorize(attributes);
      if (decision.decision === 'allow') return { allowed: true, denied: false, reason: decision.reason };
      if (decision.decision === 'deny') return { allowed: false, denied: true, reason: decision.reason };
      if (decision.reason) reasons.push(decision.reason);
    }
    return { allowed: false, denied: false, reason: reasons.join(', ') };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'https://kubesim');
    const method = (request.method ?? 'GET').toUpperCase();
    const query = url.searchParams;
    // The deprecated watch paths (/api/v1/watch/namespaces/ns/pods[/name]) are watches with a name selector.
    const legacyWatch = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/watch\/(.+)$/.exec(url.pathname);
    if (legacyWatch && method === 'GET') {
      const rest = legacyWatch[2].split('/').filter(Boolean);
      const named = (rest[0] === 'namespaces' && rest.length === 4) || (rest[0] !== 'namespaces' && rest.length === 2);
      if (named) {
        const name = rest.pop() as string;
        query.set('fieldSelector', [query.get('fieldSelector'), `metadata.name=${name}`].filter(Boolean).join(','));
      }
      url.pathname = `${legacyWatch[1]}/${rest.join('/')}`;
      query.set('watch', 'true');
    }
    const info = requestInfo(method, url.pathname.replace(/\/+$/, '') || '/', query);
    const user = await this.authenticate(request);
    await this.options.faults?.apply(user);
    const attributes: RequestAttributes = {
      user,
      verb: info.verb,
      resourceRequest: info.resourceRequest,
      apiGroup: info.apiGroup,
      apiVersion: info.apiVersion,
      resource: info.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
      path: info.path,
      ...(query.has('fieldSelector') ? { fieldSelector: query.get('fieldSelector') ?? '' } : {}),
    };
    const decision = await this.authorize(attributes);
    if (!decision.allowed) throw forbiddenMessage(attributes, decision.reason);
    if (!info.resourceRequest) return this.handleNonResource(info.path, method, request, response);
    if (!info.info) {
      // An API group or version nobody serves falls through to the mux's plain-text 404.
      if (info.apiGroup !== '' && !apiGroup(info.apiGroup)) {
        const text = '404 page not found\n';
        response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(text.length) });
        response.end(text);
        return;
      }
      throw errors.notFoundPath();
    }
    await this.handleResource(info, info.info, user, method, query, request, response);
  }

  private async handleNonResource(path: string, method: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') throw errors.methodNotAllowed();
    const host = request.headers.host ?? (this.server.address() && typeof this.server.address() === 'object' ? '127.0.0.1' : '');
    if (path === '/healthz' || path === '/livez' || path === '/readyz' || /^\/(healthz|livez|readyz)\/[\w-]+$/.test(path)) {
      const ok = path.startsWith('/readyz') && this.options.ready ? await this.options.ready() : true;
      const text = ok ? 'ok' : '[-]etcd failed: reason withheld\nreadyz check failed';
      response.writeHead(ok ? 200 : 500, {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        'Content-Length': String(Buffer.byteLength(text)),
      });
      response.end(text);
      return;
    }
    if (path === '/version') {
      this.send(response, 200, KUBE_VERSION);
      return;
    }
    if (path === '/api') {
      this.send(response, 200, apiVersions(host));
      return;
    }
    if (path === '/apis') {
      this.send(response, 200, apiGroupList());
      return;
    }
    if (path === '/openapi/v2') {
      const accept = request.headers.accept ?? 'application/json';
      if (!/application\/json|\*\/\*/.test(accept)) throw new ApiError(406, 'NotAcceptable', `only the following media types are accepted: application/json`);
      this.send(response, 200, openApiV2());
      return;
    }
    if (path === '/openapi/v3') {
      this.send(response, 200, openApiV3Index());
      return;
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = openApiV3Group(path.slice('/openapi/v3/'.length));
      if (!doc) throw errors.notFoundPath();
      this.send(response, 200, doc);
      return;
    }
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2) {
      const list = apiResourceList('', parts[1]);
      if (list) {
        this.send(response, 200, list);
        return;
      }
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const group = apiGroup(parts[1]);
      if (group) {
        this.send(response, 200, group);
        return;
      }
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = apiResourceList(parts[1], parts[2]);
      if (list) {
        this.send(response, 200, list);
        return;
      }
    }
    throw errors.notFoundPath();
  }

  private context(user: UserInfo, query: URLSearchParams, request: IncomingMessage, apply: boolean): RequestContext {
    const fieldValidation = (query.get('fieldValidation') ?? 'Warn') as FieldValidation;
    const optionsKind =
      request.method === 'POST' ? 'CreateOptions' : request.method === 'PUT' ? 'UpdateOptions' : request.method === 'DELETE' ? 'DeleteOptions' : 'PatchOptions';
    if (!['Strict', 'Warn', 'Ignore'].includes(fieldValidation)) {
      throw errors.invalid('meta.k8s.io', optionsKind, '', [
        fieldError('FieldValueNotSupported', 'fieldValidation', 'supported values: "Ignore", "Strict", "Warn"', fieldValidation),
      ]);
    }
    const dryRun = query.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) throw errors.badRequest(`dryRun: Unsupported value: ${JSON.stringify(dryRun)}: supported values: "All"`);
    const explicit = query.get('fieldManager');
    if (apply && !explicit)
      throw errors.invalid('meta.k8s.io', 'PatchOptions', '', [fieldError('FieldValueRequired', 'fieldManager', 'is required for apply patch')]);
    return {
      user,
      fieldManager: explicit ?? fieldManagerFromUserAgent(request.headers['user-agent']),
      fieldValidation,
      dryRun: dryRun.length > 0,
      warnings: [],
    };
  }

  private async handleResource(
    req: RequestInfo,
    info: ResourceInfo,
    user: UserInfo,
    method: string,
    query: URLSearchParams,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const store = this.options.store;
    const namespace = info.namespaced ? req.namespace || undefined : undefined;
    if (info.namespaced && req.namespace === '' && !(method === 'GET' && !req.name)) throw errors.notFoundPath();
    if (!info.namespaced && req.namespace !== '' && info.kind !== 'Namespace') throw errors.notFoundPath();
    const sub = req.subresource;
    if (sub && !info.subresources.includes(sub)) throw errors.notFoundPath();
    if (sub === 'proxy' || sub === 'log') return this.handleKubelet(req, info, method, query, request, response);
    const rawBody = method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE' ? await readBody(request) : Buffer.alloc(0);
    const contentType = (request.headers['content-type'] ?? 'application/json').split(';')[0].trim();
    const protobuf = contentType === 'application/vnd.kubernetes.protobuf';
    if (!info.virtual && rawBody.length > 0 && method !== 'PATCH' && !protobuf && !['application/json', 'application/yaml', '*/*'].includes(contentType)) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
      );
    }
    const decodeBody = (kind: string): unknown => (protobuf ? decodeProtobufObject(rawBody, kind) : parseBody(rawBody, contentType));

    if (info.virtual) {
      if (method !== 'POST' || req.name) throw errors.methodNotAllowed();
      if (info.kind === 'Binding') {
        const binding = (parseBody(rawBody, contentType) ?? {}) as { metadata?: { name?: string } };
        const ctx = this.context(user, query, request, false);
        this.send(response, 201, await bindPod(store, req.namespace, binding.metadata?.name ?? '', binding, ctx));
        return;
      }
      const body = contentType === 'application/vnd.kubernetes.protobuf' ? decodeProtobufReview(rawBody, info.kind) : parseBody(rawBody, contentType);
      this.send(response, 201, await this.review(info, user, body, req.namespace));
      return;
    }

    if (method === 'GET' && !req.name) {
      if (req.verb === 'watch') {
        if (
          query.get('sendInitialEvents') === 'true' &&
          (query.get('resourceVersionMatch') !== 'NotOlderThan' || query.get('allowWatchBookmarks') !== 'true')
        ) {
          throw errors.invalid('meta.k8s.io', 'ListOptions', '', [
            {
              type: 'FieldValueForbidden',
              field: 'resourceVersionMatch',
              message: 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks to true',
            },
          ]);
        }
        await serveWatch(
          store,
          {
            info,
            namespace,
            resourceVersion: query.get('resourceVersion') ?? undefined,
            labelSelector: query.get('labelSelector') ?? undefined,
            fieldSelector: query.get('fieldSelector') ?? undefined,
            allowBookmarks: query.get('allowWatchBookmarks') === 'true',
            sendInitialEvents: query.get('sendInitialEvents') === 'true',
            timeoutSeconds: query.has('timeoutSeconds') ? Number(query.get('timeoutSeconds')) : undefined,
            bookmarkIntervalMs: this.bookmarkIntervalMs,
            ...(wantsTable(request.headers.accept)
              ? {
                  transform: (object: KubeObject) =>
                    toTable(info, [object], { resourceVersion: object.metadata.resourceVersion }, query.get('includeObject')) as KubeObject,
                }
              : {}),
          },
          response,
          (cb) => {
            request.on('close', cb);
            response.on('close', cb);
          },
        );
        return;
      }
      // A limit that is not a positive integer means no limit, as ListOptions decoding has it.
      const parsedLimit = query.has('limit') ? Number(query.get('limit')) : undefined;
      const limit = parsedLimit !== undefined && Number.isInteger(parsedLimit) && parsedLimit > 0 ? parsedLimit : undefined;
      const result = await store.listObjects(info, namespace, {
        labelSelector: query.get('labelSelector') ?? undefined,
        fieldSelector: query.get('fieldSelector') ?? undefined,
        limit,
        continueToken: query.get('continue') ?? undefined,
      });
      const listMeta = {
        resourceVersion: result.resourceVersion,
        ...(result.continueToken ? { continue: result.continueToken } : {}),
        ...(result.remaining !== undefined ? { remainingItemCount: result.remaining } : {}),
      };
      if (wantsTable(request.headers.accept)) {
        this.send(
          response,
          200,
          toTable(
            info,
            result.items.map((i) => withTypeMeta(info, i)),
            listMeta,
            query.get('includeObject'),
          ),
        );
        return;
      }
      const items = result.items.map((item) => {
        const copy: Record<string, unknown> = { ...item };
        delete copy.apiVersion;
        delete copy.kind;
        return copy;
      });
      this.send(response, 200, {
        kind: listKind(info),
        apiVersion: groupVersion(info),
        metadata: listMeta,
        items,
      });
      return;
    }

    if (method === 'GET') {
      if (sub === 'scale') {
        this.send(response, 200, readScale(info, await store.read(info, namespace, req.name)));
        return;
      }
      if (sub === 'eviction' || sub === 'binding' || sub === 'finalize' || sub === 'token') throw errors.methodNotAllowed();
      const object = withTypeMeta(info, await store.read(info, namespace, req.name));
      if (wantsTable(request.headers.accept)) {
        this.send(response, 200, toTable(info, [object], { resourceVersion: object.metadata.resourceVersion }, query.get('includeObject')));
        return;
      }
      this.send(response, 200, object);
      return;
    }

    if (method === 'POST') {
      const ctx = this.context(user, query, request, false);
      const body = decodeBody(sub === 'eviction' ? 'Eviction' : sub === 'binding' ? 'Binding' : sub === 'token' ? 'TokenRequest' : info.kind);
      if (req.name && sub === 'eviction') {
        this.send(response, 201, await evictPod(store, this.options.store, namespace as string, req.name, body, ctx));
        return;
      }
      if (req.name && sub === 'token') {
        this.send(response, 201, await createToken(store, this.options.tokenSigner, this.options.apiAudiences ?? [], namespace as string, req.name, body));
        return;
      }
      if (req.name && sub === 'binding') {
        this.send(response, 201, await bindPod(store, namespace as string, req.name, body, ctx));
        return;
      }
      if (req.name) throw errors.methodNotAllowed();
      const created = await store.create(info, namespace, body, ctx);
      this.send(response, 201, withTypeMeta(info, created), ctx.warnings);
      return;
    }

    if (method === 'PUT') {
      if (!req.name) throw errors.methodNotAllowed();
      if (sub === 'eviction' || sub === 'binding' || sub === 'token') throw errors.methodNotAllowed();
      const ctx = this.context(user, query, request, false);
      const body = decodeBody(sub === 'scale' ? 'Scale' : info.kind);
      if (sub === 'scale') {
        this.send(response, 200, await writeScale(store, info, namespace, req.name, body, ctx));
        return;
      }
      const updated = await store.update(info, namespace, req.name, body, ctx, sub);
      this.send(response, ctx.created ? 201 : 200, withTypeMeta(info, updated), ctx.warnings);
      return;
    }

    if (method === 'PATCH') {
      if (!req.name || sub === 'eviction' || sub === 'binding' || sub === 'finalize' || sub === 'token') throw errors.methodNotAllowed();
      const patchTypes: Record<string, PatchType> = {
        'application/json-patch+json': 'json',
        'application/merge-patch+json': 'merge',
        'application/strategic-merge-patch+json': 'strategic',
        'application/apply-patch+yaml': 'apply',
        'application/apply-patch+cbor': 'apply',
      };
      const type = patchTypes[contentType];
      if (!type) throw errors.unsupportedMediaType(contentType);
      const force = query.get('force') === 'true';
      if (query.has('force') && type !== 'apply') throw errors.badRequest('force flag may only be set for apply patches');
      const ctx = this.context(user, query, request, type === 'apply');
      const body = parseBody(rawBody, type === 'apply' ? 'application/yaml' : 'application/json');
      if (sub === 'scale') {
        const current = readScale(info, await store.read(info, namespace, req.name));
        const { mergePatch, jsonPatch } = await import('../patch/json.js');
        const patched = type === 'json' ? jsonPatch(current, body) : mergePatch(current, body);
        this.send(response, 200, await writeScale(store, info, namespace, req.name, patched, ctx));
        return;
      }
      const patched = await store.patch(info, namespace, req.name, type, body, ctx, sub, force);
      this.send(response, ctx.created ? 201 : 200, withTypeMeta(info, patched), ctx.warnings);
      return;
    }

    if (method === 'DELETE') {
      const ctx = this.context(user, query, request, false);
      const body = ((protobuf ? undefined : parseBody(rawBody, contentType)) ?? {}) as DeleteOptions & { dryRun?: string[] };
      if (protobuf && rawBody.length > 0) throw new ApiError(415, 'UnsupportedMediaType', 'DeleteOptions are only accepted as application/json');
      const options: DeleteOptions = {
        propagationPolicy: body.propagationPolicy ?? query.get('propagationPolicy') ?? undefined,
        gracePeriodSeconds: body.gracePeriodSeconds ?? (query.has('gracePeriodSeconds') ? Number(query.get('gracePeriodSeconds')) : undefined),
        preconditions: body.preconditions,
        orphanDependents: body.orphanDependents,
      };
      if (Array.isArray(body.dryRun) && body.dryRun.includes('All')) ctx.dryRun = true;
      if (sub) throw errors.methodNotAllowed();
      if (!req.name) {
        const listed = await store.listObjects(info, namespace, {
          labelSelector: query.get('labelSelector') ?? undefined,
          fieldSelector: query.get('fieldSelector') ?? undefined,
        });
        const deleted: KubeObject[] = [];
        for (const item of listed.items) {
          try {
            deleted.push((await store.delete(info, item.metadata.namespace, item.metadata.name as string, options, ctx)).object);
          } catch (error) {
            if (!(error instanceof ApiError && error.code === 404)) throw error;
          }
        }
        const items = deleted.map((item) => {
          const copy: Record<string, unknown> = { ...item };
          delete copy.apiVersion;
          delete copy.kind;
          return copy;
        });
        this.send(response, 200, { kind: listKind(info), apiVersion: groupVersion(info), metadata: {}, items });
        return;
      }
      const result = await store.delete(info, namespace, req.name, options, ctx);
      // Registries with ReturnDeletedObject answer with the object, the rest with a Status.
      if (result.deleted && !['Pod', 'Namespace', 'Service', 'ServiceAccount'].includes(info.kind)) {
        this.send(response, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name: req.name, ...(info.group ? { group: info.group } : {}), kind: info.plural, uid: result.object.metadata.uid },
        });
        return;
      }
      this.send(response, 200, withTypeMeta(info, result.object));
      return;
    }
    throw errors.methodNotAllowed();
  }

  /** The subresources the apiserver serves by asking the pod's or node's kubelet. */
  private async handleKubelet(
    req: RequestInfo,
    info: ResourceInfo,
    method: string,
    query: URLSearchParams,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const kubelet = this.options.kubelet;
    if (req.subresource === 'log') {
      if (method !== 'GET') throw errors.methodNotAllowed();
      if (!kubelet) throw new ApiError(503, 'ServiceUnavailable', 'kubesim serves no kubelet connections here');
      await kubelet.podLogs(req.namespace, req.name, query, response);
      return;
    }
    if (!['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].includes(method)) throw errors.methodNotAllowed();
    if (!kubelet) throw new ApiError(503, 'ServiceUnavailable', 'kubesim serves no kubelet connections here');
    // The raw path after `/proxy`, so encoded characters reach the kubelet as the caller sent them.
    const { pathname: raw, search } = new URL(request.url ?? '/', 'https://kubesim');
    const marker = raw.indexOf('/proxy', raw.indexOf('/nodes/') + '/nodes/'.length);
    const path = marker === -1 ? '' : raw.slice(marker + '/proxy'.length);
    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? await readBody(request) : Buffer.alloc(0);
    await kubelet.proxyNode(req.name, path, search, request, body, response);
  }

  private async review(info: ResourceInfo, user: UserInfo, body: unknown, namespace: string): Promise<Record<string, unknown>> {
    const review = (body && typeof body === 'object' ? body : {}) as { apiVersion?: string; kind?: string; metadata?: object; spec?: Record<string, unknown> };
    if (review.kind !== undefined && review.kind !== info.kind)
      throw errors.badRequest(
        `the API version in the data (${review.apiVersion}) does not match the expected API version (${groupVersion(info)}) or kind (${review.kind} vs ${info.kind})`,
      );
    const spec = review.spec ?? {};
    const base = { apiVersion: groupVersion(info), kind: info.kind, metadata: { ...(review.metadata ?? {}) }, spec };
    if (info.kind === 'SelfSubjectReview') {
      return {
        apiVersion: base.apiVersion,
        kind: base.kind,
        metadata: { ...(review.metadata ?? {}), creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
        status: {
          userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) },
        },
      };
    }
    if (info.kind === 'TokenReview') {
      const token = scalarText(spec.token ?? '');
      if (!token) throw errors.invalid(info.group, info.kind, '', [{ type: 'FieldValueRequired', field: 'spec.token', message: 'Required value' }]);
      for (const authenticator of this.options.authenticators) {
        const audiences = Array.isArray(spec.audiences) ? spec.audiences.map((audience) => scalarText(audience)) : undefined;
        const result = await authenticator.authenticate({ headers: { authorization: `Bearer ${token}` }, audiences });
        if (result.outcome === 'authenticated') return { ...base, status: { authenticated: true, user: result.user, audiences: spec.audiences ?? [] } };
        if (result.outcome === 'rejected') return { ...base, status: { authenticated: false, error: result.reason } };
      }
      return { ...base, status: { authenticated: false } };
    }
    let subject: UserInfo = user;
    if (info.kind === 'SubjectAccessReview' || info.kind === 'LocalSubjectAccessReview') {
      if (!spec.user && !(Array.isArray(spec.groups) && spec.groups.length > 0)) {
        // The real answer names no kind: the decoded review's TypeMeta is empty by then.
        throw errors.invalid(info.group, '', '', [
          { type: 'FieldValueInvalid', field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' },
        ]);
      }
      subject = {
        username: scalarText(spec.user ?? ''),
        groups: (spec.groups as string[] | undefined) ?? [],
        ...(spec.uid ? { uid: scalarText(spec.uid) } : {}),
        ...(spec.extra ? { extra: spec.extra as Record<string, string[]> } : {}),
      };
    }
    const resource = spec.resourceAttributes as Record<string, string> | undefined;
    const nonResource = spec.nonResourceAttributes as Record<string, string> | undefined;
    if (!resource && !nonResource) {
      throw errors.invalid(info.group, info.kind, '', [
        {
          type: 'FieldValueRequired',
          field: 'spec.resourceAttributes',
          message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
        },
      ]);
    }
    if (info.kind === 'LocalSubjectAccessReview' && resource?.namespace && resource.namespace !== namespace) {
      throw errors.invalid(info.group, info.kind, '', [
        {
          type: 'FieldValueInvalid',
          field: 'spec.resourceAttributes.namespace',
          message: `Invalid value: "${resource.namespace}": must match metadata.namespace`,
        },
      ]);
    }
    const attributes: RequestAttributes = resource
      ? {
          user: subject,
          verb: resource.verb ?? '',
          resourceRequest: true,
          apiGroup: resource.group ?? '',
          apiVersion: resource.version ?? '',
          resource: resource.resource ?? '',
          subresource: resource.subresource ?? '',
          namespace: info.kind === 'LocalSubjectAccessReview' ? namespace : (resource.namespace ?? ''),
          name: resource.name ?? '',
          path: '',
        }
      : {
          user: subject,
          verb: nonResource?.verb ?? '',
          resourceRequest: false,
          apiGroup: '',
          apiVersion: '',
          resource: '',
          subresource: '',
          namespace: '',
          name: '',
          path: nonResource?.path ?? '',
        };
    const decision = await this.authorize(attributes);
    return {
      ...base,
      status: { allowed: decision.allowed, ...(decision.denied ? { denied: true } : {}), ...(decision.reason ? { reason: decision.reason } : {}) },
    };
  }
}

export { qualifiedResource };
