// The management API end to end: the real process over HTTP, real Redis, and each database
// backend (PGlite embedded, and the local PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCredential, doCredential, sshPublicKey } from '../support/fixtures.js';
import { dumpPglite, dumpPostgres } from '../support/database.js';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer, type Backend } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

interface Cluster {
  id: string;
  name: string;
  version: string;
  phase: string;
  network: { podCidr: string; serviceCidr: string; mtu: number | null };
  cni: string;
  addons: { metricsServer: boolean };
  seed: { id: string; name: string };
}
interface Operation {
  id: string;
  kind: string;
  status: string;
}
interface Event {
  id: number;
  reason: string;
  message: string;
}
interface Items<T> {
  items: T[];
}

beforeAll(() => {
  ensureBuilt();
});

describe.each<Backend>(['pglite', 'postgres'])('management API on %s', (backend) => {
  let server: TestServer;
  let seed: TestSeed;
  let projectId: string;
  let seedId: string;

  beforeAll(async () => {
    seed = await startTestSeed();
    server = await TestServer.start({ backend, env: { HM_RESYNC_INTERVAL_SECONDS: '2' } });
  });

  afterAll(async () => {
    await server?.destroy();
    await seed?.close();
  });

  /** Reads an SSE stream until `done` holds for what arrived, then hangs up. */
  async function readStream(path: string, headers: Record<string, string>, done: (text: string) => boolean): Promise<string> {
    const response = await fetch(`${server.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${server.adminToken}`, ...headers },
      signal: AbortSignal.timeout(scaled(30_000)),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    try {
      while (!done(text)) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += new TextDecoder().decode(chunk.value);
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    return text;
  }

  it('prints the admin token once and serves health, readiness, metrics and OpenAPI', async () => {
    expect(server.adminToken).toMatch(/^hm_[a-z0-9]{12}_/);
    expect((await server.request('GET', '/healthz', { token: null })).status).toBe(200);
    const ready = await server.request<{ checks: Record<string, string> }>('GET', '/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: 'ok', redis: 'ok' });
    const metrics = await server.request('GET', '/metrics', { token: null });
    expect(metrics.text).toContain('harbormaster_http_request_duration_seconds');
    const docs = await server.request<{ paths: Record<string, unknown> }>('GET', '/api/docs/openapi.json', { token: null });
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/projects/{projectId}/clusters', '/api/v1/projects/{projectId}/clusters/{clusterId}/nodepools/{poolId}']),
    );
    const me = await server.request<{ admin: boolean }>('GET', '/api/v1/me');
    expect(me.body.admin).toBe(true);
  });

  it('registers a seed only after its API server answers /version', async () => {
    const unreachable = await server.request<{ code: string }>('POST', '/api/v1/seeds', {
      body: { name: 'nowhere', kubeconfig: seed.kubeconfig.replace(seed.url, 'https://127.0.0.1:1'), maxClusters: 5 },
    });
    expect(unreachable.status).toBe(422);
    expect(unreachable.body.code).toBe('seed_unreachable');
    const registered = await server.request<{ id: string; health: { status: string }; capacity: { used: number; max: number } }>('POST', '/api/v1/seeds', {
      body: { name: 'sandbox-a', kubeconfig: seed.kubeconfig, region: 'local', maxClusters: 5 },
    });
    expect(registered.status).toBe(201);
    expect(registered.body.health.status).toBe('Healthy');
    expect(registered.body.capacity).toEqual({ used: 0, max: 5 });
    expect(registered.text).not.toContain('BEGIN');
    seedId = registered.body.id;
  });

  it('creates a project with credentials whose secrets never come back', async () => {
    const project = await server.request<{ id: string; role: string }>('POST', '/api/v1/projects', { body: { name: `demo-${backend}` } });
    expect(project.status).toBe(201);
    expect(project.body.role).toBe('owner');
    projectId = project.body.id;
    const aws = await server.request<{ id: string; summary: Record<string, string> }>('POST', `/api/v1/projects/${projectId}/credentials`, {
      body: awsCredential(),
    });
    expect(aws.status).toBe(201);
    expect(aws.text).not.toContain(awsCredential().secretAccessKey);
    expect(aws.text).not.toContain(awsCredential().accessKeyId);
    const listed = await server.request('GET', `/api/v1/projects/${projectId}/credentials`);
    expect(listed.text).not.toContain(awsCredential().secretAccessKey);
    const duplicate = await server.request<{ code: string }>('POST', `/api/v1/projects/${projectId}/credentials`, { body: awsCredential() });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('credential_exists');
  });

  it('one-click creates a cluster with defaults, and the worker picks the job up', async () => {
    const created = await server.request<Cluster>('POST', `/api/v1/projects/${projectId}/clusters`, { body: {} });
    expect(created.status).toBe(201);
    expect(created.body.name).toMatch(/^[a-z]+-[a-z]+-[a-z0-9]{4}$/);
    expect(created.body.version).toBe('1.37.2');
    expect(created.body.network).toEqual({ podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12', mtu: null });
    expect(created.body).toMatchObject({ cni: 'cilium', addons: { metricsServer: false } });
    expect(created.body.seed.id).toBe(seedId);
    expect(created.body.phase).toBe('Provisioning');
    const events = await eventually(async () => {
      const response = await server.request<Items<Event>>('GET', `/api/v1/projects/${projectId}/clusters/${created.body.id}/events`);
      return response.body.items.some((event) => event.reason === 'Reconciling') ? response.body.items : undefined;
    }, 'the worker to record a Reconciling event');
    expect(events[0].reason).toBe('Placed');
    const seedView = await server.request<{ capacity: { used: number } }>('GET', `/api/v1/seeds/${seedId}`);
    expect(seedView.body.capacity.used).toBe(1);
  });

  it('streams cluster events as Server-Sent Events, resuming after Last-Event-ID', async () => {
    const cluster = (await server.request<Cluster>('POST', `/api/v1/projects/${projectId}/clusters`, { body: { name: 'streamed' } })).body;
    const path = `/api/v1/projects/${projectId}/clusters/${cluster.id}/events/stream`;
    const received = await readStream(path, {}, (text) => text.includes('"reason":"Reconciling"') && text.includes('event: cluster\n'));
    expect(received).toMatch(/id: \d+\nevent: cluster-event\ndata: \{.*"reason":"Placed"/);
    expect(received).toMatch(/event: cluster\ndata: \{.*"phase":"Provisioning"/);
    const ids = [...received.matchAll(/id: (\d+)/g)].map((match) => Number(match[1]));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    const resumed = await readStream(path, { 'last-event-id': String(ids[0]) }, (text) => /id: \d+/.test(text));
    const resumedIds = [...resumed.matchAll(/id: (\d+)/g)].map((match) => Number(match[1]));
    expect(resumedIds[0]).toBe(ids[1]);
  });

  it('scales a node pool through the node-scaling API with an operation to follow', async () => {
    const credentials = await server.request<Items<{ id: string }>>('GET', `/api/v1/projects/${projectId}/credentials`);
    const cluster = (
      await server.request<Cluster>('POST', `/api/v1/projects/${projectId}/clusters`, {
        body: {
          name: 'scaled',
          exposeStrategy: 'LoadBalancer',
          etcdReplicas: 1,
          nodePool: {
            name: 'workers',
            credentialId: credentials.body.items[0].id,
            region: 'eu-central-1',
            size: 't3.medium',
            replicas: 1,
            sshPublicKeys: [sshPublicKey()],
          },
        },
      })
    ).body;
    const pools = await server.request<Items<{ id: string; replicas: number; provider: string }>>(
      'GET',
      `/api/v1/projects/${projectId}/clusters/${cluster.id}/nodepools`,
    );
    expect(pools.body.items).toHaveLength(1);
    expect(pools.body.items[0].provider).toBe('aws');
    const poolPath = `/api/v1/projects/${projectId}/clusters/${cluster.id}/nodepools/${pools.body.items[0].id}`;
    const first = await server.request<Operation>('PATCH', poolPath, { body: { replicas: 3 } });
    expect(first.status).toBe(202);
    expect(first.body.kind).toBe('scale');
    const second = await server.request<Operation>('PATCH', poolPath, { body: { replicas: 2 } });
    const superseded = await server.request<Operation>('GET', `/api/v1/projects/${projectId}/operations/${first.body.id}`);
    expect(superseded.body.status).toBe('superseded');
    expect((await server.request<{ replicas: number }>('GET', poolPath)).body.replicas).toBe(2);
    await eventually(
      async () => (await server.request<Operation>('GET', `/api/v1/projects/${projectId}/operations/${second.body.id}`)).body.status === 'running',
      'the worker to take the scale operation',
    );
    const events = await server.request<Items<Event>>('GET', `/api/v1/projects/${projectId}/clusters/${cluster.id}/events`);
    expect(events.body.items.map((event) => event.reason)).toEqual(expect.arrayContaining(['NodePoolCreated', 'ScalingRequested', 'NodePoolReconciling']));
  });

  it('upgrades one minor at a time and never down', async () => {
    const cluster = (await server.request<Cluster>('POST', `/api/v1/projects/${projectId}/clusters`, { body: { name: 'old', version: '1.35.4' } })).body;
    const path = `/api/v1/projects/${projectId}/clusters/${cluster.id}`;
    const skip = await server.request<{ code: string }>('PATCH', path, { body: { version: '1.37.2' } });
    expect(skip.status).toBe(422);
    expect(skip.body.code).toBe('upgrade_skips_minor');
    const next = await server.request<{ operation: Operation; cluster: Cluster }>('PATCH', path, { body: { version: '1.36.3' } });
    expect(next.status).toBe(202);
    expect(next.body.cluster.version).toBe('1.36.3');
    // 1.36 is not rolled out yet (nothing converges here): the control plane may still run 1.35.
    const onTop = await server.request<{ code: string; detail: string }>('PATCH', path, { body: { version: '1.37.2' } });
    expect(onTop.status).toBe(409);
    expect(onTop.body.code).toBe('upgrade_in_progress');
    expect(onTop.body.detail).toContain('1.35.4');
    expect((await server.request<Cluster>('GET', path)).body.version).toBe('1.36.3');
    const down = await server.request<{ code: string }>('PATCH', path, { body: { version: '1.35.4' } });
    expect(down.status).toBe(422);
    expect(down.body.code).toBe('downgrade_not_allowed');
  });

  it('stops placing clusters on a cordoned seed', async () => {
    expect((await server.request('POST', `/api/v1/seeds/${seedId}/cordon`)).status).toBe(200);
    const refused = await server.request<{ code: string }>('POST', `/api/v1/projects/${projectId}/clusters`, { body: {} });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('no_seed_capacity');
    expect((await server.request('POST', `/api/v1/seeds/${seedId}/uncordon`)).status).toBe(200);
  });

  it('deletes a cluster with 202, frees the seed capacity, and refuses to delete a seed in use', async () => {
    expect((await server.request<{ code: string }>('DELETE', `/api/v1/seeds/${seedId}`)).body.code).toBe('seed_has_clusters');
    const clusters = await server.request<Items<Cluster>>('GET', `/api/v1/projects/${projectId}/clusters`);
    const usedBefore = (await server.request<{ capacity: { used: number } }>('GET', `/api/v1/seeds/${seedId}`)).body.capacity.used;
    const target = clusters.body.items[0];
    const deleted = await server.request<Operation>('DELETE', `/api/v1/projects/${projectId}/clusters/${target.id}`);
    expect(deleted.status).toBe(202);
    expect(deleted.body.kind).toBe('delete-cluster');
    await eventually(async () => (await server.request('GET', `/api/v1/projects/${projectId}/clusters/${target.id}`)).status === 404, 'the cluster to be gone');
    const operation = await server.request<Operation>('GET', `/api/v1/projects/${projectId}/operations/${deleted.body.id}`);
    expect(operation.body.status).toBe('succeeded');
    const events = await server.request<Items<Event>>('GET', `/api/v1/projects/${projectId}/clusters/${target.id}/events`);
    expect(events.body.items.at(-1)!.reason).toBe('Deleted');
    expect((await server.request<{ capacity: { used: number } }>('GET', `/api/v1/seeds/${seedId}`)).body.capacity.used).toBe(usedBefore - 1);
  });

  it('revokes tokens: a revoked token gets 401', async () => {
    const created = await server.request<{ id: string; token: string }>('POST', '/api/v1/tokens', { body: { name: 'short-lived', expiresInDays: 1 } });
    expect(created.status).toBe(201);
    expect((await server.request('GET', '/api/v1/me', { token: created.body.token })).status).toBe(200);
    const listed = await server.request('GET', '/api/v1/tokens');
    expect(listed.text).not.toContain(created.body.token.slice('hm_'.length + 13));
    expect((await server.request('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(204);
    const after = await server.request<{ code: string }>('GET', '/api/v1/me', { token: created.body.token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('invalid_token');
  });

  it('keeps data across a restart and stores no plaintext secret', async () => {
    const doToken = doCredential().token;
    await server.request('POST', `/api/v1/projects/${projectId}/credentials`, { body: doCredential() });
    await server.restart();
    const projects = await server.request<Items<{ name: string }>>('GET', '/api/v1/projects');
    expect(projects.status).toBe(200);
    expect(projects.body.items.map((project) => project.name)).toContain(`demo-${backend}`);
    await server.stop();
    const dump = JSON.stringify(backend === 'postgres' ? await dumpPostgres(server.databaseUrl!) : await dumpPglite(`${server.dataDir}/pglite`));
    for (const secret of [
      awsCredential().secretAccessKey,
      awsCredential().accessKeyId,
      doToken,
      server.adminToken,
      server.adminToken.slice('hm_'.length + 13),
      'BEGIN EC PRIVATE KEY',
      'BEGIN PRIVATE KEY',
      seed.kubeconfig.slice(-60),
    ]) {
      expect(dump).not.toContain(secret);
    }
    expect(dump).toContain('hmenc:v1:');
    await server.launch();
  });

  it('logs structured JSON without secrets and shuts down gracefully', async () => {
    const log = server.log;
    for (const secret of [awsCredential().secretAccessKey, doCredential().token, seed.kubeconfig.slice(-60)]) expect(log).not.toContain(secret);
    const lines = log.split('\n').filter((line) => line.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect((): unknown => JSON.parse(line)).not.toThrow();
    expect(await server.stop()).toBe(0);
    await server.launch();
  });
});
