// A node pool naming a region, size or instance type its provider does not sell is refused with a
// 422 before anything is stored (it used to be stored and fail later at the cloud, seen only as
// an event), and the catalogue behind that check accepts every value the vendors' specs name.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROVIDERS } from '../../services/clouds/src/providers/index.js';
import { locateSpec } from '../../services/sandbox/src/clouds/common/support.js';
import { loadEc2Model } from '../../services/sandbox/src/clouds/ec2/model.js';
import { ensureBuilt } from '../support/build.js';
import { dumpPostgres } from '../support/database.js';
import { awsCredential, doCredential, sshPublicKey } from '../support/fixtures.js';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { scaled } from '../support/time.js';

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: Array<{ path: string; message: string; code?: string }>;
}

describe('the provider catalogue against the vendors’ specs', () => {
  it('knows every EC2 instance type of the EC2 service model', () => {
    const model = loadEc2Model();
    const instanceTypes = model.shapes.InstanceType?.enum ?? [];
    expect(instanceTypes.length).toBeGreaterThan(500);
    const known = new Set(PROVIDERS.aws.nodePoolCatalog.sizes);
    expect(instanceTypes.filter((type) => !known.has(type))).toEqual([]);
    // The portal's offered sizes are a subset of what is accepted.
    expect(PROVIDERS.aws.nodePools.sizes.filter((size) => !known.has(size))).toEqual([]);
  });

  it('knows every DigitalOcean region the OpenAPI document enumerates and every droplet size its examples use, where they use them', () => {
    const document: unknown = parse(readFileSync(locateSpec('digitalocean/openapi.yaml'), 'utf8'), { maxAliasCount: -1 });
    const regions = new Set<string>();
    const sizes: Array<{ size: string; region?: string }> = [];
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(walk);
      if (!value || typeof value !== 'object') return;
      const object = value as Record<string, unknown>;
      if (Array.isArray(object.enum) && object.enum.includes('nyc3')) for (const region of object.enum) regions.add(String(region));
      // A size object of GET /v2/sizes, and the size of a droplet create request.
      if (typeof object.slug === 'string' && 'vcpus' in object && 'price_monthly' in object) sizes.push({ size: object.slug });
      if (typeof object.size === 'string' && 'image' in object && typeof object.region === 'string') sizes.push({ size: object.size, region: object.region });
      if (typeof object.size_slug === 'string') sizes.push({ size: object.size_slug });
      Object.values(object).forEach(walk);
    };
    walk(document);
    const catalog = PROVIDERS.digitalocean.nodePoolCatalog;
    expect(regions.size).toBeGreaterThan(10);
    expect([...regions].filter((region) => !catalog.regions.includes(region))).toEqual([]);
    expect(sizes.length).toBeGreaterThan(2);
    expect(sizes.filter(({ size }) => !catalog.sizes.includes(size))).toEqual([]);
    // Where an example creates a droplet of a size in a region, the catalogue offers it there.
    expect(sizes.filter(({ size, region }) => region && catalog.sizeRegions?.[size] && !catalog.sizeRegions[size].includes(region))).toEqual([]);
    expect(PROVIDERS.digitalocean.nodePools.sizes.filter((size) => !catalog.sizes.includes(size))).toEqual([]);
    expect(PROVIDERS.digitalocean.nodePools.regions.filter((region) => !catalog.regions.includes(region))).toEqual([]);
  });
});

describe('node pools naming what their provider does not sell', () => {
  let server: TestServer;
  let seed: TestSeed;
  let projectId: string;
  let clusterId: string;
  let awsCredentialId: string;
  let doCredentialId: string;

  beforeAll(async () => {
    ensureBuilt();
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'postgres' });
    await server.request('POST', '/api/v1/seeds', { body: { name: 'catalog-seed', kubeconfig: seed.kubeconfig, maxClusters: 10 } });
    projectId = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'pool-catalog' } })).body.id;
    awsCredentialId = (await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/credentials`, { body: awsCredential() })).body.id;
    doCredentialId = (await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/credentials`, { body: doCredential() })).body.id;
    const cluster = await server.request<{ id: string }>('POST', `/api/v1/projects/${projectId}/clusters`, { body: { name: 'target', etcdReplicas: 1 } });
    expect(cluster.status).toBe(201);
    clusterId = cluster.body.id;
  }, scaled(180_000));

  afterAll(async () => {
    await server?.destroy();
    await seed?.close();
  });

  /** The database without what a read-only request may touch (token last use) or the worker writes meanwhile. */
  async function state(): Promise<string> {
    const dump = await dumpPostgres(server.databaseUrl ?? '');
    return JSON.stringify({
      node_pools: dump.node_pools,
      nodes: dump.nodes,
      operations: dump.operations,
      clusters: dump.clusters?.length,
      audit: dump.audit_log,
    });
  }

  const doPool = (overrides: Record<string, unknown>) => ({
    name: 'droplets',
    credentialId: doCredentialId,
    region: 'fra1',
    size: 's-2vcpu-4gb',
    replicas: 0,
    sshPublicKeys: [sshPublicKey()],
    ...overrides,
  });
  const awsPool = (overrides: Record<string, unknown>) => ({
    name: 'instances',
    credentialId: awsCredentialId,
    region: 'eu-central-1',
    size: 't3.medium',
    replicas: 0,
    ...overrides,
  });

  const refusals: Array<{ name: string; pool: () => Record<string, unknown>; code: string; field: string; detail: RegExp }> = [
    {
      name: 'a DigitalOcean region on Mars',
      pool: () => doPool({ region: 'mars1' }),
      code: 'unknown_region',
      field: 'region',
      detail: /mars1.*valid regions: .*fra1.*tor1/,
    },
    {
      name: 'a DigitalOcean size "huge"',
      pool: () => doPool({ size: 'huge' }),
      code: 'unknown_size',
      field: 'size',
      detail: /huge.*valid sizes: .*s-2vcpu-4gb/,
    },
    {
      name: 'a DigitalOcean GPU size where DigitalOcean has no GPUs',
      pool: () => doPool({ size: 'gpu-h100x1-80gb' }),
      code: 'size_not_in_region',
      field: 'region',
      detail: /gpu-h100x1-80gb only in .*tor1.*not in fra1/,
    },
    {
      name: 'an EC2 instance type that does not exist',
      pool: () => awsPool({ size: 't3.gigantic' }),
      code: 'unknown_size',
      field: 'size',
      // The EC2 list is long: the problem names the family's real sizes and where the rest are.
      detail: /t3\.gigantic.*valid sizes: t3\.nano, .*t3\.medium.*t3\.2xlarge \(\d+ in all: GET \/api\/v1\/catalog, nodePoolChoices\)/,
    },
    {
      name: 'a size EC2 does not name in a family newer than the EC2 model',
      pool: () => awsPool({ size: 'm7i.gigantic' }),
      code: 'unknown_size',
      field: 'size',
      detail: /AWS has no machine size m7i\.gigantic/,
    },
    { name: 'an AWS region that does not exist', pool: () => awsPool({ region: 'eu-mars-1' }), code: 'unknown_region', field: 'region', detail: /eu-mars-1/ },
    {
      name: 'an AWS region other than the credential’s',
      pool: () => awsPool({ region: 'us-east-1' }),
      code: 'region_mismatch',
      field: 'region',
      detail: /bound to eu-central-1.*valid regions: eu-central-1$/,
    },
  ];

  it('refuses each on a new pool and in a one-click create with a 422, its code, the field and the valid choices, writing nothing', async () => {
    const before = await state();
    const failures: string[] = [];
    for (const refusal of refusals) {
      const attempts = [
        { path: `/api/v1/projects/${projectId}/clusters/${clusterId}/nodepools`, body: refusal.pool(), field: refusal.field },
        {
          path: `/api/v1/projects/${projectId}/clusters`,
          body: { name: 'one-click', etcdReplicas: 1, nodePool: refusal.pool() },
          field: `nodePool.${refusal.field}`,
        },
      ];
      for (const attempt of attempts) {
        const response = await server.request<Problem>('POST', attempt.path, { body: attempt.body });
        const problem = response.body;
        const ok =
          response.status === 422 &&
          response.headers.get('content-type')?.startsWith('application/problem+json') &&
          problem.code === refusal.code &&
          refusal.detail.test(problem.detail) &&
          problem.errors?.[0]?.path === attempt.field &&
          problem.errors[0].code === refusal.code;
        if (!ok) failures.push(`${refusal.name} at ${attempt.path}: ${response.status} ${response.text.slice(0, 600)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await state()).toBe(before);
  });

  it('accepts real values beyond the few the portal offers', async () => {
    const accepted = [
      doPool({ name: 'toronto-gpu', region: 'tor1', size: 'gpu-h100x1-80gb' }),
      doPool({ name: 'bangalore', region: 'blr1', size: 's-1vcpu-1gb' }),
      doPool({ name: 'atlanta-cpu', region: 'atl1', size: 'c2-4vcpu-8gb-intel' }),
      awsPool({ name: 'graviton', size: 'c7g.large', image: 'ubuntu-24.04' }),
      awsPool({ name: 'metal', size: 'm7i.metal-24xl' }),
    ];
    for (const pool of accepted) {
      const response = await server.request('POST', `/api/v1/projects/${projectId}/clusters/${clusterId}/nodepools`, { body: pool });
      expect(response.status, `${pool.name}: ${response.text.slice(0, 400)}`).toBe(201);
    }
  });

  it('serves every accepted value in the catalog', async () => {
    const catalog = await server.request<{
      nodePoolChoices: Record<string, { regions: string[]; sizes: string[]; sizeRegions?: Record<string, string[]>; unlistedFamilySizePattern?: string }>;
    }>('GET', '/api/v1/catalog');
    expect(catalog.status).toBe(200);
    expect(catalog.body.nodePoolChoices.digitalocean.regions).toContain('blr1');
    expect(catalog.body.nodePoolChoices.digitalocean.sizeRegions?.['gpu-h100x1-80gb']).toEqual(['nyc2', 'tor1', 'atl1']);
    expect(catalog.body.nodePoolChoices.aws.sizes).toContain('c7g.large');
    // Families newer than the EC2 model are described by the naming they must follow.
    expect(new RegExp(catalog.body.nodePoolChoices.aws.unlistedFamilySizePattern ?? '^$').test('m7i.metal-24xl')).toBe(true);
    expect(catalog.body.nodePoolChoices.aws.regions).toContain('eu-central-1');
  });
});
