// Strictness of the DigitalOcean simulator: requests are checked against the official OpenAPI
// document and the catalogue, and its own responses are checked too.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDigitalOceanSimulator, type DigitalOceanSimulator } from '../../services/sandbox/src/clouds/digitalocean/index.js';
import { openSshPublicKey } from './support.js';

const TOKEN = 'dop_v1_strict';
const OTHER_TOKEN = 'dop_v1_other';
let simulator: DigitalOceanSimulator;

interface ApiReply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

async function api(
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string | null; raw?: string; target?: DigitalOceanSimulator } = {},
): Promise<ApiReply> {
  const token = options.token === undefined ? TOKEN : options.token;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${(options.target ?? simulator).url}${path}`, {
    method,
    headers,
    body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const droplet = (overrides: Record<string, unknown> = {}) => ({ name: 'web-1', region: 'nyc3', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64', ...overrides });

beforeAll(async () => {
  simulator = await startDigitalOceanSimulator({
    accounts: [
      { name: 'strict', tokens: [TOKEN] },
      { name: 'other', tokens: [OTHER_TOKEN] },
    ],
    timing: { bootMs: 30, shutdownMs: 30 },
  });
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  simulator.faults.reset();
  expect(simulator.specViolations()).toEqual([]);
});

describe('DigitalOcean simulator strictness', () => {
  it('answers 422 unprocessable_entity in the DO error shape for bodies the spec rejects', async () => {
    const cases: unknown[] = [
      droplet({ name: 'bad name!' }),
      droplet({ size: 1024 }),
      droplet({ image: undefined }),
      droplet({ tags: 'not-a-list' }),
      droplet({ backups: 'yes' }),
      { ...droplet(), names: ['a', 'b'] },
    ];
    for (const body of cases) {
      const reply = await api('POST', '/v2/droplets', body);
      expect(reply.status, JSON.stringify(body)).toBe(422);
      expect(reply.body).toMatchObject({ id: 'unprocessable_entity', message: expect.any(String) as unknown, request_id: expect.any(String) as unknown });
    }
    expect((await api('POST', '/v2/droplets', undefined, { raw: '{"name":' })).status).toBe(400);
    expect(simulator.instances()).toHaveLength(0);
  });

  it('validates region, size, image slugs, ssh key references and tag names against its catalogue', async () => {
    for (const [field, value, fragment] of [
      ['region', 'mars1', 'region'],
      ['size', 's-99vcpu', 'size'],
      ['image', 'windows-11', 'image'],
      ['ssh_keys', [123], 'ssh_keys'],
      ['tags', ['white space'], 'Tag'],
    ] as const) {
      const reply = await api('POST', '/v2/droplets', droplet({ [field]: value }));
      expect(reply.status, field).toBe(422);
      expect(String(reply.body?.message)).toContain(fragment);
    }
  });

  it('rejects bad query and path parameters', async () => {
    expect((await api('GET', '/v2/droplets?per_page=abc')).status).toBe(422);
    expect((await api('GET', '/v2/droplets?per_page=500')).status).toBe(422);
    expect((await api('GET', '/v2/droplets?type=tpus')).status).toBe(422);
    expect((await api('DELETE', '/v2/droplets')).status).toBe(422);
    expect((await api('GET', '/v2/droplets/not-a-number')).status).toBe(404);
  });

  it('answers unknown paths with 404, wrong methods with 405 and missing or unknown tokens with 401', async () => {
    expect(await api('GET', '/v2/spaceships')).toMatchObject({ status: 404, body: { id: 'not_found' } });
    expect(await api('PATCH', '/v2/droplets')).toMatchObject({ status: 405, body: { id: 'method_not_allowed' } });
    expect(await api('GET', '/v2/droplets', undefined, { token: null })).toMatchObject({ status: 401, body: { id: 'Unauthorized' } });
    expect((await api('GET', '/v2/droplets', undefined, { token: 'dop_v1_forged' })).status).toBe(401);
  });

  it('creates single and multiple droplets, paginates with links and meta, and isolates accounts', async () => {
    const single = await api('POST', '/v2/droplets', droplet({ name: 'solo', tags: ['page-test'] }));
    expect(single.status).toBe(202);
    const multi = await api('POST', '/v2/droplets', { ...droplet({ name: undefined }), names: ['m-1', 'm-2', 'm-3', 'm-4'], tags: ['page-test'] });
    expect(multi.status).toBe(202);
    expect(multi.body?.droplets).toHaveLength(4);
    expect((await api('POST', '/v2/droplets', { ...droplet({ name: undefined }), names: Array.from({ length: 11 }, (_, index) => `n-${index}`) })).status).toBe(
      422,
    );

    const first = await api('GET', '/v2/droplets?tag_name=page-test&per_page=2');
    expect(first.status).toBe(200);
    expect(first.body?.droplets).toHaveLength(2);
    expect(first.body?.meta).toEqual({ total: 5 });
    const pages = (first.body?.links as { pages: Record<string, string> }).pages;
    expect(pages.next).toContain('page=2');
    expect(pages.last).toContain('page=3');
    const last = await api('GET', '/v2/droplets?tag_name=page-test&per_page=2&page=3');
    expect(last.body?.droplets).toHaveLength(1);
    expect((last.body?.links as { pages: Record<string, string> }).pages.prev).toContain('page=2');

    const id = (single.body?.droplet as { id: number }).id;
    expect((await api('GET', `/v2/droplets/${id}`)).status).toBe(200);
    expect((await api('GET', `/v2/droplets/${id}`, undefined, { token: OTHER_TOKEN })).status).toBe(404);
    expect((await api('GET', '/v2/droplets?tag_name=page-test', undefined, { token: OTHER_TOKEN })).body?.droplets).toEqual([]);

    expect((await api('DELETE', '/v2/droplets?tag_name=page-test')).status).toBe(204);
    const afterDelete = await api('GET', '/v2/droplets?tag_name=page-test');
    expect((afterDelete.body?.droplets as Array<{ status: string }>).every((entry) => entry.status === 'off')).toBe(true);
  });

  it('manages SSH keys by id and fingerprint and refuses invalid or duplicate keys', async () => {
    const publicKey = openSshPublicKey();
    const created = await api('POST', '/v2/account/keys', { name: 'pool', public_key: publicKey });
    expect(created.status).toBe(201);
    const key = created.body?.ssh_key as { id: number; fingerprint: string };
    expect(key.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect((await api('GET', `/v2/account/keys/${key.fingerprint}`)).body?.ssh_key).toMatchObject({ id: key.id });
    expect((await api('GET', `/v2/account/keys/${key.id}`)).body?.ssh_key).toMatchObject({ fingerprint: key.fingerprint });
    expect((await api('GET', `/v2/account/keys/${key.fingerprint}`, undefined, { token: OTHER_TOKEN })).status).toBe(404);
    expect((await api('POST', '/v2/account/keys', { name: 'again', public_key: publicKey })).status).toBe(422);
    expect((await api('POST', '/v2/account/keys', { name: 'junk', public_key: 'ssh-ed25519 bm90IGEga2V5' })).status).toBe(422);
    expect((await api('POST', '/v2/account/keys', { public_key: publicKey })).status).toBe(422);
    const list = await api('GET', '/v2/account/keys');
    expect(list.body?.meta).toEqual({ total: 1 });
  });

  it('creates and reads tags, validating their names', async () => {
    expect((await api('POST', '/v2/tags', { name: 'has space' })).status).toBe(422);
    expect((await api('POST', '/v2/tags', {})).status).toBe(422);
    expect(await api('POST', '/v2/tags', { name: 'hm-cluster:x1' })).toMatchObject({ status: 201, body: { tag: { name: 'hm-cluster:x1' } } });
    await api('POST', '/v2/droplets', droplet({ name: 'tagged', tags: ['hm-cluster:x1'] }));
    expect(await api('GET', '/v2/tags/hm-cluster:x1')).toMatchObject({ status: 200, body: { tag: { resources: { count: 1 } } } });
    expect((await api('GET', '/v2/tags/hm-cluster:x1', undefined, { token: OTHER_TOKEN })).status).toBe(404);
  });

  it('sends rate-limit headers and answers injected 429 and 5xx in the DO shape', async () => {
    const first = await api('GET', '/v2/droplets');
    const second = await api('GET', '/v2/droplets');
    expect(Number(first.headers.get('ratelimit-limit'))).toBe(5000);
    expect(Number(second.headers.get('ratelimit-remaining'))).toBe(Number(first.headers.get('ratelimit-remaining')) - 1);
    expect(Number(first.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    simulator.faults.failNext('throttle').failNext('server-error');
    const throttled = await api('GET', '/v2/droplets');
    expect(throttled).toMatchObject({ status: 429, body: { id: 'too_many_requests' } });
    expect(throttled.headers.get('ratelimit-remaining')).not.toBeNull();
    expect(await api('GET', '/v2/droplets')).toMatchObject({ status: 500, body: { id: 'server_error' } });
  });

  it('enforces the per-account rate limit', async () => {
    const limited = await startDigitalOceanSimulator({ accounts: [{ name: 'tiny', tokens: ['tiny'] }], rateLimitPerHour: 2 });
    try {
      expect((await api('GET', '/v2/droplets', undefined, { token: 'tiny', target: limited })).status).toBe(200);
      expect((await api('GET', '/v2/droplets', undefined, { token: 'tiny', target: limited })).status).toBe(200);
      const refused = await api('GET', '/v2/droplets', undefined, { token: 'tiny', target: limited });
      expect(refused).toMatchObject({ status: 429, body: { id: 'too_many_requests' } });
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    } finally {
      await limited.close();
    }
  });
});

describe('DigitalOcean simulator response validation', () => {
  it('turns a response that breaks the spec into a 500 and a recorded violation', async () => {
    const broken = await startDigitalOceanSimulator({
      accounts: [{ name: 'x', tokens: ['x'] }],
      tamperResponse: (operationId, body) =>
        operationId === 'droplets_create' ? { droplet: { ...(body as { droplet: object }).droplet, status: 'booting' }, links: {} } : body,
    });
    try {
      const reply = await api('POST', '/v2/droplets', droplet(), { token: 'x', target: broken });
      expect(reply.status).toBe(500);
      expect(broken.specViolations()).toHaveLength(1);
      expect(broken.specViolations()[0]).toContain('droplets_create 202');
      expect((await api('GET', '/v2/droplets', undefined, { token: 'x', target: broken })).status).toBe(200);
      expect(broken.specViolations()).toHaveLength(1);
    } finally {
      await broken.close();
    }
  });
});
