// Upgrades are refused while a node's kubelet would fall outside Kubernetes' version-skew
// policy. Kubelets stay put through a control-plane upgrade, so the node rows' reported
// versions decide; the test plants a long-lived node's version straight into PostgreSQL.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCredential, sshPublicKey } from '../support/fixtures.js';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { ensureBuilt } from '../support/build.js';

beforeAll(() => {
  ensureBuilt();
});

describe('upgrade and node version skew', () => {
  let server: TestServer;
  let seed: TestSeed;
  let database: pg.Client;

  beforeAll(async () => {
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'postgres' });
    database = new pg.Client({ connectionString: server.databaseUrl });
    await database.connect();
  });

  afterAll(async () => {
    await database?.end();
    await server?.destroy();
    await seed?.close();
  });

  it('refuses an upgrade that would leave a kubelet more than three minors behind, and changes nothing', async () => {
    expect((await server.request('POST', '/api/v1/seeds', { body: { name: 'skew-seed', kubeconfig: seed.kubeconfig, maxClusters: 5 } })).status).toBe(201);
    const project = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'skew' } })).body.id;
    const credential = (await server.request<{ id: string }>('POST', `/api/v1/projects/${project}/credentials`, { body: awsCredential() })).body.id;
    const cluster = (
      await server.request<{ id: string }>('POST', `/api/v1/projects/${project}/clusters`, {
        body: {
          name: 'skewed',
          version: '1.35.4',
          etcdReplicas: 1,
          nodePool: { name: 'old', credentialId: credential, region: 'eu-central-1', size: 't3.medium', replicas: 0, sshPublicKeys: [sshPublicKey()] },
        },
      })
    ).body.id;
    const pools = await server.request<{ items: Array<{ id: string }> }>('GET', `/api/v1/projects/${project}/clusters/${cluster}/nodepools`);
    const nodeId = randomUUID();
    await database.query(
      `insert into nodes (id, pool_id, cluster_id, name, phase, kubelet_version, updated_at) values ($1, $2, $3, 'veteran-node', 'Ready', 'v1.32.9', now())`,
      [nodeId, pools.body.items[0].id, cluster],
    );
    const path = `/api/v1/projects/${project}/clusters/${cluster}`;

    const refused = await server.request<{ code: string; detail: string; violations?: Array<{ path: string; message: string }> }>('PATCH', path, {
      body: { version: '1.36.3' },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('node_version_skew');
    expect(JSON.stringify(refused.body)).toContain('veteran-node');
    const unchanged = await server.request<{ version: string; phase: string }>('GET', path);
    expect(unchanged.body.version).toBe('1.35.4');
    const operations = await server.request<{ items: Array<{ kind: string }> }>('GET', `${path}/operations`);
    expect(operations.body.items.filter((operation) => operation.kind === 'upgrade')).toHaveLength(0);

    await database.query(`update nodes set kubelet_version = 'v1.33.1' where id = $1`, [nodeId]);
    const accepted = await server.request<{ cluster: { version: string } }>('PATCH', path, { body: { version: '1.36.3' } });
    expect(accepted.status).toBe(202);
    expect(accepted.body.cluster.version).toBe('1.36.3');
  });
});
