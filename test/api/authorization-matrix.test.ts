// Every route against every kind of caller: owner, editor, viewer, a user of another project,
// a platform admin, and no token at all. Denials are checked first; allowed calls then run
// against fresh resources so destructive routes do not disturb each other.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCredential, projectWithRoles, sshPublicKey, type ProjectWithRoles } from '../support/fixtures.js';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

type Caller = 'owner' | 'editor' | 'viewer' | 'outsider' | 'admin' | 'anonymous';
type MinRole = 'viewer' | 'editor' | 'owner' | 'admin' | 'authenticated';

interface Ids {
  projectId: string;
  clusterId: string;
  poolId: string;
  credentialId: string;
  memberId: string;
  operationId: string;
  seedId: string;
  userId: string;
  tokenId: string;
  invitationId: string;
}

interface RouteCase {
  name: string;
  method: string;
  path: (ids: Ids) => string;
  body?: (ids: Ids) => unknown;
  min: MinRole;
  /** The status an allowed caller gets. */
  ok: number;
  /** Creates fresh targets for one allowed call by `caller`. */
  fresh?: (ids: Ids, caller: Caller) => Promise<Partial<Ids>>;
}

const unique = () => randomBytes(3).toString('hex');
const P = (ids: Ids) => `/api/v1/projects/${ids.projectId}`;
const C = (ids: Ids) => `${P(ids)}/clusters/${ids.clusterId}`;
const NP = (ids: Ids) => `${C(ids)}/nodepools/${ids.poolId}`;

describe('authorisation matrix', () => {
  let server: TestServer;
  let seed: TestSeed;
  let roles: ProjectWithRoles;
  let base: Ids;

  const admin = <T>(method: string, path: string, body?: unknown) => server.request<T>(method, path, { body });
  const freshCluster = async (ids: Ids, version?: string) => {
    const cluster = await admin<{ id: string }>('POST', `${P(ids)}/clusters`, { name: `c-${unique()}`, ...(version ? { version } : {}), etcdReplicas: 1 });
    return { clusterId: cluster.body.id };
  };
  const freshPool = async (ids: Ids) => {
    const pool = await admin<{ id: string }>('POST', `${C(ids)}/nodepools`, {
      name: `p-${unique()}`,
      credentialId: ids.credentialId,
      region: 'eu-central-1',
      size: 't3.medium',
      replicas: 1,
      sshPublicKeys: [sshPublicKey()],
    });
    return { poolId: pool.body.id };
  };
  const freshUser = async () => ({ userId: (await admin<{ id: string }>('POST', '/api/v1/users', { email: `u-${unique()}@example.com` })).body.id });
  const freshMember = async (ids: Ids) => {
    const member = await admin<{ userId: string }>('POST', `${P(ids)}/members`, { userId: (await freshUser()).userId, role: 'viewer' });
    return { memberId: member.body.userId };
  };
  const freshInvitation = async (ids: Ids) => ({
    invitationId: (await admin<{ id: string }>('POST', `${P(ids)}/invitations`, { email: `i-${unique()}@example.com`, role: 'viewer' })).body.id,
  });
  /** An invitation addressed to `caller`, into a project of someone else's that the caller is not in. */
  const invitationFor = async (_ids: Ids, caller: Caller): Promise<Partial<Ids>> => {
    const inviter = caller === 'outsider' ? roles.tokens.owner : roles.tokens.outsider;
    const email = (await server.request<{ email: string }>('GET', '/api/v1/me', { token: tokenOf(caller) })).body.email;
    const project = await server.request<{ id: string }>('POST', '/api/v1/projects', { token: inviter, body: { name: `inv-${unique()}` } });
    const invitation = await server.request<{ id: string }>('POST', `/api/v1/projects/${project.body.id}/invitations`, {
      token: inviter,
      body: { email, role: 'viewer' },
    });
    if (invitation.status !== 201) throw new Error(`invitation for ${caller} failed: ${invitation.text}`);
    return { invitationId: invitation.body.id };
  };
  const freshCredential = async (ids: Ids) => ({
    credentialId: (await admin<{ id: string }>('POST', `${P(ids)}/credentials`, awsCredential(`cred-${unique()}`))).body.id,
  });
  /** A project of its own with the same people in the same roles. */
  const freshProject = async (): Promise<Partial<Ids>> => {
    const project = await admin<{ id: string }>('POST', '/api/v1/projects', { name: `fresh-${unique()}` });
    const people = await admin<{ items: Array<{ userId: string; role: string }> }>('GET', `/api/v1/projects/${roles.projectId}/members`);
    for (const person of people.body.items) {
      await admin('POST', `/api/v1/projects/${project.body.id}/members`, { userId: person.userId, role: person.role });
    }
    return { projectId: project.body.id };
  };

  const routes: RouteCase[] = [
    { name: 'get project', method: 'GET', path: P, min: 'viewer', ok: 200 },
    { name: 'update project', method: 'PATCH', path: P, body: () => ({ displayName: 'Renamed' }), min: 'owner', ok: 200 },
    { name: 'delete project', method: 'DELETE', path: P, min: 'owner', ok: 204, fresh: freshProject },
    { name: 'list members', method: 'GET', path: (ids) => `${P(ids)}/members`, min: 'viewer', ok: 200 },
    // Adding an existing account directly is the platform admin's; owners invite.
    {
      name: 'add member',
      method: 'POST',
      path: (ids) => `${P(ids)}/members`,
      body: (ids) => ({ userId: ids.userId, role: 'viewer' }),
      min: 'admin',
      ok: 201,
      fresh: freshUser,
    },
    { name: 'list invitations', method: 'GET', path: (ids) => `${P(ids)}/invitations`, min: 'owner', ok: 200 },
    {
      name: 'invite',
      method: 'POST',
      path: (ids) => `${P(ids)}/invitations`,
      body: () => ({ email: `inv-${unique()}@example.com`, role: 'editor' }),
      min: 'owner',
      ok: 201,
    },
    { name: 'revoke invitation', method: 'DELETE', path: (ids) => `${P(ids)}/invitations/${ids.invitationId}`, min: 'owner', ok: 204, fresh: freshInvitation },
    { name: 'list own invitations', method: 'GET', path: () => '/api/v1/me/invitations', min: 'authenticated', ok: 200 },
    {
      name: 'accept own invitation',
      method: 'POST',
      path: (ids) => `/api/v1/me/invitations/${ids.invitationId}/accept`,
      min: 'authenticated',
      ok: 200,
      fresh: invitationFor,
    },
    {
      name: 'decline own invitation',
      method: 'POST',
      path: (ids) => `/api/v1/me/invitations/${ids.invitationId}/decline`,
      min: 'authenticated',
      ok: 204,
      fresh: invitationFor,
    },
    {
      name: 'change member role',
      method: 'PATCH',
      path: (ids) => `${P(ids)}/members/${ids.memberId}`,
      body: () => ({ role: 'editor' }),
      min: 'owner',
      ok: 200,
      fresh: freshMember,
    },
    { name: 'remove member', method: 'DELETE', path: (ids) => `${P(ids)}/members/${ids.memberId}`, min: 'owner', ok: 204, fresh: freshMember },
    { name: 'list credentials', method: 'GET', path: (ids) => `${P(ids)}/credentials`, min: 'viewer', ok: 200 },
    { name: 'create credential', method: 'POST', path: (ids) => `${P(ids)}/credentials`, body: () => awsCredential(`c-${unique()}`), min: 'editor', ok: 201 },
    { name: 'delete credential', method: 'DELETE', path: (ids) => `${P(ids)}/credentials/${ids.credentialId}`, min: 'editor', ok: 204, fresh: freshCredential },
    { name: 'project audit log', method: 'GET', path: (ids) => `${P(ids)}/audit`, min: 'owner', ok: 200 },
    {
      name: 'create cluster',
      method: 'POST',
      path: (ids) => `${P(ids)}/clusters`,
      body: () => ({ name: `k-${unique()}`, etcdReplicas: 1 }),
      min: 'editor',
      ok: 201,
    },
    { name: 'list clusters', method: 'GET', path: (ids) => `${P(ids)}/clusters`, min: 'viewer', ok: 200 },
    { name: 'get cluster', method: 'GET', path: C, min: 'viewer', ok: 200 },
    {
      name: 'upgrade cluster',
      method: 'PATCH',
      path: C,
      body: () => ({ version: '1.37.2' }),
      min: 'editor',
      ok: 202,
      fresh: (ids) => freshCluster(ids, '1.36.3'),
    },
    { name: 'delete cluster', method: 'DELETE', path: C, min: 'editor', ok: 202, fresh: (ids) => freshCluster(ids) },
    { name: 'cluster events', method: 'GET', path: (ids) => `${C(ids)}/events`, min: 'viewer', ok: 200 },
    { name: 'cluster event stream', method: 'GET', path: (ids) => `${C(ids)}/events/stream`, min: 'viewer', ok: 200 },
    { name: 'cluster operations', method: 'GET', path: (ids) => `${C(ids)}/operations`, min: 'viewer', ok: 200 },
    { name: 'get operation', method: 'GET', path: (ids) => `${P(ids)}/operations/${ids.operationId}`, min: 'viewer', ok: 200 },
    // The reconciler issues the PKI and endpoint right after placement (beforeAll waits for it).
    { name: 'download kubeconfig', method: 'GET', path: (ids) => `${C(ids)}/kubeconfig`, min: 'viewer', ok: 200 },
    {
      name: 'create node pool',
      method: 'POST',
      path: (ids) => `${C(ids)}/nodepools`,
      body: () => ({ name: `np-${unique()}`, credentialId: base.credentialId, region: 'eu-central-1', size: 't3.small', replicas: 0 }),
      min: 'editor',
      ok: 201,
    },
    { name: 'list node pools', method: 'GET', path: (ids) => `${C(ids)}/nodepools`, min: 'viewer', ok: 200 },
    { name: 'get node pool', method: 'GET', path: NP, min: 'viewer', ok: 200 },
    { name: 'scale node pool', method: 'PATCH', path: NP, body: () => ({ replicas: 2 }), min: 'editor', ok: 202 },
    { name: 'delete node pool', method: 'DELETE', path: NP, min: 'editor', ok: 202, fresh: freshPool },
    { name: 'list nodes', method: 'GET', path: (ids) => `${NP(ids)}/nodes`, min: 'viewer', ok: 200 },
    // This seed runs no pods, so an authorised rollout is refused for the control plane not being Running.
    { name: 'roll out node pool', method: 'POST', path: (ids) => `${NP(ids)}/rollout`, min: 'editor', ok: 409 },
    { name: 'me', method: 'GET', path: () => '/api/v1/me', min: 'authenticated', ok: 200 },
    { name: 'catalog', method: 'GET', path: () => '/api/v1/catalog', min: 'authenticated', ok: 200 },
    { name: 'list own projects', method: 'GET', path: () => '/api/v1/projects', min: 'authenticated', ok: 200 },
    { name: 'create project', method: 'POST', path: () => '/api/v1/projects', body: () => ({ name: `own-${unique()}` }), min: 'authenticated', ok: 201 },
    { name: 'list own tokens', method: 'GET', path: () => '/api/v1/tokens', min: 'authenticated', ok: 200 },
    { name: 'create own token', method: 'POST', path: () => '/api/v1/tokens', body: () => ({ name: 'matrix' }), min: 'authenticated', ok: 201 },
    { name: 'list users', method: 'GET', path: () => '/api/v1/users', min: 'admin', ok: 200 },
    { name: 'create user', method: 'POST', path: () => '/api/v1/users', body: () => ({ email: `u-${unique()}@example.com` }), min: 'admin', ok: 201 },
    {
      name: 'issue token for user',
      method: 'POST',
      path: (ids) => `/api/v1/users/${ids.userId}/tokens`,
      body: () => ({ name: 'issued' }),
      min: 'admin',
      ok: 201,
    },
    { name: 'platform audit log', method: 'GET', path: () => '/api/v1/audit', min: 'admin', ok: 200 },
    { name: 'list seeds', method: 'GET', path: () => '/api/v1/seeds', min: 'admin', ok: 200 },
    { name: 'get seed', method: 'GET', path: (ids) => `/api/v1/seeds/${ids.seedId}`, min: 'admin', ok: 200 },
    {
      name: 'register seed',
      method: 'POST',
      path: () => '/api/v1/seeds',
      body: () => ({ name: `s-${unique()}`, kubeconfig: seed.kubeconfig, maxClusters: 1 }),
      min: 'admin',
      ok: 201,
    },
    { name: 'cordon seed', method: 'POST', path: (ids) => `/api/v1/seeds/${ids.seedId}/cordon`, min: 'admin', ok: 200 },
    { name: 'uncordon seed', method: 'POST', path: (ids) => `/api/v1/seeds/${ids.seedId}/uncordon`, min: 'admin', ok: 200 },
    { name: 'seed health check', method: 'POST', path: (ids) => `/api/v1/seeds/${ids.seedId}/health-check`, min: 'admin', ok: 202 },
    { name: 'delete seed in use', method: 'DELETE', path: (ids) => `/api/v1/seeds/${ids.seedId}`, min: 'admin', ok: 409 },
  ];

  beforeAll(async () => {
    ensureBuilt();
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'postgres' });
    const registered = await admin<{ id: string }>('POST', '/api/v1/seeds', { name: 'matrix-seed', kubeconfig: seed.kubeconfig, maxClusters: 500 });
    roles = await projectWithRoles(server, 'matrix');
    const ids: Partial<Ids> = { projectId: roles.projectId, seedId: registered.body.id };
    Object.assign(ids, await freshCredential(ids as Ids));
    Object.assign(ids, await freshCluster(ids as Ids));
    await eventually(async () => (await admin<{ endpoint: string | null }>('GET', C(ids as Ids))).body.endpoint !== null, 'the cluster endpoint and PKI');
    Object.assign(ids, await freshPool(ids as Ids));
    Object.assign(ids, await freshMember(ids as Ids));
    Object.assign(ids, await freshInvitation(ids as Ids));
    const scale = await admin<{ id: string }>('PATCH', NP(ids as Ids), { replicas: 1 });
    const user = await admin<{ id: string }>('POST', '/api/v1/users', { email: 'subject@example.com' });
    base = { ...(ids as Ids), operationId: scale.body.id, userId: user.body.id, tokenId: '' };
  });

  afterAll(async () => {
    await server?.destroy();
    await seed?.close();
  });

  const tokenOf = (caller: Caller): string | null => (caller === 'anonymous' ? null : caller === 'admin' ? server.adminToken : roles.tokens[caller]);

  function expectedDenial(route: RouteCase, caller: Caller): number | undefined {
    if (caller === 'anonymous') return 401;
    if (caller === 'admin' || route.min === 'authenticated') return undefined;
    if (route.min === 'admin') return 403;
    if (caller === 'outsider') return 404;
    const rank = { viewer: 1, editor: 2, owner: 3 } as const;
    return rank[caller] < rank[route.min] ? 403 : undefined;
  }

  async function call(route: RouteCase, caller: Caller, ids: Ids) {
    if (route.path(ids).endsWith('/events/stream')) {
      const token = tokenOf(caller);
      const response = await fetch(`${server.baseUrl}${route.path(ids)}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(scaled(10_000)),
      });
      if (response.status === 200) {
        await response.body?.cancel();
        return { status: response.status, text: '', body: undefined as unknown };
      }
      const text = await response.text();
      return { status: response.status, text, body: JSON.parse(text) as unknown };
    }
    return server.request(route.method, route.path(ids), { token: tokenOf(caller), body: route.body?.(ids) });
  }

  const callers: Caller[] = ['anonymous', 'outsider', 'viewer', 'editor', 'owner', 'admin'];

  it('denies every caller below a route’s role, without revealing other projects', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      for (const caller of callers) {
        const denial = expectedDenial(route, caller);
        if (denial === undefined) continue;
        const response = await call(route, caller, base);
        const code = (response.body as { code?: string } | undefined)?.code;
        if (response.status !== denial || !code)
          failures.push(`${route.name} as ${caller}: expected ${denial} with a code, got ${response.status} ${response.text.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('lets every caller at or above a route’s role through', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      for (const caller of callers) {
        if (expectedDenial(route, caller) !== undefined) continue;
        const ids = { ...base, ...(route.fresh ? await route.fresh(base, caller) : {}) };
        const response = await call(route, caller, ids);
        if (response.status !== route.ok)
          failures.push(`${route.name} as ${caller}: expected ${route.ok}, got ${response.status} ${response.text.slice(0, 160)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('keeps projects invisible to each other', async () => {
    const outsiderProjects = await server.request<{ items: Array<{ id: string }> }>('GET', '/api/v1/projects', { token: roles.tokens.outsider });
    expect(outsiderProjects.body.items.map((project) => project.id)).not.toContain(base.projectId);
    const ownerProjects = await server.request<{ items: Array<{ name: string }> }>('GET', '/api/v1/projects', { token: roles.tokens.owner });
    expect(ownerProjects.body.items.map((project) => project.name)).not.toContain('matrix-other');
    const missing = await server.request<{ code: string }>('GET', '/api/v1/projects/00000000-0000-4000-8000-000000000000/clusters', {
      token: roles.tokens.outsider,
    });
    const hidden = await server.request<{ code: string }>('GET', `${P(base)}/clusters`, { token: roles.tokens.outsider });
    expect({ status: hidden.status, body: hidden.body.code }).toEqual({ status: missing.status, body: missing.body.code });
  });

  it('never gives a viewer secrets', async () => {
    const credentials = await server.request('GET', `${P(base)}/credentials`, { token: roles.tokens.viewer });
    expect(credentials.status).toBe(200);
    expect(credentials.text).not.toContain(awsCredential().secretAccessKey);
    expect(credentials.text).not.toContain(awsCredential().accessKeyId);
  });
});
