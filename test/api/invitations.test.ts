// Project invitations, end to end over HTTP: an owner invites an e-mail address, the addressee
// accepts or declines. Inviting never creates an account, and the answer to an invitation does
// not tell the owner whether an account with that address exists.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectWithRoles, type ProjectWithRoles } from '../support/fixtures.js';
import { TestServer, type Backend } from '../support/server.js';
import { eventually } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

interface Invitation {
  id: string;
  projectId: string;
  email: string;
  role: string;
  state: string;
  createdAt: string;
  expiresAt: string;
  invitedBy: { userId: string; email: string } | null;
}
interface MyInvitation extends Invitation {
  project: { id: string; name: string; displayName: string };
}
interface Items<T> {
  items: T[];
}
interface AuditEntry {
  action: string;
  actorUserId: string;
  resourceId: string;
  details: Record<string, unknown>;
}

const unique = () => randomBytes(4).toString('hex');

beforeAll(() => {
  ensureBuilt();
});

/** A user made by the admin, with a token of their own, and no project. */
async function userWithToken(server: TestServer, email: string): Promise<{ id: string; token: string }> {
  const user = await server.request<{ id: string }>('POST', '/api/v1/users', { body: { email } });
  if (user.status !== 201) throw new Error(`user create failed: ${user.text}`);
  const token = await server.request<{ token: string }>('POST', `/api/v1/users/${user.body.id}/tokens`, { body: { name: 'invitations' } });
  return { id: user.body.id, token: token.body.token };
}

describe.each<Backend>(['postgres', 'pglite'])('project invitations on %s', (backend) => {
  let server: TestServer;
  let roles: ProjectWithRoles;
  let invitationsPath: string;

  beforeAll(async () => {
    server = await TestServer.start({ backend });
    roles = await projectWithRoles(server, `inv-${backend}`);
    invitationsPath = `/api/v1/projects/${roles.projectId}/invitations`;
  });

  afterAll(async () => {
    await server?.destroy();
  });

  const invite = (email: string, role = 'viewer', token = roles.tokens.owner) =>
    server.request<Invitation & { code?: string }>('POST', invitationsPath, { token, body: { email, role } });
  const userEmails = async () => (await server.request<Items<{ email: string }>>('GET', '/api/v1/users')).body.items.map((user) => user.email);
  const projectAudit = async () => (await server.request<Items<AuditEntry>>('GET', `/api/v1/projects/${roles.projectId}/audit`)).body.items;

  it('answers an unknown and a known e-mail alike, and creates no account', async () => {
    const known = await userWithToken(server, `known-${unique()}@example.com`);
    const knownEmail = (await server.request<{ email: string }>('GET', '/api/v1/me', { token: known.token })).body.email;
    const unknownEmail = `nobody-${unique()}@example.com`;
    const usersBefore = await userEmails();

    const toUnknown = await invite(unknownEmail, 'editor');
    const toKnown = await invite(knownEmail, 'editor');
    expect(toUnknown.status).toBe(201);
    expect(toKnown.status).toBe(201);
    expect(toUnknown.headers.get('content-type')).toBe(toKnown.headers.get('content-type'));
    // The same fields with the same values, except the invitation's own id, address and times.
    const comparable = ({ id, email, createdAt, expiresAt, ...rest }: Invitation) => ({
      ...rest,
      idType: typeof id,
      email: typeof email,
      createdAt: typeof createdAt,
      expiresAt: typeof expiresAt,
    });
    expect(comparable(toKnown.body)).toEqual(comparable(toUnknown.body));
    expect(Object.keys(toKnown.body).sort()).toEqual(Object.keys(toUnknown.body).sort());
    expect(toKnown.text).not.toContain(known.id);
    expect(toKnown.body).toMatchObject({ email: knownEmail, role: 'editor', state: 'pending', projectId: roles.projectId });
    expect(toUnknown.body.email).toBe(unknownEmail);
    const ownerId = (await server.request<{ id: string }>('GET', '/api/v1/me', { token: roles.tokens.owner })).body.id;
    expect(toKnown.body.invitedBy?.userId).toBe(ownerId);
    // Default lifetime: a week.
    const lifetimeHours = (Date.parse(toUnknown.body.expiresAt) - Date.parse(toUnknown.body.createdAt)) / 3_600_000;
    expect(lifetimeHours).toBeCloseTo(168, 3);

    expect(await userEmails()).toEqual(usersBefore);
    expect(await userEmails()).not.toContain(unknownEmail);
    const listed = await server.request<Items<Invitation>>('GET', invitationsPath, { token: roles.tokens.owner });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((invitation) => invitation.email)).toEqual(expect.arrayContaining([knownEmail, unknownEmail]));
    const created = (await projectAudit()).filter((entry) => entry.action === 'invitation.create').map((entry) => entry.resourceId);
    expect(created).toEqual(expect.arrayContaining([toKnown.body.id, toUnknown.body.id]));
  });

  it('no longer creates accounts through the members route, nor answers an owner about one', async () => {
    const email = `direct-${unique()}@example.com`;
    const before = await userEmails();
    const byEmail = await server.request<{ errors: Array<{ path: string; code: string }> }>('POST', `/api/v1/projects/${roles.projectId}/members`, {
      body: { email, role: 'viewer' },
    });
    // The user id is missing (400, invalid_type) and the address is a field the route does not know.
    expect(byEmail.status).toBe(400);
    expect(byEmail.body.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'userId' }), expect.objectContaining({ code: 'unknown_field' })]),
    );
    const ownerTry = await server.request<{ code: string }>('POST', `/api/v1/projects/${roles.projectId}/members`, {
      token: roles.tokens.owner,
      body: { userId: randomUUID(), role: 'viewer' },
    });
    expect(ownerTry.status).toBe(403);
    expect(ownerTry.body.code).toBe('admin_required');
    const adminUnknown = await server.request<{ code: string }>('POST', `/api/v1/projects/${roles.projectId}/members`, {
      body: { userId: randomUUID(), role: 'viewer' },
    });
    expect(adminUnknown.status).toBe(404);
    expect(adminUnknown.body.code).toBe('user_not_found');
    expect(await userEmails()).toEqual(before);
  });

  it('lets the addressee alone accept, once, with the invited role', async () => {
    const invitee = await userWithToken(server, `Invitee-${unique()}@Example.com`);
    const email = (await server.request<{ email: string }>('GET', '/api/v1/me', { token: invitee.token })).body.email;
    // The address is matched without regard to case.
    const invitation = await invite(email.toUpperCase(), 'editor');
    expect(invitation.status).toBe(201);
    expect(invitation.body.email).toBe(email);
    const accept = (token: string, id = invitation.body.id) =>
      server.request<{ code?: string; id?: string; role?: string }>('POST', `/api/v1/me/invitations/${id}/accept`, { token });

    // Someone else: not listed, and neither acceptable nor declinable (404, as for no invitation at all).
    const othersList = await server.request<Items<MyInvitation>>('GET', '/api/v1/me/invitations', { token: roles.tokens.outsider });
    expect(othersList.body.items.map((item) => item.id)).not.toContain(invitation.body.id);
    for (const action of ['accept', 'decline']) {
      for (const token of [roles.tokens.outsider, roles.tokens.owner]) {
        const response = await server.request<{ code: string }>('POST', `/api/v1/me/invitations/${invitation.body.id}/${action}`, { token });
        expect({ action, status: response.status, code: response.body.code }).toEqual({ action, status: 404, code: 'invitation_not_found' });
      }
    }
    expect((await accept(invitee.token, randomUUID())).status).toBe(404);
    expect((await accept(invitee.token, 'not-a-uuid')).status).toBe(404);

    const mine = await server.request<Items<MyInvitation>>('GET', '/api/v1/me/invitations', { token: invitee.token });
    expect(mine.status).toBe(200);
    expect(mine.body.items).toHaveLength(1);
    expect(mine.body.items[0]).toMatchObject({
      id: invitation.body.id,
      role: 'editor',
      state: 'pending',
      project: { id: roles.projectId, name: `inv-${backend}` },
    });
    expect(mine.body.items[0]?.invitedBy?.email).toMatch(/^owner-inv-/);
    expect((await server.request('GET', `/api/v1/projects/${roles.projectId}`, { token: invitee.token })).status).toBe(404);

    const accepted = await accept(invitee.token);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ id: roles.projectId, role: 'editor' });
    const project = await server.request<{ role: string }>('GET', `/api/v1/projects/${roles.projectId}`, { token: invitee.token });
    expect(project.status).toBe(200);
    expect(project.body.role).toBe('editor');
    const members = await server.request<Items<{ userId: string; role: string }>>('GET', `/api/v1/projects/${roles.projectId}/members`);
    expect(members.body.items.find((member) => member.userId === invitee.id)?.role).toBe('editor');

    const again = await accept(invitee.token);
    expect(again.status).toBe(410);
    expect(again.body.code).toBe('invitation_accepted');
    expect((await server.request<Items<MyInvitation>>('GET', '/api/v1/me/invitations', { token: invitee.token })).body.items).toEqual([]);
    const open = await server.request<Items<Invitation>>('GET', invitationsPath, { token: roles.tokens.owner });
    expect(open.body.items.map((item) => item.id)).not.toContain(invitation.body.id);
    const audit = (await projectAudit()).find((entry) => entry.action === 'invitation.accept' && entry.resourceId === invitation.body.id);
    expect(audit?.actorUserId).toBe(invitee.id);
    expect(audit?.details).toMatchObject({ role: 'editor' });
  });

  it('refuses a second pending invitation for an address, and invitations for members', async () => {
    const email = `twice-${unique()}@example.com`;
    expect((await invite(email)).status).toBe(201);
    const again = await invite(email.toUpperCase(), 'owner');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invitation_pending');
    const editorEmail = (await server.request<{ email: string }>('GET', '/api/v1/me', { token: roles.tokens.editor })).body.email;
    const member = await invite(editorEmail);
    expect(member.status).toBe(409);
    expect(member.body.code).toBe('already_member');
    const pending = (await server.request<Items<Invitation>>('GET', invitationsPath, { token: roles.tokens.owner })).body.items;
    expect(pending.filter((item) => item.email === email)).toHaveLength(1);
    expect(pending.filter((item) => item.email === editorEmail)).toHaveLength(0);
  });

  it('makes a revoked invitation unusable', async () => {
    const invitee = await userWithToken(server, `revoked-${unique()}@example.com`);
    const target = await invite((await server.request<{ email: string }>('GET', '/api/v1/me', { token: invitee.token })).body.email, 'owner');
    expect(target.status).toBe(201);
    const revoked = await server.request('DELETE', `${invitationsPath}/${target.body.id}`, { token: roles.tokens.owner });
    expect(revoked.status).toBe(204);
    const accept = await server.request<{ code: string }>('POST', `/api/v1/me/invitations/${target.body.id}/accept`, { token: invitee.token });
    expect(accept.status).toBe(410);
    expect(accept.body.code).toBe('invitation_revoked');
    expect((await server.request('GET', `/api/v1/projects/${roles.projectId}`, { token: invitee.token })).status).toBe(404);
    expect((await server.request<Items<MyInvitation>>('GET', '/api/v1/me/invitations', { token: invitee.token })).body.items).toEqual([]);
    const twice = await server.request<{ code: string }>('DELETE', `${invitationsPath}/${target.body.id}`, { token: roles.tokens.owner });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('invitation_not_pending');
    expect((await server.request<{ code: string }>('DELETE', `${invitationsPath}/${randomUUID()}`, { token: roles.tokens.owner })).body.code).toBe(
      'invitation_not_found',
    );
    expect((await projectAudit()).some((entry) => entry.action === 'invitation.revoke' && entry.resourceId === target.body.id)).toBe(true);
  });

  it('records a decline, after which the address can be invited again', async () => {
    const invitee = await userWithToken(server, `declines-${unique()}@example.com`);
    const email = (await server.request<{ email: string }>('GET', '/api/v1/me', { token: invitee.token })).body.email;
    const invitation = await invite(email, 'editor');
    const declined = await server.request('POST', `/api/v1/me/invitations/${invitation.body.id}/decline`, { token: invitee.token });
    expect(declined.status).toBe(204);
    const accept = await server.request<{ code: string }>('POST', `/api/v1/me/invitations/${invitation.body.id}/accept`, { token: invitee.token });
    expect(accept.status).toBe(410);
    expect(accept.body.code).toBe('invitation_declined');
    expect((await server.request('GET', `/api/v1/projects/${roles.projectId}`, { token: invitee.token })).status).toBe(404);
    const audit = (await projectAudit()).find((entry) => entry.action === 'invitation.decline' && entry.resourceId === invitation.body.id);
    expect(audit?.actorUserId).toBe(invitee.id);
    expect((await invite(email, 'viewer')).status).toBe(201);
  });

  it('keeps a higher role the addressee got meanwhile', async () => {
    const invitee = await userWithToken(server, `promoted-${unique()}@example.com`);
    const email = (await server.request<{ email: string }>('GET', '/api/v1/me', { token: invitee.token })).body.email;
    const invitation = await invite(email, 'viewer');
    const direct = await server.request('POST', `/api/v1/projects/${roles.projectId}/members`, { body: { userId: invitee.id, role: 'owner' } });
    expect(direct.status).toBe(201);
    const accepted = await server.request<{ role: string }>('POST', `/api/v1/me/invitations/${invitation.body.id}/accept`, { token: invitee.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.role).toBe('owner');
  });

  it('lets neither editors nor viewers invite, list or revoke, and hides the project from others', async () => {
    const invitation = await invite(`guarded-${unique()}@example.com`);
    const count = async () => (await server.request<Items<Invitation>>('GET', invitationsPath, { token: roles.tokens.owner })).body.items.length;
    const before = await count();
    for (const caller of ['editor', 'viewer', 'outsider'] as const) {
      const expected = caller === 'outsider' ? { status: 404, code: 'project_not_found' } : { status: 403, code: 'insufficient_role' };
      const token = roles.tokens[caller];
      const created = await invite(`by-${caller}-${unique()}@example.com`, 'owner', token);
      const listed = await server.request<{ code: string }>('GET', invitationsPath, { token });
      const revoked = await server.request<{ code: string }>('DELETE', `${invitationsPath}/${invitation.body.id}`, { token });
      for (const [what, response] of Object.entries({ created, listed, revoked })) {
        expect({ caller, what, status: response.status, code: response.body.code }).toEqual({ caller, what, ...expected });
      }
    }
    expect(await count()).toBe(before);
  });

  it('validates the body and documents the routes', async () => {
    const bad = await invite('not-an-email');
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('invalid_email');
    const badRole = await server.request<{ code: string }>('POST', invitationsPath, {
      token: roles.tokens.owner,
      body: { email: 'a@example.com', role: 'god' },
    });
    expect(badRole.status).toBe(422);
    const docs = await server.request<{ paths: Record<string, Record<string, unknown>> }>('GET', '/api/docs/openapi.json', { token: null });
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/projects/{projectId}/invitations',
        '/api/v1/projects/{projectId}/invitations/{invitationId}',
        '/api/v1/me/invitations',
        '/api/v1/me/invitations/{invitationId}/accept',
        '/api/v1/me/invitations/{invitationId}/decline',
      ]),
    );
    expect(JSON.stringify(docs.body.paths['/api/v1/projects/{projectId}/invitations']?.post)).toContain('email');
  });
});

describe('an expired invitation', () => {
  let server: TestServer;
  let roles: ProjectWithRoles;

  beforeAll(async () => {
    // 0.0005 h is 1.8 s: long enough to answer the invite, short enough to wait out.
    server = await TestServer.start({ backend: 'pglite', env: { HM_INVITATION_TTL_HOURS: '0.0005' } });
    roles = await projectWithRoles(server, 'inv-expiry');
  });

  afterAll(async () => {
    await server?.destroy();
  });

  it('cannot be accepted, is listed as expired, and does not block a new one', async () => {
    const invitee = await userWithToken(server, `late-${unique()}@example.com`);
    const email = (await server.request<{ email: string }>('GET', '/api/v1/me', { token: invitee.token })).body.email;
    const path = `/api/v1/projects/${roles.projectId}/invitations`;
    const invitation = await server.request<Invitation>('POST', path, { token: roles.tokens.owner, body: { email, role: 'editor' } });
    expect(invitation.status).toBe(201);
    await eventually(
      async () =>
        (await server.request<Items<Invitation>>('GET', path, { token: roles.tokens.owner })).body.items.find((item) => item.id === invitation.body.id)
          ?.state === 'expired',
      'the invitation to expire',
    );
    expect((await server.request<Items<MyInvitation>>('GET', '/api/v1/me/invitations', { token: invitee.token })).body.items).toEqual([]);
    const accept = await server.request<{ code: string }>('POST', `/api/v1/me/invitations/${invitation.body.id}/accept`, { token: invitee.token });
    expect(accept.status).toBe(410);
    expect(accept.body.code).toBe('invitation_expired');
    expect((await server.request('GET', `/api/v1/projects/${roles.projectId}`, { token: invitee.token })).status).toBe(404);
    const renewed = await server.request<Invitation>('POST', path, { token: roles.tokens.owner, body: { email, role: 'editor' } });
    expect(renewed.status).toBe(201);
    const open = (await server.request<Items<Invitation>>('GET', path, { token: roles.tokens.owner })).body.items.filter((item) => item.email === email);
    expect(open.map((item) => item.id)).toEqual([renewed.body.id]);
  });
});
