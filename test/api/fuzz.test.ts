// Property-based fuzzing of every mutating route and the query parameters of the list routes,
// against the real embedded process (PGlite). Bodies come from the product's own zod request
// schemas (test/support/fuzz-bodies.ts): valid-shaped ones, which may be accepted or refused, and
// the same with one thing broken. The properties, for every request:
//   - never a 5xx;
//   - every 4xx is application/problem+json with a machine-readable `code` and its status;
//   - a refused request (and every GET) changes nothing: the resources a caller can see and the
//     audit log read the same before and after;
//   - an accepted create is undone at once (delete, revoke) or counted, so later runs see the
//     same world.
// HM_FUZZ_RUNS sets the number of requests (500 here; `npm run fuzz` sends 5000), HM_FUZZ_SEED
// replays a run (the seed is printed at the start and by fast-check on failure).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMemberSchema,
  createClusterSchema,
  createInvitationSchema,
  createNodePoolSchema,
  createProjectSchema,
  createTokenSchema,
  createUserSchema,
  registerSeedSchema,
  scaleNodePoolSchema,
  SUPPORTED_VERSIONS,
  updateMemberSchema,
  updateProjectSchema,
  upgradeClusterSchema,
} from '../../services/core/src/index.js';
import { createCredentialSchema } from '../../services/clouds/src/providers/index.js';
import { ensureBuilt } from '../support/build.js';
import { awsCredential, doCredential, sshPublicKey } from '../support/fixtures.js';
import { bodyFromSchema, encode, mutate, mutation, transport, type Hints, type Mutation, type Transport } from '../support/fuzz-bodies.js';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { scaled } from '../support/time.js';

/** Codes whose status the README's API section states; any other status for them is a defect. */
const DOCUMENTED_STATUS: Record<string, number> = {
  invalid_type: 400,
  invalid_unicode: 400,
  invalid_query: 400,
  malformed_json: 400,
  nesting_too_deep: 400,
  forbidden_key: 422,
  unknown_field: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unsupported_charset: 415,
  upgrade_skips_minor: 422,
  downgrade_not_allowed: 422,
  node_version_skew: 409,
  upgrade_in_progress: 409,
};

const RUNS = positiveInteger('HM_FUZZ_RUNS', 500);
const SEED = process.env.HM_FUZZ_SEED ? Number(process.env.HM_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** The kinds of id a path holds. */
const ID_KINDS = ['project', 'member', 'invitation', 'credential', 'token', 'user', 'cluster', 'pool', 'node', 'seed', 'operation'] as const;
type IdKind = (typeof ID_KINDS)[number];
const noIds = (): Record<IdKind, string[]> => Object.fromEntries(ID_KINDS.map((kind): [IdKind, string[]] => [kind, []])) as Record<IdKind, string[]>;
interface Slot {
  id: IdKind;
  destructive?: boolean;
}
type Segment = string | Slot;

interface Route {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: Segment[];
  body?: fc.Arbitrary<unknown>;
  /** Query parameters this route reads (fuzzed, with junk beside them). */
  query?: string[];
  stream?: boolean;
  /** What an accepted request may change; a refused one must leave these and the audit log alone. */
  touches?: Resource[];
  /** An accepted request created this kind of thing: how to undo it. */
  creates?: 'project' | 'member' | 'invitation' | 'credential' | 'token' | 'user' | 'cluster' | 'pool' | 'seed';
}

type Resource = 'projects' | 'members' | 'invitations' | 'credentials' | 'clusters' | 'pools' | 'operations' | 'users' | 'tokens' | 'seeds' | 'audit';

interface IdPick {
  source: 'known' | 'random' | 'garbage';
  index: number;
  uuid: string;
  garbage: string;
}

interface FuzzRequest {
  route: number;
  ids: IdPick[];
  /** Which way the body is made: straight from the schema, broken, or none at all. */
  shape: 'valid' | 'mutated' | 'none';
  body: unknown;
  change: Mutation;
  how: Transport;
  query: Array<[string, string]>;
  lastEventId: string | undefined;
  /** Sends the route with another method (PUT where none exists, POST on a GET route). */
  methodOverride: 'PUT' | 'POST' | 'PATCH' | undefined;
}

function encodeSegment(text: string): string {
  try {
    const encoded = encodeURIComponent(text);
    // Dot segments are resolved by the URL parser before the request leaves: keep them literal.
    return encoded === '.' || encoded === '..' || encoded === '' ? '%2E%2E' : encoded;
  } catch {
    return '%ED%A0%80'; // a lone surrogate, as UTF-8 bytes that are not UTF-8
  }
}

const garbageId = fc.oneof(
  fc.constantFrom(
    '%zz',
    '%',
    '%00',
    '%2e%2e',
    '%2F',
    'null',
    'undefined',
    '0',
    '-1',
    '1%20or%201%3D1',
    'a'.repeat(2_000),
    '00000000-0000-0000-0000-000000000000',
    'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
    '%E2%80%AE',
    '%ED%A0%80',
    '%C0%AE',
    '__proto__',
    'constructor',
    '%7B%7D',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map(encodeSegment),
);

const idPick: fc.Arbitrary<IdPick> = fc.record({
  source: fc.oneof(
    { weight: 14, arbitrary: fc.constant('known' as const) },
    { weight: 1, arbitrary: fc.constant('random' as const) },
    { weight: 1, arbitrary: fc.constant('garbage' as const) },
  ),
  index: fc.nat(),
  uuid: fc.uuid(),
  garbage: garbageId,
});

const queryValue = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '42',
    '999999999999999',
    '9999999999999999',
    '1e400',
    '-1',
    '',
    'abc',
    '1.5',
    '+1',
    ' 1',
    '0x10',
    '%zz',
    '%00',
    '%E2%80%AE',
    '%EF%BC%91',
    '1%00',
  ),
  fc.nat().map(String),
  fc.string({ unit: 'binary', maxLength: 10 }).map(encodeSegment),
);

describe('fuzzing the API with bodies from its request schemas', () => {
  let server: TestServer;
  let seed: TestSeed;
  const fixtures = noIds();
  /** Ids of things the run created and removed again: safe targets for destructive routes. */
  const gone = noIds();
  let routes: Route[] = [];
  const outcomes = new Map<string, number>();
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

  beforeAll(async () => {
    ensureBuilt();
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'pglite', env: { HM_QUOTA_CLUSTERS_PER_PROJECT: '10000' } });
    const created = async (method: string, path: string, body: unknown): Promise<string> => {
      const response = await server.request<{ id?: string; userId?: string }>(method, path, { body });
      if (response.status >= 300) throw new Error(`fixture ${method} ${path}: ${response.status} ${response.text}`);
      return response.body.id ?? response.body.userId ?? '';
    };
    fixtures.seed.push(await created('POST', '/api/v1/seeds', { name: 'fuzz-seed', kubeconfig: seed.kubeconfig, region: 'eu-central-1', maxClusters: 10_000 }));
    const spare = await created('POST', '/api/v1/seeds', { name: 'fuzz-spare', kubeconfig: seed.kubeconfig, maxClusters: 5 });
    const projectId = await created('POST', '/api/v1/projects', { name: 'fuzz' });
    const awsId = await created('POST', `/api/v1/projects/${projectId}/credentials`, awsCredential());
    const doId = await created('POST', `/api/v1/projects/${projectId}/credentials`, doCredential());
    const clusterId = await created('POST', `/api/v1/projects/${projectId}/clusters`, { name: 'target', version: SUPPORTED_VERSIONS[0].version });
    const pool = { name: 'workers', credentialId: awsId, region: 'eu-central-1', size: 't3.medium', replicas: 1, sshPublicKeys: [sshPublicKey()] };
    const poolId = await created('POST', `/api/v1/projects/${projectId}/clusters/${clusterId}/nodepools`, pool);
    const memberEmail = 'member@fuzz.example.com';
    const memberId = await created('POST', '/api/v1/users', { email: memberEmail, name: 'Member' });
    await created('POST', `/api/v1/projects/${projectId}/members`, { userId: memberId, role: 'editor' });
    const me = await server.request<{ id: string; email: string }>('GET', '/api/v1/me');
    // An invitation for someone else: accept and decline by the caller must meet it as none at all.
    const invitationId = await created('POST', `/api/v1/projects/${projectId}/invitations`, { email: 'invitee@fuzz.example.com', role: 'viewer' });
    const operations = await server.request<{ items: Array<{ id: string }> }>('GET', `/api/v1/projects/${projectId}/clusters/${clusterId}/operations`);
    Object.assign(fixtures, {
      project: [projectId],
      member: [memberId, me.body.id],
      invitation: [invitationId],
      credential: [awsId, doId],
      user: [memberId, me.body.id],
      cluster: [clusterId],
      pool: [poolId],
      operation: operations.body.items.map((operation) => operation.id),
    });
    fixtures.seed.push(spare);

    const keys = [sshPublicKey(), sshPublicKey()];
    const credentialId = fc.oneof(fc.constantFrom(awsId, doId), fc.uuid());
    const poolHints: Hints = {
      credentialId,
      region: fc.constantFrom('eu-central-1', 'us-east-1', 'nyc3', 'fra1', 'mars-1'),
      size: fc.constantFrom('t3.medium', 'm6g.large', 's-2vcpu-4gb', 'huge'),
      image: fc.constantFrom('ubuntu-24.04', 'ubuntu-22.04', 'ami-0123456789abcdef0', 'ubuntu-24-04-x64', 'debian-13', 'ami-ubuntu'),
      sshPublicKeys: fc.array(fc.constantFrom(...keys, 'ssh-rsa AAAAB3NzaC1lZDI1NTE5AAAAIFake'), { maxLength: 3 }),
    };
    const version = fc.constantFrom(...SUPPORTED_VERSIONS.map((entry) => entry.version), '1.12.0', 'v1.37.2', '1.37', 'latest');
    const email = fc.oneof(fc.constantFrom(memberEmail, me.body.email), fc.emailAddress());
    const kubeconfig = fc.oneof(
      { weight: 3, arbitrary: fc.constant(seed.kubeconfig) },
      { weight: 1, arbitrary: fc.constant(seed.kubeconfig.replace(/server: https:/, 'server: http:')) },
      { weight: 1, arbitrary: fc.constant('apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n') },
      { weight: 1, arbitrary: fc.string({ minLength: 20, maxLength: 80 }) },
    );
    const p = { id: 'project' } as const;
    const c = { id: 'cluster' } as const;
    const np = { id: 'pool' } as const;
    routes = [
      { name: 'create project', touches: ['projects'], method: 'POST', path: ['projects'], body: bodyFromSchema(createProjectSchema), creates: 'project' },
      { name: 'update project', touches: ['projects'], method: 'PATCH', path: ['projects', p], body: bodyFromSchema(updateProjectSchema) },
      { name: 'delete project', touches: ['projects', 'clusters'], method: 'DELETE', path: ['projects', { id: 'project', destructive: true }] },
      {
        name: 'add member',
        touches: ['members', 'users'],
        method: 'POST',
        path: ['projects', p, 'members'],
        body: bodyFromSchema(addMemberSchema, { userId: fc.oneof(fc.constantFrom(memberId, me.body.id), fc.uuid()) }),
        creates: 'member',
      },
      {
        name: 'invite',
        touches: ['invitations'],
        method: 'POST',
        path: ['projects', p, 'invitations'],
        body: bodyFromSchema(createInvitationSchema, { email }),
        creates: 'invitation',
      },
      {
        name: 'revoke invitation',
        touches: ['invitations'],
        method: 'DELETE',
        path: ['projects', p, 'invitations', { id: 'invitation', destructive: true }],
      },
      { name: 'accept invitation', touches: ['invitations', 'members'], method: 'POST', path: ['me', 'invitations', { id: 'invitation' }, 'accept'] },
      { name: 'decline invitation', touches: ['invitations'], method: 'POST', path: ['me', 'invitations', { id: 'invitation' }, 'decline'] },
      {
        name: 'update member',
        touches: ['members'],
        method: 'PATCH',
        path: ['projects', p, 'members', { id: 'member' }],
        body: bodyFromSchema(updateMemberSchema),
      },
      { name: 'remove member', touches: ['members'], method: 'DELETE', path: ['projects', p, 'members', { id: 'member', destructive: true }] },
      {
        name: 'create credential',
        touches: ['credentials'],
        method: 'POST',
        path: ['projects', p, 'credentials'],
        body: bodyFromSchema(createCredentialSchema),
        creates: 'credential',
      },
      { name: 'delete credential', touches: ['credentials'], method: 'DELETE', path: ['projects', p, 'credentials', { id: 'credential', destructive: true }] },
      { name: 'create user', touches: ['users'], method: 'POST', path: ['users'], body: bodyFromSchema(createUserSchema, { email }), creates: 'user' },
      { name: 'create token', touches: ['tokens'], method: 'POST', path: ['tokens'], body: bodyFromSchema(createTokenSchema), creates: 'token' },
      {
        name: 'create token for a user',
        touches: ['tokens'],
        method: 'POST',
        path: ['users', { id: 'user' }, 'tokens'],
        body: bodyFromSchema(createTokenSchema),
        creates: 'token',
      },
      { name: 'revoke token', touches: ['tokens'], method: 'DELETE', path: ['tokens', { id: 'token', destructive: true }] },
      {
        name: 'create cluster',
        touches: ['clusters', 'seeds'],
        method: 'POST',
        path: ['projects', p, 'clusters'],
        body: bodyFromSchema(createClusterSchema, {
          version,
          seed: fc.constantFrom('fuzz-seed', 'fuzz-spare', 'nope'),
          region: fc.constantFrom('eu-central-1', 'us-east-1'),
          cni: fc.constantFrom('cilium', 'flannel', 'none', 'weave'),
          nodePool: bodyFromSchema(createNodePoolSchema, poolHints),
        }),
        creates: 'cluster',
      },
      {
        name: 'upgrade cluster',
        touches: ['clusters', 'operations'],
        method: 'PATCH',
        path: ['projects', p, 'clusters', c],
        body: bodyFromSchema(upgradeClusterSchema, { version }),
      },
      { name: 'delete cluster', touches: ['clusters'], method: 'DELETE', path: ['projects', p, 'clusters', { id: 'cluster', destructive: true }] },
      {
        name: 'create node pool',
        touches: ['pools'],
        method: 'POST',
        path: ['projects', p, 'clusters', c, 'nodepools'],
        body: bodyFromSchema(createNodePoolSchema, poolHints),
        creates: 'pool',
      },
      {
        name: 'scale node pool',
        touches: ['pools', 'operations'],
        method: 'PATCH',
        path: ['projects', p, 'clusters', c, 'nodepools', np],
        body: bodyFromSchema(scaleNodePoolSchema),
      },
      { name: 'delete node pool', touches: ['pools'], method: 'DELETE', path: ['projects', p, 'clusters', c, 'nodepools', { id: 'pool', destructive: true }] },
      { name: 'roll out node pool', touches: ['pools', 'operations'], method: 'POST', path: ['projects', p, 'clusters', c, 'nodepools', np, 'rollout'] },
      {
        name: 'replace node',
        touches: ['operations'],
        method: 'DELETE',
        path: ['projects', p, 'clusters', c, 'nodepools', np, 'nodes', { id: 'node', destructive: true }],
      },
      { name: 'register seed', touches: ['seeds'], method: 'POST', path: ['seeds'], body: bodyFromSchema(registerSeedSchema, { kubeconfig }), creates: 'seed' },
      { name: 'cordon seed', touches: ['seeds'], method: 'POST', path: ['seeds', { id: 'seed', destructive: true }, 'cordon'] },
      { name: 'uncordon seed', touches: ['seeds'], method: 'POST', path: ['seeds', { id: 'seed', destructive: true }, 'uncordon'] },
      { name: 'seed health check', touches: ['seeds'], method: 'POST', path: ['seeds', { id: 'seed', destructive: true }, 'health-check'] },
      { name: 'delete seed', touches: ['seeds'], method: 'DELETE', path: ['seeds', { id: 'seed', destructive: true }] },
      { name: 'cluster events', method: 'GET', path: ['projects', p, 'clusters', c, 'events'], query: ['after'] },
      { name: 'cluster event stream', method: 'GET', path: ['projects', p, 'clusters', c, 'events', 'stream'], query: ['after'], stream: true },
      { name: 'project audit', method: 'GET', path: ['projects', p, 'audit'], query: ['before'] },
      { name: 'platform audit', method: 'GET', path: ['audit'], query: ['before'] },
      { name: 'operation', method: 'GET', path: ['projects', p, 'operations', { id: 'operation' }] },
    ];
  });

  afterAll(async () => {
    await server?.destroy();
    await seed?.close();
  });

  type Row = Record<string, unknown>;
  const pick = (row: Row, keys: string[]) => keys.map((key) => row[key]);
  const live = (rows: Row[]) => rows.filter((row) => row.deletionRequestedAt === null);
  /**
   * How to read each resource a request may change, reduced to what the API writes: phases,
   * conditions, health and capacity use are the worker's and move on their own.
   */
  const resources: Record<Resource, { path: () => string; view: (rows: Row[]) => unknown }> = {
    projects: { path: () => '/projects', view: (rows) => rows.map((row) => pick(row, ['id', 'name', 'displayName'])) },
    members: { path: () => `/projects/${fixtures.project[0]}/members`, view: (rows) => rows.map((row) => pick(row, ['userId', 'email', 'role'])) },
    invitations: {
      path: () => `/projects/${fixtures.project[0]}/invitations`,
      view: (rows) => rows.map((row) => pick(row, ['id', 'email', 'role', 'state'])),
    },
    credentials: {
      path: () => `/projects/${fixtures.project[0]}/credentials`,
      view: (rows) => rows.map((row) => pick(row, ['id', 'name', 'provider', 'summary'])),
    },
    clusters: {
      path: () => `/projects/${fixtures.project[0]}/clusters`,
      view: (rows) =>
        live(rows).map((row) => pick(row, ['id', 'name', 'version', 'generation', 'exposeStrategy', 'etcdReplicas', 'network', 'cni', 'addons', 'seed'])),
    },
    pools: {
      path: () => `/projects/${fixtures.project[0]}/clusters/${fixtures.cluster[0]}/nodepools`,
      view: (rows) =>
        live(rows).map((row) =>
          pick(row, ['id', 'name', 'replicas', 'credentialId', 'region', 'size', 'image', 'labels', 'taints', 'sshPublicKeys', 'healthCheck']),
        ),
    },
    operations: {
      path: () => `/projects/${fixtures.project[0]}/clusters/${fixtures.cluster[0]}/operations`,
      view: (rows) => rows.map((row) => pick(row, ['id', 'kind', 'target'])),
    },
    users: { path: () => '/users', view: (rows) => rows.map((row) => pick(row, ['id', 'email', 'name', 'admin'])) },
    tokens: { path: () => '/tokens', view: (rows) => rows.map((row) => pick(row, ['id', 'name', 'expiresAt', 'revokedAt'])) },
    seeds: {
      path: () => '/seeds',
      view: (rows) => rows.map((row) => [...pick(row, ['id', 'name', 'provider', 'region', 'labels', 'cordoned']), (row.capacity as Row).max]),
    },
    // Every write the API accepts appends to the audit log in its transaction: its head moves with any of them.
    audit: { path: () => '/audit', view: (rows) => [rows.length, rows[0]?.id] },
  };

  async function read(resource: Resource): Promise<string> {
    const path = resources[resource].path();
    const response = await server.request<{ items: Row[] }>('GET', `/api/v1${path}`);
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.text}`);
    return JSON.stringify(resources[resource].view(response.body.items));
  }

  /**
   * The resources a request may touch, as last read. A refused request must leave them as they
   * were; an accepted one empties the cache, since it may have changed anything.
   */
  const known = new Map<Resource, string>();

  async function snapshot(touched: readonly Resource[]): Promise<Map<Resource, string>> {
    const keys: Resource[] = ['audit', ...touched];
    const values = await Promise.all(keys.map((key) => read(key)));
    return new Map(keys.map((key, index) => [key, values[index]]));
  }

  function resolveId(slot: Slot, pick: IdPick): string {
    if (pick.source === 'garbage') return pick.garbage;
    const candidates = [
      ...(slot.destructive && slot.id !== 'credential' && slot.id !== 'project' && slot.id !== 'member' ? [] : fixtures[slot.id]),
      ...gone[slot.id],
    ];
    // A destructive route never gets the fixtures it could remove for good; the spare seed may go.
    if (slot.destructive && slot.id === 'seed') candidates.push(fixtures.seed[1]);
    if (pick.source === 'random' || candidates.length === 0) return pick.uuid;
    return encodeSegment(candidates[pick.index % candidates.length]);
  }

  const requestArbitrary = (): fc.Arbitrary<FuzzRequest> =>
    fc.integer({ min: 0, max: routes.length - 1 }).chain((index) => {
      const route = routes[index];
      const slots = route.path.filter((segment): segment is Slot => typeof segment !== 'string');
      const hasBody = route.body !== undefined;
      return fc.record({
        route: fc.constant(index),
        ids: fc.tuple(...slots.map(() => idPick)),
        shape: hasBody
          ? fc.constantFrom('valid' as const, 'valid' as const, 'mutated' as const, 'mutated' as const, 'mutated' as const, 'none' as const)
          : fc.constantFrom('none' as const, 'none' as const, 'mutated' as const),
        body: route.body ?? fc.constant({}),
        change: mutation,
        how: transport,
        query: route.query
          ? fc.array(
              fc.tuple(
                fc.oneof(
                  fc.constantFrom(...route.query),
                  fc.constantFrom(`${route.query[0]}[]`, `${route.query[0]}[x]`, 'limit'),
                  fc.string({ maxLength: 6 }).map(encodeSegment),
                ),
                queryValue,
              ),
              { maxLength: 3 },
            )
          : fc.constant([] as Array<[string, string]>),
        lastEventId: route.stream
          ? fc.option(fc.oneof(fc.constantFrom('0', '1', '-1', '1e400', '99999999999999999999', ''), fc.string({ maxLength: 10 })), { nil: undefined })
          : fc.constant(undefined),
        methodOverride: fc.oneof(
          { weight: 15, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom('PUT' as const, 'POST' as const, 'PATCH' as const) },
        ),
      });
    });

  interface Sent {
    method: string;
    url: string;
    status: number;
    contentType: string;
    text: string;
    description: string;
  }

  async function send(request: FuzzRequest): Promise<Sent> {
    const route = routes[request.route];
    let slot = 0;
    const path = route.path.map((segment) => (typeof segment === 'string' ? segment : resolveId(segment, request.ids[slot++]))).join('/');
    const query = request.query.map(([key, value]) => `${key}=${value}`).join('&');
    const url = `${server.baseUrl}/api/v1/${path}${query ? `?${query}` : ''}`;
    const method = request.methodOverride ?? route.method;
    const headers: Record<string, string> = { authorization: `Bearer ${server.adminToken}` };
    let body: string | undefined;
    if (request.shape !== 'none' || (request.shape === 'none' && request.how.kind === 'text')) {
      const value = request.shape === 'mutated' ? mutate(request.body, request.change) : request.shape === 'valid' ? request.body : undefined;
      const encoded = encode(value, request.how);
      body = method === 'GET' ? undefined : encoded.text;
      if (body !== undefined && encoded.contentType) headers['content-type'] = encoded.contentType;
    }
    if (request.lastEventId !== undefined) headers['last-event-id'] = request.lastEventId;
    const description = `${method} ${url.slice(server.baseUrl.length, server.baseUrl.length + 300)} ${headers['content-type'] ?? ''} ${body === undefined ? '' : body.slice(0, 500)}`;
    const abort = new AbortController();
    const response = await fetch(url, { method, headers, body, signal: abort.signal });
    const contentType = response.headers.get('content-type') ?? '';
    // An accepted event stream never ends by itself: its headers are the answer.
    if (contentType.startsWith('text/event-stream')) {
      abort.abort();
      return { method, url, status: response.status, contentType, text: '', description };
    }
    return { method, url, status: response.status, contentType, text: await response.text(), description };
  }

  /** Undoes an accepted create so the next request meets the same world, and remembers the id. */
  async function undo(route: Route, sent: Sent): Promise<void> {
    const created = JSON.parse(sent.text) as { id?: string; userId?: string };
    const [projectId] = fixtures.project;
    const [clusterId] = fixtures.cluster;
    const removals: Partial<Record<NonNullable<Route['creates']>, string>> = {
      project: `/api/v1/projects/${created.id}`,
      member: `/api/v1/projects/${projectId}/members/${created.userId}`,
      invitation: `/api/v1/projects/${projectId}/invitations/${created.id}`,
      credential: `/api/v1/projects/${projectId}/credentials/${created.id}`,
      token: `/api/v1/tokens/${created.id}`,
      cluster: `/api/v1/projects/${projectId}/clusters/${created.id}`,
      pool: `/api/v1/projects/${projectId}/clusters/${clusterId}/nodepools/${created.id}`,
      seed: `/api/v1/seeds/${created.id}`,
    };
    const kind = route.creates!;
    const id = created.id ?? created.userId ?? '';
    const removal = removals[kind];
    // Users cannot be deleted: they are counted, and later requests may name them.
    if (!removal) return void fixtures.user.push(id);
    const response = await server.request('DELETE', removal);
    if (response.status !== 204 && response.status !== 202) throw new Error(`undoing ${route.name} ${id}: ${response.status} ${response.text}`);
    gone[kind].push(id);
  }

  it(
    `answers ${RUNS} generated requests without a 5xx, with problem+json on every 4xx, and changes nothing it refuses`,
    async () => {
      console.log(`fuzzing with HM_FUZZ_SEED=${SEED} HM_FUZZ_RUNS=${RUNS}`);
      const started = Date.now();
      const spent = { requests: 0, snapshots: 0 };
      await fc.assert(
        fc.asyncProperty(requestArbitrary(), async (request) => {
          const route = routes[request.route];
          const touched = route.touches ?? [];
          let mark = Date.now();
          for (const resource of ['audit' as const, ...touched]) if (!known.has(resource)) known.set(resource, await read(resource));
          const before = new Map(known);
          spent.snapshots += Date.now() - mark;
          mark = Date.now();
          const sent = await send(request);
          spent.requests += Date.now() - mark;
          const outcome = `${route.name} ${request.methodOverride ?? ''}→ ${sent.status}`;
          count(outcome);
          if (sent.status >= 500) throw new Error(`5xx: ${sent.status} ${sent.text.slice(0, 300)}\n  request: ${sent.description}`);
          if (sent.status >= 400) {
            const problem = JSON.parse(sent.text) as { code?: unknown; status?: unknown };
            if (
              !sent.contentType.startsWith('application/problem+json') ||
              typeof problem.code !== 'string' ||
              problem.code === '' ||
              problem.status !== sent.status
            ) {
              throw new Error(`not a problem: ${sent.status} ${sent.contentType} ${sent.text.slice(0, 300)}\n  request: ${sent.description}`);
            }
            const documented = DOCUMENTED_STATUS[problem.code];
            if (documented !== undefined && documented !== sent.status) {
              throw new Error(`${problem.code} answered ${sent.status}, documented as ${documented}\n  request: ${sent.description}`);
            }
            count(`code ${problem.code}`);
          }
          const accepted = sent.status < 300 && sent.method !== 'GET';
          if (accepted) {
            if (route.creates && sent.method === route.method) await undo(route, sent);
            known.clear();
            return;
          }
          mark = Date.now();
          const after = await snapshot(touched);
          spent.snapshots += Date.now() - mark;
          for (const [resource, value] of after) {
            if (value !== before.get(resource)) {
              throw new Error(`a ${sent.status} changed ${resource}\n  request: ${sent.description}\n  before: ${before.get(resource)}\n  after:  ${value}`);
            }
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: process.env.HM_FUZZ_SHRINK !== '1' },
      );
      const seconds = (Date.now() - started) / 1000;
      const table = [...outcomes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `  ${key}: ${value}`);
      console.log(
        `${RUNS} requests in ${seconds.toFixed(1)} s (requests ${(spent.requests / 1000).toFixed(1)} s, state snapshots ${(spent.snapshots / 1000).toFixed(1)} s)\n${table.join('\n')}`,
      );
      // The run must have exercised both sides: refusals with many codes, and accepted writes.
      const accepted = [...outcomes.entries()].filter(([key]) => / → 20[0-4]$/.test(key) && !key.includes('events') && !key.includes('audit'));
      expect(accepted.length).toBeGreaterThan(RUNS >= 500 ? 5 : 0);
      expect([...outcomes.keys()].filter((key) => key.startsWith('code ')).length).toBeGreaterThan(RUNS >= 500 ? 15 : 0);
    },
    scaled(60_000 + RUNS * 200),
  );
});
