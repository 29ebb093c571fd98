// A strict, in-process DigitalOcean API: bearer tokens per simulated account, every request and
// every response checked against the official OpenAPI document, droplets with a lifecycle on
// timers, SSH keys, tags, rate-limit headers and injectable faults.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delay, FaultInjector, type LaunchFaults, type RequestFaultKind } from '../common/faults.js';
import { AddressPool, readBody, TimerSet, type RecordedRequest, closeServer } from '../common/support.js';
import { IMAGES, REGIONS, SIZES, type ImageEntry, type SizeEntry } from './catalogue.js';
import { loadDigitalOceanSpec, type DigitalOceanSpec, type SpecOperation } from './spec.js';
import { scalarText } from '../../text.js';

export type DropletStatus = 'new' | 'active' | 'off' | 'archive';

export interface DigitalOceanAccount {
  name: string;
  tokens: string[];
}

export interface SimulatedDroplet {
  id: number;
  account: string;
  name: string;
  region: string;
  size: string;
  image: string;
  status: DropletStatus;
  createdAt: Date;
  privateIp: string;
  publicIp: string;
  tags: string[];
  sshKeyIds: number[];
  userData: string;
  deleted: boolean;
}

export interface DigitalOceanSimulatorOptions {
  accounts: DigitalOceanAccount[];
  port?: number;
  host?: string;
  timing?: { bootMs?: number; shutdownMs?: number; archiveRetentionMs?: number };
  rateLimitPerHour?: number;
  onInstanceRunning?: (droplet: SimulatedDroplet, userData: string) => void | Promise<void>;
  /** Called once when the droplet's machine is gone: it was deleted, killed (killInstance) or died of a fault. */
  onInstanceTerminated?: (droplet: SimulatedDroplet) => void | Promise<void>;
  specPath?: string;
  random?: () => number;
  /** The installation's share of addresses and droplet ids (see MACHINE_BLOCKS); unset: block 0. */
  machineBlock?: number;
  /**
   * Rewrites a response body before it is validated and sent. Only for proving the response
   * validator works: anything it breaks must surface as a spec violation and a 500.
   */
  tamperResponse?: (operationId: string, body: unknown) => unknown;
}

export interface DigitalOceanSimulator {
  url: string;
  faults: FaultInjector;
  instances(filter?: { account?: string }): SimulatedDroplet[];
  requests(): RecordedRequest[];
  /** Responses the simulator produced that the OpenAPI document does not allow; must stay empty. */
  specViolations(): string[];
  killInstance(id: number, finalState?: 'off' | 'archive'): void;
  /**
   * Signs up an account (idempotent for the same name and tokens). Tokens no account owns are
   * still refused with 401.
   */
  addAccount(account: DigitalOceanAccount): void;
  /** Errors thrown by the instance hooks (boot and termination), by droplet id. */
  bootErrors(): Map<number, unknown>;
  close(): Promise<void>;
}

interface DropletRecord extends SimulatedDroplet {
  launchFaults: LaunchFaults;
  /** The termination hook ran (it runs once per droplet). */
  goneNotified?: boolean;
}

interface SshKeyRecord {
  id: number;
  account: string;
  name: string;
  publicKey: string;
  fingerprint: string;
}

interface AccountState {
  name: string;
  rateRemaining: number;
  rateResetAt: number;
  tags: Set<string>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const TAG_PATTERN = /^[a-zA-Z0-9_\-:]+$/;
const USER_DATA_LIMIT_BYTES = 64 * 1024;
const MAX_MULTI_CREATE = 10;
const FAULTS: Record<RequestFaultKind, ApiError> = {
  throttle: new ApiError(429, 'too_many_requests', 'API Rate limit exceeded.'),
  'server-error': new ApiError(500, 'server_error', 'Unexpected server-side error'),
  unavailable: new ApiError(503, 'service_unavailable', 'The service is temporarily unavailable.'),
};

export async function startDigitalOceanSimulator(options: DigitalOceanSimulatorOptions): Promise<DigitalOceanSimulator> {
  const spec = loadDigitalOceanSpec(options.specPath);
  const simulator = new DigitalOceanSimulatorServer(spec, options);
  await simulator.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return simulator.handle();
}

class DigitalOceanSimulatorServer {
  readonly faults: FaultInjector;
  private readonly server: Server;
  private readonly accountsByToken = new Map<string, AccountState>();
  private readonly droplets = new Map<number, DropletRecord>();
  private readonly sshKeys = new Map<number, SshKeyRecord>();
  private readonly recorded: RecordedRequest[] = [];
  private readonly violations: string[] = [];
  private readonly bootErrors = new Map<number, unknown>();
  private readonly timers = new TimerSet();
  private readonly privateIps: AddressPool;
  private readonly publicIps: AddressPool;
  private readonly timing: Required<NonNullable<DigitalOceanSimulatorOptions['timing']>>;
  private readonly rateLimit: number;
  /** Unauthenticated callers share one bucket; DO still sends rate-limit headers on a 401. */
  private readonly anonymous: AccountState;
  private nextDropletId: number;
  private nextKeyId = 41000001;
  private url = '';
  private closed = false;

  constructor(
    private readonly spec: DigitalOceanSpec,
    private readonly options: DigitalOceanSimulatorOptions,
  ) {
    this.privateIps = new AddressPool('127.110', options.machineBlock);
    this.publicIps = new AddressPool('127.111', options.machineBlock);
    // Droplet ids are account-wide numbers: each block counts in its own ten million.
    this.nextDropletId = 300000001 + (options.machineBlock ?? 0) * 10_000_000;
    this.faults = new FaultInjector(options.random);
    this.rateLimit = options.rateLimitPerHour ?? 5000;
    this.anonymous = { name: '', rateRemaining: this.rateLimit, rateResetAt: nowSeconds() + 3600, tags: new Set() };
    for (const account of options.accounts) this.addAccount(account);
    this.timing = {
      bootMs: options.timing?.bootMs ?? 2000,
      shutdownMs: options.timing?.shutdownMs ?? 1000,
      archiveRetentionMs: options.timing?.archiveRetentionMs ?? 0,
    };
    this.server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        this.violations.push(`simulator crashed: ${error instanceof Error ? error.message : String(error)}`);
        response.statusCode = 500;
        response.end();
      });
    });
  }

  addAccount(account: DigitalOceanAccount): void {
    if (account.tokens.length === 0) throw new Error('an account needs at least one token');
    const existing = [...this.accountsByToken.values()].find((state) => state.name === account.name);
    for (const token of account.tokens) {
      const owner = this.accountsByToken.get(token);
      if (owner && owner !== existing) throw new Error('a token may belong to one account only');
    }
    const state: AccountState = existing ?? { name: account.name, rateRemaining: this.rateLimit, rateResetAt: nowSeconds() + 3600, tags: new Set() };
    for (const token of account.tokens) this.accountsByToken.set(token, state);
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  handle(): DigitalOceanSimulator {
    return {
      url: this.url,
      faults: this.faults,
      instances: (filter = {}) =>
        [...this.droplets.values()].filter((droplet) => !filter.account || droplet.account === filter.account).map((droplet) => publicView(droplet)),
      requests: () => [...this.recorded],
      specViolations: () => [...this.violations],
      killInstance: (id, finalState = 'off') => {
        const droplet = this.droplets.get(id);
        if (!droplet) throw new Error(`no droplet ${id}`);
        droplet.status = finalState;
        this.notifyGone(droplet);
      },
      addAccount: (account) => this.addAccount(account),
      bootErrors: () => new Map(this.bootErrors),
      close: () => this.close(),
    };
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clear();
    await closeServer(this.server);
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = new URL(request.url ?? '/', 'http://simulator');
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const record: RecordedRequest = {
      at: new Date(),
      method: request.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      host: request.headers.host ?? '',
      credential: token,
      status: 0,
    };
    this.recorded.push(record);
    const account = token ? this.accountsByToken.get(token) : undefined;
    let operation: SpecOperation | undefined;
    let reply: Reply;
    try {
      const body = await readBody(request, 1024 * 1024);
      const routed = this.spec.route(request.method ?? 'GET', url.pathname);
      if (routed.kind === 'no-path') throw new ApiError(404, 'not_found', 'The resource you were accessing could not be found.');
      if (routed.kind === 'no-method') throw new ApiError(405, 'method_not_allowed', `Method not allowed. Allowed: ${routed.allowed.join(', ')}`);
      operation = routed.match.operation;
      record.operation = operation.operationId;
      if (!account) throw new ApiError(401, 'Unauthorized', 'Unable to authenticate you');
      if (nowSeconds() >= account.rateResetAt) {
        account.rateRemaining = this.rateLimit;
        account.rateResetAt = nowSeconds() + 3600;
      }
      if (account.rateRemaining <= 0) throw new ApiError(429, 'too_many_requests', 'API Rate limit exceeded.');
      account.rateRemaining -= 1;

      const params = this.validateParameters(operation, routed.match.pathParams, url.searchParams);
      const json = this.parseBody(operation, request, body);
      await delay(this.faults.latencyMs);
      const before = this.faults.takeRequestFault(operation.operationId, 'before');
      if (before) throw FAULTS[before.kind];
      reply = this.dispatch(operation.operationId, account, params, json, url);
      const after = this.faults.takeRequestFault(operation.operationId, 'after');
      if (after) throw FAULTS[after.kind];
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      reply = { status: error.status, body: { id: error.id, message: error.message, request_id: requestId } };
    }

    const headers: Record<string, string> = { 'x-request-id': requestId };
    const bucket = account ?? this.anonymous;
    if (nowSeconds() >= bucket.rateResetAt) {
      bucket.rateRemaining = this.rateLimit;
      bucket.rateResetAt = nowSeconds() + 3600;
    }
    headers['ratelimit-limit'] = String(this.rateLimit);
    headers['ratelimit-remaining'] = String(Math.max(0, bucket.rateRemaining));
    headers['ratelimit-reset'] = String(bucket.rateResetAt);
    Object.assign(headers, reply.headers);
    if (operation && this.options.tamperResponse && reply.body !== undefined) {
      reply = { ...reply, body: this.options.tamperResponse(operation.operationId, reply.body) };
    }
    if (operation) {
      const violation = this.spec.validateResponse(operation, reply.status, headers, reply.body);
      if (violation) {
        // A response the spec forbids is a simulator bug: record it for the test and fail loudly.
        this.violations.push(violation);
        reply = { status: 500, body: { id: 'simulator_spec_violation', message: violation, request_id: requestId } };
      }
    }
    record.status = reply.status;
    if (reply.body === undefined) {
      response.writeHead(reply.status, headers);
      response.end();
      return;
    }
    response.writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(reply.body));
  }

  private validateParameters(operation: SpecOperation, pathParams: Record<string, string>, query: URLSearchParams): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const parameter of operation.parameters) {
      let raw: string | undefined;
      if (parameter.in === 'path') raw = pathParams[parameter.name];
      else if (parameter.in === 'query') raw = query.get(parameter.name) ?? undefined;
      else continue;
      if (raw === undefined) {
        if (parameter.required)
          throw new ApiError(
            parameter.in === 'path' ? 404 : 422,
            parameter.in === 'path' ? 'not_found' : 'unprocessable_entity',
            `${parameter.name} is required`,
          );
        continue;
      }
      const result = this.spec.validateParameter(parameter.schemaPointer, raw);
      if (result.errors) {
        if (parameter.in === 'path') throw new ApiError(404, 'not_found', 'The resource you were accessing could not be found.');
        throw new ApiError(422, 'unprocessable_entity', `${parameter.name}: ${result.errors}`);
      }
      values[parameter.name] = result.value;
    }
    return values;
  }

  private parseBody(operation: SpecOperation, request: IncomingMessage, body: Buffer): unknown {
    const requestBody = operation.requestBody;
    if (!requestBody) return undefined;
    if (body.length === 0) {
      if (requestBody.required) throw new ApiError(422, 'unprocessable_entity', 'A request body is required.');
      return undefined;
    }
    const contentType = request.headers['content-type'] ?? '';
    if (!contentType.startsWith('application/json')) throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json.');
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError(400, 'bad_request', 'The request body is not valid JSON.');
    }
    if (!requestBody.schemaPointer) throw new ApiError(415, 'unsupported_media_type', 'This operation does not take JSON.');
    const errors = this.spec.validateRequestBody(requestBody.schemaPointer, json);
    if (errors) throw new ApiError(422, 'unprocessable_entity', errors);
    return json;
  }

  private dispatch(operationId: string, account: AccountState, params: Record<string, unknown>, body: unknown, url: URL): Reply {
    switch (operationId) {
      case 'droplets_create':
        return this.createDroplets(account, asRecord(body));
      case 'droplets_list':
        return this.listDroplets(account, params, url);
      case 'droplets_get':
        return { status: 200, body: { droplet: dropletJson(this.ownDroplet(account, Number(params.droplet_id))) } };
      case 'droplets_destroy':
        this.destroy(this.ownDroplet(account, Number(params.droplet_id)));
        return { status: 204, headers: { 'content-type': 'application/json' } };
      case 'droplets_destroy_byTag': {
        const tag = String(params.tag_name);
        for (const droplet of this.visibleDroplets(account)) if (droplet.tags.includes(tag)) this.destroy(droplet);
        return { status: 204, headers: { 'content-type': 'application/json' } };
      }
      case 'sshKeys_create':
        return this.createSshKey(account, asRecord(body));
      case 'sshKeys_list': {
        const keys = [...this.sshKeys.values()].filter((key) => key.account === account.name);
        const page = paginate(keys, params, url);
        return { status: 200, body: { ssh_keys: page.items.map(sshKeyJson), links: page.links, meta: { total: keys.length } } };
      }
      case 'sshKeys_get':
        return { status: 200, body: { ssh_key: sshKeyJson(this.ownSshKey(account, params.ssh_key_identifier)) } };
      case 'sshKeys_delete':
        this.sshKeys.delete(this.ownSshKey(account, params.ssh_key_identifier).id);
        return { status: 204 };
      case 'tags_create': {
        const name = scalarText(asRecord(body).name ?? '');
        if (!name || !TAG_PATTERN.test(name)) throw new ApiError(422, 'unprocessable_entity', 'tag name is invalid');
        account.tags.add(name);
        return { status: 201, body: { tag: this.tagJson(account, name) } };
      }
      case 'tags_get': {
        const name = String(params.tag_id);
        if (!account.tags.has(name)) throw new ApiError(404, 'not_found', 'The resource you were accessing could not be found.');
        return { status: 200, body: { tag: this.tagJson(account, name) } };
      }
      default:
        throw new ApiError(501, 'not_implemented', `The simulator does not implement ${operationId}.`);
    }
  }

  private createDroplets(account: AccountState, body: Record<string, unknown>): Reply {
    const multi = Array.isArray(body.names);
    const names = multi ? (body.names as unknown[]).map(String) : [String(body.name)];
    if (names.length === 0 || names.length > MAX_MULTI_CREATE) {
      throw new ApiError(422, 'unprocessable_entity', `You may create between 1 and ${MAX_MULTI_CREATE} Droplets at a time.`);
    }
    const regionSlug = typeof body.region === 'string' ? body.region : 'nyc3';
    if (!(regionSlug in REGIONS)) throw new ApiError(422, 'unprocessable_entity', 'You specified an invalid region for Droplet creation.');
    const size = SIZES.find((candidate) => candidate.slug === body.size);
    if (!size) throw new ApiError(422, 'unprocessable_entity', 'You specified an invalid size for Droplet creation.');
    const image = IMAGES.find((candidate) => candidate.slug === body.image || candidate.id === body.image);
    if (!image) throw new ApiError(422, 'unprocessable_entity', 'You specified an invalid image for Droplet creation.');
    const tags = Array.isArray(body.tags) ? body.tags.map(String) : [];
    for (const tag of tags) {
      if (!TAG_PATTERN.test(tag) || tag.length > 255)
        throw new ApiError(422, 'unprocessable_entity', `Tag name "${tag}" is invalid: only letters, numbers, colons, dashes and underscores are allowed.`);
    }
    const userData = typeof body.user_data === 'string' ? body.user_data : '';
    if (Buffer.byteLength(userData) > USER_DATA_LIMIT_BYTES) throw new ApiError(422, 'unprocessable_entity', 'user_data exceeds the 64 KiB limit.');
    const sshKeyIds: number[] = [];
    for (const identifier of Array.isArray(body.ssh_keys) ? body.ssh_keys : []) {
      const key = [...this.sshKeys.values()].find(
        (candidate) =>
          candidate.account === account.name && (candidate.id === identifier || candidate.fingerprint === identifier || String(candidate.id) === identifier),
      );
      if (!key) throw new ApiError(422, 'unprocessable_entity', 'ssh_keys contains invalid key identifiers.');
      sshKeyIds.push(key.id);
    }
    const created = names.map((name) => {
      const droplet: DropletRecord = {
        id: this.nextDropletId++,
        account: account.name,
        name,
        region: regionSlug,
        size: size.slug,
        image: image.slug,
        status: 'new',
        createdAt: new Date(),
        privateIp: this.privateIps.allocate(),
        publicIp: this.publicIps.allocate(),
        tags: [...new Set(tags)],
        sshKeyIds,
        userData,
        deleted: false,
        launchFaults: this.faults.takeLaunchFaults(),
      };
      for (const tag of droplet.tags) account.tags.add(tag);
      this.droplets.set(droplet.id, droplet);
      this.scheduleBoot(droplet);
      return droplet;
    });
    const links = {
      actions: created.map((droplet, index) => ({ id: droplet.id * 10 + index, rel: 'create', href: `${this.url}/v2/actions/${droplet.id * 10 + index}` })),
    };
    return multi ? { status: 202, body: { droplets: created.map(dropletJson), links } } : { status: 202, body: { droplet: dropletJson(created[0]), links } };
  }

  private scheduleBoot(droplet: DropletRecord): void {
    if (droplet.launchFaults.boot === 'stuck-pending') return;
    this.timers.after(this.timing.bootMs, () => {
      if (droplet.status !== 'new' || droplet.deleted) return;
      droplet.status = 'active';
      const death = droplet.launchFaults.death;
      if (death) {
        this.timers.after(death.afterMs, () => {
          if (droplet.deleted) return;
          droplet.status = death.finalState === 'terminated' ? 'archive' : 'off';
          this.notifyGone(droplet);
        });
      }
      if (droplet.launchFaults.boot === 'node-fails' || !this.options.onInstanceRunning) return;
      Promise.resolve()
        .then(() => this.options.onInstanceRunning?.(publicView(droplet), droplet.userData))
        .catch((error: unknown) => this.bootErrors.set(droplet.id, error));
    });
  }

  private destroy(droplet: DropletRecord): void {
    if (droplet.deleted) return;
    droplet.deleted = true;
    droplet.status = 'off';
    this.notifyGone(droplet);
    this.timers.after(this.timing.shutdownMs, () => {
      droplet.status = 'archive';
      this.timers.after(this.timing.archiveRetentionMs, () => this.droplets.delete(droplet.id));
    });
  }

  private notifyGone(droplet: DropletRecord): void {
    if (droplet.goneNotified || !this.options.onInstanceTerminated) return;
    droplet.goneNotified = true;
    Promise.resolve()
      .then(() => this.options.onInstanceTerminated?.(publicView(droplet)))
      .catch((error: unknown) => this.bootErrors.set(droplet.id, error));
  }

  /** Droplets the account can still see: deleted ones linger while they power off, then vanish. */
  private visibleDroplets(account: AccountState): DropletRecord[] {
    return [...this.droplets.values()].filter((droplet) => droplet.account === account.name && !(droplet.deleted && droplet.status === 'archive'));
  }

  private ownDroplet(account: AccountState, id: number): DropletRecord {
    const droplet = this.visibleDroplets(account).find((candidate) => candidate.id === id);
    if (!droplet) throw new ApiError(404, 'not_found', 'The resource you were accessing could not be found.');
    return droplet;
  }

  private listDroplets(account: AccountState, params: Record<string, unknown>, url: URL): Reply {
    if (params.type === 'gpus') {
      const page = paginate([], params, url);
      return { status: 200, body: { droplets: [], links: page.links, meta: { total: 0 } } };
    }
    let droplets = this.visibleDroplets(account).sort((a, b) => a.id - b.id);
    if (typeof params.tag_name === 'string') droplets = droplets.filter((droplet) => droplet.tags.includes(params.tag_name as string));
    if (typeof params.name === 'string') droplets = droplets.filter((droplet) => droplet.name === params.name);
    const page = paginate(droplets, params, url);
    return { status: 200, body: { droplets: page.items.map(dropletJson), links: page.links, meta: { total: droplets.length } } };
  }

  private createSshKey(account: AccountState, body: Record<string, unknown>): Reply {
    const publicKey = scalarText(body.public_key ?? '').trim();
    const name = scalarText(body.name ?? '');
    if (body.id !== undefined || body.fingerprint !== undefined) throw new ApiError(422, 'unprocessable_entity', 'id and fingerprint are read-only.');
    const match = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) ([A-Za-z0-9+/]+={0,2})( .*)?$/.exec(publicKey);
    if (!match) throw new ApiError(422, 'unprocessable_entity', 'Key invalid, key should be of the form "type key [comment]"');
    const blob = Buffer.from(match[2], 'base64');
    const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (typeLength <= 0 || blob.subarray(4, 4 + typeLength).toString('latin1') !== match[1]) {
      throw new ApiError(422, 'unprocessable_entity', 'Key invalid, the key type does not match the key data');
    }
    if (!name) throw new ApiError(422, 'unprocessable_entity', 'Name is required');
    const fingerprint = md5Fingerprint(blob);
    if ([...this.sshKeys.values()].some((key) => key.account === account.name && key.fingerprint === fingerprint)) {
      throw new ApiError(422, 'unprocessable_entity', 'SSH Key is already in use on your account');
    }
    const key: SshKeyRecord = { id: this.nextKeyId++, account: account.name, name, publicKey, fingerprint };
    this.sshKeys.set(key.id, key);
    return { status: 201, body: { ssh_key: sshKeyJson(key) } };
  }

  private ownSshKey(account: AccountState, identifier: unknown): SshKeyRecord {
    const key = [...this.sshKeys.values()].find(
      (candidate) =>
        candidate.account === account.name && (candidate.id === identifier || candidate.fingerprint === identifier || String(candidate.id) === identifier),
    );
    if (!key) throw new ApiError(404, 'not_found', 'The resource you were accessing could not be found.');
    return key;
  }

  private tagJson(account: AccountState, name: string): Record<string, unknown> {
    const count = this.visibleDroplets(account).filter((droplet) => droplet.tags.includes(name)).length;
    return { name, resources: { count, droplets: { count } } };
  }
}

function publicView(droplet: DropletRecord): SimulatedDroplet {
  const { launchFaults: _faults, goneNotified: _notified, ...view } = droplet;
  return { ...view, tags: [...droplet.tags], sshKeyIds: [...droplet.sshKeyIds] };
}

function sizeJson(size: SizeEntry): Record<string, unknown> {
  return {
    slug: size.slug,
    memory: size.memory,
    vcpus: size.vcpus,
    disk: size.disk,
    transfer: size.transfer,
    price_monthly: size.priceMonthly,
    price_hourly: Math.round((size.priceMonthly / 672) * 100000) / 100000,
    regions: Object.keys(REGIONS),
    available: true,
    description: size.description,
  };
}

function imageJson(image: ImageEntry): Record<string, unknown> {
  return {
    id: image.id,
    name: image.name,
    type: 'base',
    distribution: image.distribution,
    slug: image.slug,
    public: true,
    regions: ['nyc1', 'nyc3', 'sfo3', 'ams3', 'fra1', 'lon1', 'sgp1'],
    created_at: '2024-04-24T00:00:00Z',
    min_disk_size: image.minDiskSize,
    size_gigabytes: 2.5,
    tags: [],
    status: 'available',
  };
}

function dropletJson(droplet: DropletRecord): Record<string, unknown> {
  const size = SIZES.find((candidate) => candidate.slug === droplet.size);
  const image = IMAGES.find((candidate) => candidate.slug === droplet.image);
  if (!size || !image) throw new Error(`simulator bug: droplet ${droplet.id} refers to unknown catalogue entries`);
  const booted = droplet.status !== 'new';
  return {
    id: droplet.id,
    name: droplet.name,
    memory: size.memory,
    vcpus: size.vcpus,
    disk: size.disk,
    locked: false,
    status: droplet.status,
    kernel: null,
    created_at: droplet.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    features: ['private_networking'],
    backup_ids: [],
    next_backup_window: null,
    snapshot_ids: [],
    image: imageJson(image),
    volume_ids: [],
    size: sizeJson(size),
    size_slug: size.slug,
    networks: {
      v4: booted
        ? [
            { ip_address: droplet.privateIp, netmask: '255.255.0.0', gateway: '127.110.0.1', type: 'private' },
            { ip_address: droplet.publicIp, netmask: '255.255.0.0', gateway: '127.111.0.1', type: 'public' },
          ]
        : [],
      v6: [],
    },
    region: {
      name: REGIONS[droplet.region],
      slug: droplet.region,
      features: ['private_networking', 'backups', 'ipv6', 'metadata'],
      available: true,
      sizes: SIZES.map((entry) => entry.slug),
    },
    tags: droplet.tags,
    vpc_uuid: '5a4981aa-9653-4bd1-bef5-d6bff52042e4',
  };
}

function sshKeyJson(key: SshKeyRecord): Record<string, unknown> {
  return { id: key.id, fingerprint: key.fingerprint, public_key: key.publicKey, name: key.name };
}

function paginate<T>(items: T[], params: Record<string, unknown>, url: URL): { items: T[]; links: Record<string, unknown> } {
  const perPage = typeof params.per_page === 'number' ? params.per_page : 20;
  const page = typeof params.page === 'number' ? params.page : 1;
  const lastPage = Math.max(1, Math.ceil(items.length / perPage));
  const link = (target: number): string => {
    const next = new URL(url.toString());
    next.searchParams.set('page', String(target));
    next.searchParams.set('per_page', String(perPage));
    return `https://api.digitalocean.com${next.pathname}${next.search}`;
  };
  const pages: Record<string, string> = {};
  if (page > 1) {
    pages.first = link(1);
    pages.prev = link(Math.min(page - 1, lastPage));
  }
  if (page < lastPage) {
    pages.next = link(page + 1);
    pages.last = link(lastPage);
  }
  return { items: items.slice((page - 1) * perPage, page * perPage), links: { pages } };
}

function md5Fingerprint(blob: Buffer): string {
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
