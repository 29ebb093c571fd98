// Production runs the api and the worker as separate processes over PostgreSQL and Redis.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { ROOT, TestServer } from '../support/server.js';
import { eventually } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

describe('api and worker as separate deployments', () => {
  let api: TestServer;
  let worker: ChildProcess;
  let workerLog = '';
  let seed: TestSeed;

  beforeAll(async () => {
    ensureBuilt();
    seed = await startTestSeed();
    api = await TestServer.start({ backend: 'postgres', env: { HM_ROLE: 'api', HM_BULL_BOARD: 'true' } });
    worker = spawn(process.execPath, [join(ROOT, 'dist/services/worker/src/main.js')], {
      env: api.workerEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    await eventually(async () => workerLog.includes('harbormaster worker running'), 'the worker to start', 60_000);
  });

  afterAll(async () => {
    worker?.kill('SIGTERM');
    await api?.destroy();
    await seed?.close();
  });

  it('refuses to run the api without PostgreSQL, since PGlite allows one process', () => {
    let output = '';
    try {
      execFileSync(process.execPath, [join(ROOT, 'dist/services/api/src/main.js')], { env: { PATH: process.env.PATH ?? '', HM_ROLE: 'api' }, stdio: 'pipe' });
    } catch (error) {
      output = String((error as { stderr?: Buffer }).stderr);
      expect((error as { status?: number }).status).toBe(2);
    }
    expect(output).toContain('DATABASE_URL');
  });

  it('processes in the worker process what the api process enqueued', async () => {
    await api.request('POST', '/api/v1/seeds', { body: { name: 'split', kubeconfig: seed.kubeconfig, maxClusters: 2 } });
    const project = (await api.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'split' } })).body;
    const cluster = (await api.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/clusters`, { body: {} })).body;
    const events = await eventually(async () => {
      const response = await api.request<{ items: Array<{ reason: string; message: string }> }>(
        'GET',
        `/api/v1/projects/${project.id}/clusters/${cluster.id}/events`,
      );
      return response.body.items.find((event) => event.reason === 'Reconciling');
    }, 'the worker process to reconcile');
    expect(events.message).toMatch(/picked up generation 1/);
    expect(api.log).not.toContain('picked up generation');
  });

  it('serves the queue dashboard to administrators only', async () => {
    expect((await api.request('GET', '/admin/queues', { token: null })).status).toBe(401);
    const user = await api.request<{ id: string }>('POST', '/api/v1/users', { body: { email: 'plain@example.com' } });
    const token = (await api.request<{ token: string }>('POST', `/api/v1/users/${user.body.id}/tokens`, { body: { name: 'plain' } })).body.token;
    expect((await api.request('GET', '/admin/queues', { token })).status).toBe(403);
    const dashboard = await api.request('GET', '/admin/queues');
    expect(dashboard.status).toBe(200);
    expect(dashboard.text).toContain('<html');
  });
});
