// The production tree, as a container would hold it: `node scripts/build.mjs` (no sandbox, no
// tests) plus `npm ci --omit=dev`. A package the product loads that sits in devDependencies, or
// an import that reaches the sandbox, passes every other test (they run the dev tree over the
// full node_modules) and fails only here.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSeed, type TestSeed } from '../support/seed.js';
import { entryFor, ROOT, TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';

const run = promisify(execFile);

interface LockEntry {
  dev?: boolean;
}

/** Every compiled file an entry module reaches through relative static and literal dynamic imports. */
function importGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  const specifiers = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(specifiers)) pending.push(resolve(dirname(file), match[1]));
  }
  return seen;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((path) => join(dir, path));
}

describe('the production tree (npm run build, npm ci --omit=dev)', () => {
  let directory: string;
  let dist: string;
  let seed: TestSeed | undefined;
  let api: TestServer | undefined;
  let allInOne: TestServer | undefined;
  let worker: ChildProcess | undefined;
  let workerLog = '';

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'hm-production-'));
    dist = join(directory, 'dist');
    // The portal is static files served as they are; this tree is about the server's code and packages.
    await run(process.execPath, ['scripts/build.mjs', '--out', dist, '--no-portal'], { cwd: ROOT, timeout: scaled(60_000) });
    copyFileSync(join(ROOT, 'package.json'), join(directory, 'package.json'));
    copyFileSync(join(ROOT, 'package-lock.json'), join(directory, 'package-lock.json'));
    // About a minute from npm's cache on a quiet machine; most of it is unpacking.
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: directory, timeout: scaled(180_000) });
  }, scaled(300_000));

  afterAll(async () => {
    worker?.kill('SIGTERM');
    await api?.destroy();
    await allInOne?.destroy();
    await seed?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('holds every deployable and no sandbox, tests or dev-only packages', () => {
    expect(readdirSync(join(dist, 'services')).sort()).toEqual(['all-in-one', 'api', 'clouds', 'core', 'db', 'kube', 'platform', 'worker']);
    expect(filesUnder(dist).filter((path) => /\.(test|spec|bench)\.js$/.test(path))).toEqual([]);

    const lock = JSON.parse(readFileSync(join(directory, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev);
    expect(devOnly.length).toBeGreaterThan(0);
    expect(devOnly.map(([path]) => path).filter((path) => existsSync(join(directory, path)))).toEqual([]);
    // A devDependency may still be installed when a production package needs it (jose, for
    // @kubernetes/client-node's OIDC): then the lock says so by not marking it dev.
    const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const installedDev = Object.keys(manifest.devDependencies).filter((name) => existsSync(join(directory, 'node_modules', name)));
    expect(installedDev.filter((name) => lock.packages[`node_modules/${name}`]?.dev)).toEqual([]);
    for (const sandboxOnly of ['etcd3', '@peculiar/x509', 'ajv-formats', 'fast-xml-parser'])
      expect(existsSync(join(directory, 'node_modules', sandboxOnly)), sandboxOnly).toBe(false);
  });

  it('keeps the worker out of the api deployable and the api out of the worker deployable', () => {
    const deployables = (entry: string) => [...importGraph(entry)].map((file) => relative(join(dist, 'services'), file).split('/')[0]);
    const api = new Set(deployables(entryFor('api', dist)));
    expect(api.has('api')).toBe(true);
    expect([...api].filter((name) => ['worker', 'sandbox', 'all-in-one'].includes(name))).toEqual([]);
    const worker = new Set(deployables(entryFor('worker', dist)));
    expect(worker.has('worker')).toBe(true);
    expect([...worker].filter((name) => ['api', 'sandbox', 'all-in-one'].includes(name))).toEqual([]);
  });

  it('refuses, with the way out, what each entry does not run', async () => {
    const start = (role: string, env: Record<string, string>, tree = dist) =>
      spawnSync(process.execPath, [entryFor(role, tree)], {
        env: { PATH: process.env.PATH ?? '', HM_DATA_DIR: join(directory, 'refused'), ...env },
        encoding: 'utf8',
        timeout: scaled(30_000),
      });
    const sandbox = start('all', {});
    expect(sandbox.status).toBe(2);
    expect(sandbox.stderr).toContain('this build has no sandbox');
    expect(sandbox.stderr).toContain('--with-sandbox');
    expect(existsSync(join(directory, 'refused'))).toBe(false);

    const allOnApi = start('api', { HM_ROLE: 'all' });
    expect(allOnApi.status).toBe(2);
    expect(allOnApi.stderr).toContain('dist/services/all-in-one/src/main.js');
    const sandboxOnApi = start('api', { DATABASE_URL: 'postgres://127.0.0.1:1/none', HM_SANDBOX: 'true' });
    expect(sandboxOnApi.status).toBe(2);
    expect(sandboxOnApi.stderr).toContain('the sandbox runs only in the all-in-one process');
    const apiOnWorker = start('worker', { HM_ROLE: 'api' });
    expect(apiOnWorker.status).toBe(2);
    expect(apiOnWorker.stderr).toContain('dist/services/api/src/main.js');

    // The dev tree over the production install: the sandbox is there, its packages are not.
    const devTree = join(directory, 'dist-dev');
    await run(process.execPath, ['scripts/build.mjs', '--with-sandbox', '--out', devTree, '--no-portal'], { cwd: ROOT, timeout: scaled(60_000) });
    const withoutPackages = start('all', {}, devTree);
    expect(withoutPackages.status).toBe(2);
    expect(withoutPackages.stderr).toContain('install without --omit=dev');
  });

  it('runs the api and the worker apart over PostgreSQL and Redis', async () => {
    api = await TestServer.start({ backend: 'postgres', distDir: dist, env: { HM_ROLE: 'api' } });
    expect((await api.request('GET', '/healthz', { token: null })).status).toBe(200);
    expect((await api.request('GET', '/readyz', { token: null })).status).toBe(200);

    worker = spawn(process.execPath, [entryFor('worker', dist)], { env: api.workerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    await eventually(() => workerLog.includes('harbormaster worker running') || worker!.exitCode !== null, 'the worker to start', 60_000);
    expect(worker.exitCode, workerLog).toBeNull();

    // The worker reconciles what the api enqueued, so its lazily loaded code paths run too.
    seed = await startTestSeed();
    await api.request('POST', '/api/v1/seeds', { body: { name: 'production', kubeconfig: seed.kubeconfig, maxClusters: 2 } });
    const project = (await api.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'production' } })).body;
    const cluster = (await api.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/clusters`, { body: {} })).body;
    const reconciling = await eventually(async () => {
      const response = await api!.request<{ items: Array<{ reason: string; message: string }> }>(
        'GET',
        `/api/v1/projects/${project.id}/clusters/${cluster.id}/events`,
      );
      return response.body.items.find((event) => event.reason === 'Reconciling');
    }, 'the worker process to reconcile');
    expect(reconciling.message).toMatch(/picked up generation 1/);
    expect(worker.exitCode, workerLog).toBeNull();
    expect(`${api.log}\n${workerLog}`).not.toMatch(/Cannot find (package|module)|ERR_MODULE_NOT_FOUND/);
  });

  it('runs the all-in-one process without the sandbox on PGlite', async () => {
    allInOne = await TestServer.start({ backend: 'pglite', distDir: dist, env: { HM_SANDBOX: 'false' } });
    expect((await allInOne.request('GET', '/healthz', { token: null })).status).toBe(200);
    expect((await allInOne.request('GET', '/readyz', { token: null })).status).toBe(200);
    expect(allInOne.log).toContain('"role":"all"');
    expect(allInOne.log).not.toMatch(/Cannot find (package|module)|ERR_MODULE_NOT_FOUND/);
  });
});
