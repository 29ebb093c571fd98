// Malformed and hostile requests: each gets a 4xx problem with a machine-readable code, and
// the database is byte-for-byte what it was before.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpPostgres } from '../support/database.js';
import { awsCredential, sshPublicKey } from '../support/fixtures.js';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { eventually } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

interface HostileCase {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  code?: string;
  /** The status, where the README's API section states it. */
  status?: number;
}

describe('malformed and hostile bodies', () => {
  let server: TestServer;
  let seed: TestSeed;
  let projectId: string;
  let clusterId: string;
  let poolId: string;
  let credentialId: string;
  const cases: HostileCase[] = [];

  beforeAll(async () => {
    ensureBuilt();
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'postgres', env: { HM_QUOTA_NODES_PER_PROJECT: '5' } });
    await server.request('POST', '/api/v1/seeds', { body: { name: 'hostile-seed', kubeconfig: seed.kubeconfig, maxClusters: 10 } });
    projectId = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'hostile' } })).body.id;
    credentialId = (await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/credentials`, { body: awsCredential() })).body.id;
    clusterId = (await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/clusters`, { body: { name: 'target' } })).body.id;
    const pool = { name: 'workers', credentialId, region: 'eu-central-1', size: 't3.medium', replicas: 1, sshPublicKeys: [sshPublicKey()] };
    poolId = (await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/clusters/${clusterId}/nodepools`, { body: pool })).body.id;
    // The worker converges the new cluster in the background; let it reach the etcd wait (this
    // seed runs no pods) so its writes do not mix with what the hostile requests might write.
    await eventually(
      async () =>
        (await server.request<{ items: Array<{ reason: string }> }>('GET', `/api/v1/projects/${projectId}/clusters/${clusterId}/events`)).body.items.some(
          (event) => event.reason === 'EtcdReadyFalse',
        ),
      'the first reconcile to settle',
    );

    const projects = '/api/v1/projects';
    const clusters = `/api/v1/projects/${projectId}/clusters`;
    const credentials = `/api/v1/projects/${projectId}/credentials`;
    const poolPath = `${clusters}/${clusterId}/nodepools/${poolId}`;
    const validPool = { name: 'more', credentialId, region: 'eu-central-1', size: 't3.medium', replicas: 1 };
    const kubeconfigOverHttp = seed.kubeconfig.replace(/server: https:/, 'server: http:');
    let deep: unknown = {};
    for (let i = 0; i < 2000; i += 1) deep = [deep];

    cases.push(
      { name: 'missing required name', method: 'POST', path: projects, body: {} },
      { name: 'name of the wrong type', method: 'POST', path: projects, body: { name: 123 }, code: 'invalid_type' },
      { name: 'upper-case name', method: 'POST', path: projects, body: { name: 'UPPER' } },
      { name: 'huge string', method: 'POST', path: projects, body: { name: 'a'.repeat(100_000) }, code: 'too_large' },
      { name: 'unknown field', method: 'POST', path: projects, body: { name: 'fine', admin: true }, code: 'unknown_field' },
      { name: 'SQL injection in a name', method: 'POST', path: projects, body: { name: "x'; drop table projects; --" } },
      { name: 'script injection in a name', method: 'POST', path: projects, body: { name: '<script>alert(1)</script>' } },
      { name: 'script in display name', method: 'POST', path: projects, body: { name: 'shown', displayName: '<img src=x onerror=alert(1)>' } },
      { name: 'control characters', method: 'POST', path: projects, body: { name: 'ctl', displayName: 'a\u0000b' } },
      { name: 'prototype pollution', method: 'POST', path: projects, raw: '{"name":"proto","__proto__":{"admin":true}}', code: 'forbidden_key' },
      // JSON.parse takes a lone UTF-16 surrogate; nothing behind it can store or show one.
      { name: 'lone surrogate in a new project', method: 'POST', path: projects, raw: '{"name":"lone","displayName":"\\ud800x"}', code: 'invalid_unicode' },
      {
        name: 'lone surrogate in a display name',
        method: 'PATCH',
        path: `${projects}/${projectId}`,
        raw: '{"displayName":"\\ud800x"}',
        code: 'invalid_unicode',
      },
      { name: 'lone low surrogate in a token name', method: 'POST', path: '/api/v1/tokens', raw: '{"name":"\\udc00"}', code: 'invalid_unicode' },
      {
        name: 'lone surrogate in a user name',
        method: 'POST',
        path: '/api/v1/users',
        raw: '{"email":"x@example.com","name":"\\ud83d"}',
        code: 'invalid_unicode',
      },
      { name: 'right-to-left override in a display name', method: 'POST', path: projects, body: { name: 'bidi', displayName: 'invoice\u202Efdp.exe' } },
      { name: 'C1 control in a display name', method: 'POST', path: projects, body: { name: 'c1', displayName: 'a\u0085b' } },
      {
        name: 'JSON in a charset other than UTF-8',
        method: 'POST',
        path: projects,
        raw: '{"name":"latin"}',
        contentType: 'application/json; charset=iso-8859-1',
        code: 'unsupported_charset',
      },
      // Found by the fuzzer: a malformed cursor answered 422, where the README says 400.
      { name: 'event cursor that is no number', method: 'GET', path: `${clusters}/${clusterId}/events?after=abc`, code: 'invalid_query', status: 400 },
      { name: 'event cursor given twice', method: 'GET', path: `${clusters}/${clusterId}/events?after=1&after=2`, code: 'invalid_query' },
      { name: 'audit cursor out of range', method: 'GET', path: `${projects}/${projectId}/audit?before=1e400`, code: 'invalid_query' },
      { name: 'stream cursor that is no number', method: 'GET', path: `${clusters}/${clusterId}/events/stream?after=-1`, code: 'invalid_query' },
      { name: 'seed that does not exist', method: 'POST', path: clusters, body: { seed: 'nope' }, code: 'seed_not_found' },
      // A region no seed serves is the caller's mistake, like a seed that does not exist: it used to answer 503 no_seed_capacity.
      { name: 'region no seed serves', method: 'POST', path: clusters, body: { region: 'ap-south-1' }, code: 'region_not_served', status: 422 },
      { name: 'array instead of object', method: 'POST', path: projects, body: [], code: 'invalid_type' },
      { name: 'string instead of object', method: 'POST', path: projects, raw: '"project"', code: 'invalid_type' },
      { name: 'JSON null', method: 'POST', path: projects, raw: 'null', code: 'invalid_type' },
      { name: 'malformed JSON', method: 'POST', path: projects, raw: '{"name": "x",', code: 'malformed_json' },
      {
        name: 'body over the size limit',
        method: 'POST',
        path: projects,
        raw: JSON.stringify({ name: 'x', displayName: 'y'.repeat(400_000) }),
        code: 'payload_too_large',
      },
      {
        name: 'not JSON at all',
        method: 'POST',
        path: projects,
        raw: 'name=x',
        contentType: 'application/x-www-form-urlencoded',
        code: 'unsupported_media_type',
      },
      { name: 'deeply nested arrays', method: 'POST', path: projects, body: deep, code: 'nesting_too_deep', status: 400 },
      // Found by the fuzzer: the body check recursed once per level and a body ~5,000 objects deep
      // overflowed the stack outside Nest's error handling, which ended the process.
      {
        name: 'deeply nested objects',
        method: 'DELETE',
        path: `${credentials}/${randomUUID()}`,
        raw: `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
        code: 'nesting_too_deep',
        status: 400,
      },
      { name: 'unsupported version', method: 'POST', path: clusters, body: { version: '1.12.0' }, code: 'unsupported_version' },
      { name: 'version as a number', method: 'POST', path: clusters, body: { version: 1.37 }, code: 'invalid_type' },
      { name: 'CIDR prefix out of range', method: 'POST', path: clusters, body: { network: { podCidr: '10.0.0.0/33' } }, code: 'invalid_cidr' },
      { name: 'CIDR with host bits', method: 'POST', path: clusters, body: { network: { podCidr: '10.0.0.1/16' } }, code: 'invalid_cidr' },
      { name: 'CIDR that is not one', method: 'POST', path: clusters, body: { network: { podCidr: '999.1.1.1/8' } }, code: 'invalid_cidr' },
      {
        name: 'overlapping CIDRs',
        method: 'POST',
        path: clusters,
        body: { network: { podCidr: '10.96.0.0/16', serviceCidr: '10.96.0.0/12' } },
        code: 'cidr_overlap',
      },
      { name: 'service CIDR too small', method: 'POST', path: clusters, body: { network: { serviceCidr: '10.200.0.0/30' } }, code: 'cidr_too_small' },
      { name: 'unknown network plugin', method: 'POST', path: clusters, body: { cni: 'weave' }, code: 'cni_unsupported' },
      { name: 'network plugin as a number', method: 'POST', path: clusters, body: { cni: 7 }, code: 'invalid_type' },
      // Cilium's cluster pool and flannel hand each node a /24 of the pod CIDR.
      {
        name: 'pod CIDR the plugin cannot split',
        method: 'POST',
        path: clusters,
        body: { cni: 'flannel', network: { podCidr: '10.244.0.0/24' } },
        code: 'pod_cidr_unsupported',
      },
      { name: 'MTU below IPv6 minimum', method: 'POST', path: clusters, body: { network: { mtu: 500 } }, code: 'mtu_invalid' },
      { name: 'unknown add-on', method: 'POST', path: clusters, body: { addons: { dashboard: true } }, code: 'unknown_field' },
      { name: 'add-on flag not a boolean', method: 'POST', path: clusters, body: { addons: { metricsServer: 'yes' } }, code: 'invalid_type' },
      { name: 'unknown expose strategy', method: 'POST', path: clusters, body: { exposeStrategy: 'Ingress' } },
      { name: 'even etcd size', method: 'POST', path: clusters, body: { etcdReplicas: 2 } },
      { name: 'name with leading dash', method: 'POST', path: clusters, body: { name: '-bad-' } },
      { name: 'path traversal as seed', method: 'POST', path: clusters, body: { seed: '../../etc/passwd' } },
      { name: 'NoSQL operator as a name', method: 'POST', path: clusters, body: { name: { $ne: null } }, code: 'invalid_type' },
      {
        name: 'credential id not a UUID',
        method: 'POST',
        path: clusters,
        body: { nodePool: { ...validPool, credentialId: 'not-a-uuid' } },
        code: 'invalid_uuid',
      },
      {
        name: 'credential of nobody',
        method: 'POST',
        path: clusters,
        body: { nodePool: { ...validPool, credentialId: randomUUID() } },
        code: 'credential_not_found',
      },
      { name: 'AWS image that is no alias', method: 'POST', path: clusters, body: { nodePool: { ...validPool, image: 'debian-13' } }, code: 'unknown_image' },
      { name: 'malformed AMI id', method: 'POST', path: clusters, body: { nodePool: { ...validPool, image: 'ami-ubuntu' } }, code: 'unknown_image' },
      {
        name: 'unknown image on a new pool',
        method: 'POST',
        path: `${clusters}/${clusterId}/nodepools`,
        body: { ...validPool, image: 'ubuntu-18.04' },
        code: 'unknown_image',
      },
      { name: 'negative replicas', method: 'POST', path: clusters, body: { nodePool: { ...validPool, replicas: -1 } }, code: 'too_small' },
      { name: 'replicas above the bound', method: 'POST', path: clusters, body: { nodePool: { ...validPool, replicas: 1_000 } }, code: 'too_large' },
      { name: 'fractional replicas', method: 'POST', path: clusters, body: { nodePool: { ...validPool, replicas: 1.5 } } },
      { name: 'node quota exceeded', method: 'POST', path: clusters, body: { nodePool: { ...validPool, replicas: 5 } }, code: 'quota_nodes_exceeded' },
      {
        name: 'forged SSH key',
        method: 'POST',
        path: clusters,
        body: { nodePool: { ...validPool, sshPublicKeys: ['ssh-rsa AAAAB3NzaC1lZDI1NTE5AAAAIFake'] } },
        code: 'invalid_ssh_key',
      },
      { name: 'bad label key', method: 'POST', path: clusters, body: { nodePool: { ...validPool, labels: { 'bad key!': 'v' } } } },
      {
        name: '__proto__ as a label key',
        method: 'POST',
        path: clusters,
        raw: JSON.stringify({ nodePool: validPool }).replace('"replicas":1', '"replicas":1,"labels":{"__proto__":"x"}'),
        code: 'forbidden_key',
      },
      { name: 'bad taint effect', method: 'POST', path: clusters, body: { nodePool: { ...validPool, taints: [{ key: 'dedicated', effect: 'Sometimes' }] } } },
      { name: 'unknown provider', method: 'POST', path: credentials, body: { name: 'gcp', provider: 'gcp', token: 'x'.repeat(20) } },
      { name: 'AWS region that does not exist', method: 'POST', path: credentials, body: { ...awsCredential('mars'), region: 'mars-1' } },
      { name: 'injection in an access key', method: 'POST', path: credentials, body: { ...awsCredential('inj'), accessKeyId: "AKIA'; DROP TABLE users;--" } },
      {
        name: 'DigitalOcean token with spaces',
        method: 'POST',
        path: credentials,
        body: { name: 'do', provider: 'digitalocean', token: 'dop v1 with spaces here' },
      },
      { name: 'replicas as a string', method: 'PATCH', path: poolPath, body: { replicas: '3' }, code: 'invalid_type' },
      { name: 'scale with an extra field', method: 'PATCH', path: poolPath, body: { replicas: 2, size: 'huge' }, code: 'unknown_field' },
      { name: 'scale without replicas', method: 'PATCH', path: poolPath, body: {} },
      { name: 'scale beyond the node quota', method: 'PATCH', path: poolPath, body: { replicas: 6 }, code: 'quota_nodes_exceeded' },
      {
        name: 'invitation with a bad e-mail',
        method: 'POST',
        path: `/api/v1/projects/${projectId}/invitations`,
        body: { email: 'not-an-email', role: 'owner' },
        code: 'invalid_email',
      },
      {
        name: 'invitation with an invented role',
        method: 'POST',
        path: `/api/v1/projects/${projectId}/invitations`,
        body: { email: 'a@example.com', role: 'god' },
      },
      {
        name: 'member by e-mail (accounts are never made from an address)',
        method: 'POST',
        path: `/api/v1/projects/${projectId}/members`,
        body: { email: 'new-person@example.com', role: 'viewer' },
      },
      {
        name: 'member with an invented role',
        method: 'POST',
        path: `/api/v1/projects/${projectId}/members`,
        body: { userId: randomUUID(), role: 'god' },
      },
      {
        name: 'accepting an invitation that does not exist',
        method: 'POST',
        path: `/api/v1/me/invitations/${randomUUID()}/accept`,
        code: 'invitation_not_found',
      },
      {
        name: 'shell injection in a version',
        method: 'PATCH',
        path: `${clusters}/${clusterId}`,
        body: { version: '1.37.2; rm -rf /' },
        code: 'unsupported_version',
      },
      {
        name: 'kubeconfig that is not YAML',
        method: 'POST',
        path: '/api/v1/seeds',
        body: { name: 'bad-seed', kubeconfig: 'not: [valid, yaml: at all' },
        code: 'invalid_kubeconfig',
      },
      {
        name: 'kubeconfig over plain HTTP',
        method: 'POST',
        path: '/api/v1/seeds',
        body: { name: 'http-seed', kubeconfig: kubeconfigOverHttp },
        code: 'invalid_kubeconfig',
      },
      {
        name: 'seed with zero capacity',
        method: 'POST',
        path: '/api/v1/seeds',
        body: { name: 'zero', kubeconfig: seed.kubeconfig, maxClusters: 0 },
        code: 'too_small',
      },
      { name: 'token lifetime too long', method: 'POST', path: '/api/v1/tokens', body: { name: 't', expiresInDays: 10_000 }, code: 'too_large' },
      {
        name: 'member id that is not a UUID',
        method: 'PATCH',
        path: `/api/v1/projects/${projectId}/members/1%20or%201=1`,
        body: { role: 'viewer' },
        code: 'member_not_found',
      },
      { name: 'token for a user id that is not a UUID', method: 'POST', path: '/api/v1/users/not-a-uuid/tokens', body: { name: 'x' }, code: 'user_not_found' },
      { name: 'user with a unicode-homoglyph e-mail', method: 'POST', path: '/api/v1/users', body: { email: 'аdmin@exаmple.com' }, code: 'invalid_email' },
    );
  });

  afterAll(async () => {
    await server?.destroy();
    await seed?.close();
  });

  /** The database without the columns a read-only request may touch (token last use). */
  async function state(): Promise<string> {
    const dump = await dumpPostgres(server.databaseUrl!);
    dump.api_tokens = dump.api_tokens.map((row) => ({ ...(row as Record<string, unknown>), last_used_at: null }));
    return JSON.stringify(dump);
  }

  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it('answers each with a 4xx problem and a code, writing nothing', async () => {
    const before = await state();
    const failures: string[] = [];
    for (const hostile of cases) {
      const response = await server.request<{ code?: string; status?: number }>(hostile.method, hostile.path, {
        ...(hostile.raw !== undefined
          ? { rawBody: hostile.raw, headers: { 'content-type': hostile.contentType ?? 'application/json' } }
          : { body: hostile.body }),
      });
      const problem = response.body;
      const okShape =
        response.status >= 400 &&
        response.status < 500 &&
        typeof problem?.code === 'string' &&
        problem.status === response.status &&
        response.headers.get('content-type')?.startsWith('application/problem+json');
      const okCode = (hostile.code === undefined || problem?.code === hostile.code) && (hostile.status === undefined || response.status === hostile.status);
      if (!okShape || !okCode) failures.push(`${hostile.name}: ${response.status} ${response.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    expect(await state()).toBe(before);
  });
});
