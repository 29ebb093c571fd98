// A control plane that does not converge within the progress deadline is reported Failed with
// the step it is stuck on, and is still reconciled. The seed here runs no pods, so etcd never
// becomes ready.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { TestServer } from '../support/server.js';
import { eventually } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

const execFileAsync = promisify(execFile);

beforeAll(() => {
  ensureBuilt();
});

describe('progress deadline', () => {
  let server: TestServer;
  let seed: TestSeed;

  beforeAll(async () => {
    seed = await startTestSeed();
    server = await TestServer.start({ backend: 'pglite', env: { HM_PROGRESS_DEADLINE_SECONDS: '10' } });
  });

  afterAll(async () => {
    await server?.destroy();
    await seed?.close();
  });

  it('marks a cluster stuck in provisioning Failed with a reason, and keeps waiting for it', async () => {
    expect((await server.request('POST', '/api/v1/seeds', { body: { name: 'podless', kubeconfig: seed.kubeconfig, maxClusters: 5 } })).status).toBe(201);
    const project = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'deadline' } })).body.id;
    const cluster = (
      await server.request<{ id: string; phase: string }>('POST', `/api/v1/projects/${project}/clusters`, { body: { name: 'stuck', etcdReplicas: 1 } })
    ).body;
    const path = `/api/v1/projects/${project}/clusters/${cluster.id}`;
    const provisioning = await eventually(async () => {
      const current = await server.request<{ phase: string; phaseReason: string }>('GET', path);
      return current.body.phase === 'Provisioning' && current.body;
    }, 'the cluster to start provisioning');
    expect(provisioning.phase).toBe('Provisioning');

    const failed = await eventually(
      async () => {
        const current = await server.request<{ phase: string; phaseReason: string }>('GET', path);
        return current.body.phase === 'Failed' && current.body;
      },
      'the progress deadline to pass',
      40_000,
      500,
    );
    expect(failed.phaseReason).toBe('ProvisioningTimedOut');
    const events = await server.request<{ items: Array<{ reason: string; type: string; message: string }> }>('GET', `${path}/events`);
    const deadline = events.body.items.filter((event) => event.reason === 'ProgressDeadlineExceeded');
    expect(deadline).toHaveLength(1);
    expect(deadline[0].type).toBe('Warning');
    expect(deadline[0].message).toMatch(/etcd/i);

    // Still reconciled: the worker keeps the control plane's objects in the seed.
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'hm-deadline-')), 'seed.kubeconfig');
    writeFileSync(kubeconfig, seed.kubeconfig);
    // Asynchronous: the seed answers from this very process.
    const seedKubectl = async (...args: string[]): Promise<string> =>
      (await execFileAsync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' })).stdout;
    await seedKubectl('-n', `cluster-${cluster.id}`, 'delete', 'statefulset', 'etcd', '--wait=false');
    await eventually(
      async () => (await seedKubectl('-n', `cluster-${cluster.id}`, 'get', 'statefulsets', '-o', 'name')).includes('statefulset.apps/etcd'),
      'the worker to put the deleted etcd StatefulSet back',
      30_000,
      500,
    );
    expect((await server.request<{ phase: string }>('GET', path)).body.phase).toBe('Failed');
  });
});
