// API load: requests/s, p50 and p99 of the read and create routes, printed for the closing notes.
// - The server is the built process, pinned to core 0 (`taskset`); this bench process (autocannon
//   and its client) and the local PostgreSQL are pinned to core 1. PostgreSQL runs the api deployable (HM_ROLE=api, no
//   worker); PGlite can only run the all-in-one process (HM_SANDBOX=false), so its worker shares
//   the core and tries, and fails, to provision what the create run makes on a seed row that
//   points nowhere.
// - HM_BENCH_PROJECTS projects (10) of HM_BENCH_CLUSTERS_PER_PROJECT clusters (20, the default
//   quota), each with one pool of HM_BENCH_NODES_PER_POOL nodes (3), are written straight into the
//   database: Running and converged, so no job touches them, with sealed secrets of a real size.
// - Each route is measured twice: flat out with HM_BENCH_CONNECTIONS connections (50, as in the
//   issue) for requests/s, and at a fixed open-loop 200 requests/s for p50/p99 (the target: p99
//   under 50 ms for reads on one core with PostgreSQL). Every figure is the median of
//   HM_BENCH_RUNS runs (3) of HM_BENCH_SECONDS (10 s); the spread is printed beside it.
// - CPU milliseconds per answered request, of the server process and of the PostgreSQL backends
//   serving its database (/proc/<pid>/stat): the figure a machine shared with other work does
//   not distort; 1000 / that is the request rate one free core would sustain.
// - Loaded sandbox: the all-in-one process with the embedded sandbox on PostgreSQL, unpinned (as
//   `npm run up` runs), serves the same reads while it provisions HM_BENCH_SANDBOX_CLUSTERS (20)
//   one-click clusters and then deletes them; the deletion's wall time and the slowest cluster's
//   timeline are printed too.
// Run: npm run bench -- test/bench/api.bench.ts   (HM_BENCH_SCENARIOS=postgres,pglite,sandbox picks scenarios)
import { execFileSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Result } from 'autocannon';
import pg from 'pg';
import { afterAll, bench, describe } from 'vitest';
import { ROOT, TestServer, type Backend } from '../support/server.js';

const PROJECTS = Number(process.env.HM_BENCH_PROJECTS ?? '10');
const CLUSTERS_PER_PROJECT = Number(process.env.HM_BENCH_CLUSTERS_PER_PROJECT ?? '20');
const NODES_PER_POOL = Number(process.env.HM_BENCH_NODES_PER_POOL ?? '3');
const CONNECTIONS = Number(process.env.HM_BENCH_CONNECTIONS ?? '50');
const SECONDS = Number(process.env.HM_BENCH_SECONDS ?? '10');
const RUNS = Number(process.env.HM_BENCH_RUNS ?? '3');
const TARGET_RATE = 200;
const SANDBOX_CLUSTERS = Number(process.env.HM_BENCH_SANDBOX_CLUSTERS ?? '20');
const SCENARIOS = new Set((process.env.HM_BENCH_SCENARIOS ?? 'postgres,pglite,sandbox').split(','));
const BENCH_SEED_ID = '00000000-0000-4000-8000-00000000be9c';

/** Periodic work that would otherwise probe the seeded clusters' nowhere seed during the measurement. */
const QUIET = {
  HM_CLUSTER_HEALTH_INTERVAL_SECONDS: '3600',
  HM_NODE_HEALTH_INTERVAL_SECONDS: '3600',
  HM_SEED_HEALTH_INTERVAL_SECONDS: '3600',
  HM_QUOTA_CLUSTERS_PER_PROJECT: '100000',
  LOG_LEVEL: process.env.HM_BENCH_LOG_LEVEL ?? 'info',
  ...(process.env.HM_BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.HM_BENCH_SERVER_NODE_OPTIONS } : {}),
};

const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.destroy();
  unpinPostgres();
});

function pin(pid: number, core: number | string): void {
  execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

/** The local PostgreSQL's processes (the postmaster and its backends; new backends inherit its affinity). */
function postgresPids(): number[] {
  try {
    return execFileSync('pgrep', ['-x', 'postgres'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * PostgreSQL runs on core 1 with the load generator, never on the api's core: in production the
 * database has a machine of its own. (A PostgreSQL started from a pinned process inherits that
 * pin: one started from a bench run sat on core 0, the api's, for every later run.)
 */
function pinPostgres(): void {
  for (const pid of postgresPids()) pin(pid, 1);
}

function unpinPostgres(): void {
  for (const pid of postgresPids()) pin(pid, `0-${cpus().length - 1}`);
}

const CONDITIONS = JSON.stringify(
  ['SeedNamespaceReady', 'PkiReady', 'EtcdReady', 'ApiserverReady', 'ControllerManagerReady', 'SchedulerReady', 'TenantBootstrapped', 'AddonsReady'].map(
    (type) => ({ type, status: 'True', reason: 'Ready', message: `${type} is ready`, lastTransitionTime: '2026-12-01T00:00:00.000Z' }),
  ),
);
const NODE_CONDITIONS = JSON.stringify(['Ready', 'LeaseFresh', 'SshReachable'].map((type) => ({ type, status: 'True', reason: type })));

/** Rows for every bench project: one statement per table, so seeding 200 clusters takes a moment. */
function seedingSql(projectIds: readonly string[], seedCordoned: boolean): string[] {
  const projects = `array[${projectIds.map((id) => `'${id}'::uuid`).join(',')}]`;
  return [
    `insert into seeds (id, name, labels, sealed_kubeconfig, server_url, max_clusters, cordoned, health, health_message)
     values ('${BENCH_SEED_ID}', 'bench-seed', '{}', 'v1.unused', 'https://127.0.0.1:9', 100000, ${seedCordoned}, 'Healthy', '')`,
    `insert into provider_credentials (id, project_id, name, provider, summary, sealed_secret)
     select gen_random_uuid(), p, 'bench-aws', 'aws', '{"accessKeyId":"AKIA…BENCH"}', repeat('s', 200) from unnest(${projects}) p`,
    `insert into clusters (id, project_id, name, version, seed_id, expose_strategy, pod_cidr, service_cidr, etcd_replicas, addons, phase,
       phase_reason, conditions, endpoint, generation, observed_generation, sealed_secrets, updated_at)
     select gen_random_uuid(), p, 'bench-' || i, '1.37.2', '${BENCH_SEED_ID}', 'NodePort', '10.244.0.0/16', '10.96.0.0/12', 3, '{}',
       'Running', 'Ready', '${CONDITIONS}', 'https://127.0.0.1:6443', 1, 1, repeat('k', 12000), now()
     from unnest(${projects}) p, generate_series(1, ${CLUSTERS_PER_PROJECT}) i`,
    `insert into node_pools (id, cluster_id, project_id, name, credential_id, provider, region, size, image, replicas, labels, taints,
       ssh_public_keys, health_check, conditions, updated_at)
     select gen_random_uuid(), c.id, c.project_id, 'pool-1', cr.id, 'aws', 'eu-west-1', 't3.medium', 'ami-0123456789abcdef0', ${NODES_PER_POOL},
       '{}', '[]', '[]', '{"startupTimeoutSeconds":600,"unhealthyTimeoutSeconds":300,"maxUnhealthyPercent":40}', '[]', now()
     from clusters c join provider_credentials cr on cr.project_id = c.project_id where c.seed_id = '${BENCH_SEED_ID}'`,
    `insert into nodes (id, pool_id, cluster_id, name, cloud_id, private_ip, phase, phase_reason, conditions, kubelet_version, updated_at)
     select gen_random_uuid(), np.id, np.cluster_id, np.name || '-' || i, 'i-' || i, '10.0.0.' || i, 'Ready', 'Ready', '${NODE_CONDITIONS}', 'v1.37.2', now()
     from node_pools np, generate_series(1, ${NODES_PER_POOL}) i where np.name = 'pool-1'`,
  ];
}

async function runSql(server: TestServer, statements: string[]): Promise<void> {
  if (server.databaseUrl) {
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
    return;
  }
  // PGlite takes one process: the server is stopped while the rows go in, from a child process
  // (PGlite's WebAssembly exits the process on some failures, which would end the bench silently).
  const script = `
    const { PGlite } = await import('@electric-sql/pglite');
    const db = new PGlite(process.env.DATA_DIR);
    for (const statement of JSON.parse(process.env.STATEMENTS)) await db.query(statement);
    await db.close();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: join(server.dataDir, 'pglite'), STATEMENTS: JSON.stringify(statements) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

interface Fixture {
  server: TestServer;
  projectIds: string[];
  clusterIds: string[];
}

async function startSeeded(backend: Backend, env: Record<string, string>, seedCordoned: boolean): Promise<Fixture> {
  const server = await TestServer.start({ backend, env: { ...QUIET, ...env } });
  servers.push(server);
  const projectIds: string[] = [];
  for (let index = 0; index < PROJECTS; index += 1) {
    const created = await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: `bench-${index}` } });
    if (created.status !== 201) throw new Error(`POST /projects answered ${created.status}: ${created.text}`);
    projectIds.push(created.body.id);
  }
  if (backend === 'pglite') await server.stop();
  await runSql(server, seedingSql(projectIds, seedCordoned));
  if (backend === 'pglite') await server.launch();
  const listed = await server.request<{ items: Array<{ id: string }> }>('GET', `/api/v1/projects/${projectIds[0]}/clusters`);
  if (listed.body.items.length !== CLUSTERS_PER_PROJECT)
    throw new Error(`the seeded project lists ${listed.body.items.length} clusters: ${listed.text.slice(0, 300)}`);
  return { server, projectIds, clusterIds: listed.body.items.map((cluster) => cluster.id) };
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  failures: number;
  /** CPU the server process spent per answered request: what a busy machine does not distort. */
  serverCpuMs: number;
  /** CPU the PostgreSQL backends serving this database spent per answered request (0 on PGlite, which runs inside the server). */
  databaseCpuMs: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** User plus system CPU milliseconds of a process, from /proc/<pid>/stat (fields 14 and 15); 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** CPU milliseconds per PostgreSQL backend connected to the server's database. */
async function databaseBackendsCpu(server: TestServer): Promise<Map<number, number>> {
  if (!server.databaseUrl) return new Map();
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    return new Map(rows.map(({ pid }) => [pid, cpuMs(pid)]));
  } finally {
    await client.end();
  }
}

/**
 * An open-loop load at `rate` requests/s, evenly spaced: request i is due at start + i / rate,
 * sent then whether or not earlier ones have answered, and its latency counts from when it was
 * due (so a stalled server is not excused by requests that were sent late). autocannon's
 * `overallRate` is not this: each connection sends its quota for the second at once and then
 * pauses, so 200/s arrives as one burst of 200 at the top of every second and its latencies
 * measure the burst's queue.
 */
async function paced(server: TestServer, path: string, rate: number): Promise<{ total: number; seconds: number; latencies: number[]; failures: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(`${server.baseUrl}${path}`);
  const latencies: number[] = [];
  let failures = 0;
  const inFlight: Array<Promise<void>> = [];
  const send = (due: number) =>
    new Promise<void>((resolve) => {
      const req = httpRequest(url, { agent, method: 'GET', headers: { authorization: `Bearer ${server.adminToken}` }, timeout: 30_000 }, (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode !== 200) failures += 1;
          latencies.push(performance.now() - due);
          resolve();
        });
      });
      req.on('error', () => {
        failures += 1;
        resolve();
      });
      req.end();
    });
  const start = performance.now();
  const count = Math.round(rate * SECONDS);
  for (let index = 0; index < count; index += 1) {
    const due = start + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(due));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { total: latencies.length, seconds, latencies, failures };
}

async function measure(server: TestServer, path: string, options: { method?: 'GET' | 'POST'; rate?: number; connections?: number } = {}): Promise<Figures> {
  const serverCpuBefore = cpuMs(server.pid!);
  const databaseBefore = await databaseBackendsCpu(server);
  if (options.rate && (options.method ?? 'GET') === 'GET') {
    const run = await paced(server, path, options.rate);
    let databaseCpu = 0;
    for (const [pid, after] of await databaseBackendsCpu(server)) databaseCpu += after - (databaseBefore.get(pid) ?? 0);
    const answered = Math.max(1, run.total);
    const quantile = (q: number) => run.latencies[Math.min(run.latencies.length - 1, Math.floor(q * run.latencies.length))] ?? Number.NaN;
    return {
      rps: run.total / run.seconds,
      p50: quantile(0.5),
      p99: quantile(0.99),
      failures: run.failures,
      serverCpuMs: (cpuMs(server.pid!) - serverCpuBefore) / answered,
      databaseCpuMs: databaseCpu / answered,
    };
  }
  const result: Result = await autocannon({
    url: `${server.baseUrl}${path}`,
    method: options.method ?? 'GET',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    ...(options.method === 'POST' ? { body: '{}' } : {}),
    connections: options.connections ?? CONNECTIONS,
    duration: SECONDS,
    timeout: 30,
    ...(options.rate ? { overallRate: options.rate } : {}),
  });
  const answered = Math.max(1, result.requests.total);
  let databaseCpu = 0;
  for (const [pid, after] of await databaseBackendsCpu(server)) databaseCpu += after - (databaseBefore.get(pid) ?? 0);
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
    serverCpuMs: (cpuMs(server.pid!) - serverCpuBefore) / answered,
    databaseCpuMs: databaseCpu / answered,
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values: number[]): string => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;

type Row = [string, string, string, string, string, string];
const rows: Row[] = [];

/** Runs one measurement RUNS times and keeps the median of each figure, with its range. */
async function record(label: string, run: () => Promise<Figures>, runs = RUNS): Promise<void> {
  const figures: Figures[] = [];
  for (let index = 0; index < runs; index += 1) figures.push(await run());
  const pick = (key: keyof Figures) => figures.map((figure) => figure[key]);
  const row: Row = [
    label,
    `${median(pick('rps')).toFixed(0)} (${spread(pick('rps'))})`,
    `${median(pick('p50')).toFixed(0)} (${spread(pick('p50'))})`,
    `${median(pick('p99')).toFixed(0)} (${spread(pick('p99'))})`,
    String(pick('failures').reduce((sum, value) => sum + value, 0)),
    `${median(pick('serverCpuMs')).toFixed(2)} + ${median(pick('databaseCpuMs')).toFixed(2)}`,
  ];
  rows.push(row);
  // stderr, line by line: vitest's bench reporter drops what an afterAll hook prints.
  process.stderr.write(`[api bench] ${row.join(' | ')}  (load ${loadavg()[0].toFixed(1)})\n`);
}

function printTable(): void {
  const header: Row = ['measurement', 'req/s (range)', 'p50 ms', 'p99 ms', 'failed', 'CPU ms/request: server + PostgreSQL'];
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
  const line = (row: Row) => row.map((cell, column) => cell.padEnd(widths[column])).join(' | ');
  process.stderr.write(`\n[api bench] medians of ${RUNS} × ${SECONDS} s, ${CONNECTIONS} connections flat out or ${TARGET_RATE} req/s open loop\n`);
  process.stderr.write(`${[header, ...rows].map(line).join('\n')}\n\n`);
}

async function readsAndCreate(backend: Backend): Promise<void> {
  execFileSync(process.execPath, ['scripts/build.mjs', '--with-sandbox', '--no-portal'], { cwd: ROOT, stdio: 'ignore' });
  pin(process.pid, 1);
  const { server, projectIds, clusterIds } = await startSeeded(backend, backend === 'postgres' ? { HM_ROLE: 'api' } : {}, false);
  pin(server.pid!, 0);
  if (backend === 'postgres') pinPostgres();
  const list = `/api/v1/projects/${projectIds[0]}/clusters`;
  const get = `${list}/${clusterIds[0]}`;
  const tag = backend === 'postgres' ? 'PostgreSQL, api' : 'PGlite, all-in-one';
  await measure(server, list, { connections: 10 }); // warm-up: JIT, connection pool
  await record(`${tag}: list ${CLUSTERS_PER_PROJECT} flat out`, () => measure(server, list));
  await record(`${tag}: list at ${TARGET_RATE}/s`, () => measure(server, list, { rate: TARGET_RATE, connections: 20 }));
  await record(`${tag}: get flat out`, () => measure(server, get));
  await record(`${tag}: get at ${TARGET_RATE}/s`, () => measure(server, get, { rate: TARGET_RATE, connections: 20 }));
  // Creates go into a project of their own; the database goes with the server afterwards.
  const createProject = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'bench-create' } })).body.id;
  await record(`${tag}: create, 10 connections`, () => measure(server, `/api/v1/projects/${createProject}/clusters`, { method: 'POST', connections: 10 }));
  printTable();
  await server.destroy();
  servers.splice(servers.indexOf(server), 1);
}

const benchOnce = { iterations: 1, time: 0, warmupIterations: 0, warmupTime: 0 };

/** Vitest's bench runner may call a task more than once even with one iteration: each scenario runs once. */
function once(scenario: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= scenario());
}

describe('API reads and creates on one core', () => {
  if (SCENARIOS.has('postgres'))
    bench(
      'PostgreSQL (api deployable)',
      once(() => readsAndCreate('postgres')),
      benchOnce,
    );
  if (SCENARIOS.has('pglite'))
    bench(
      'PGlite (all-in-one, no sandbox)',
      once(() => readsAndCreate('pglite')),
      benchOnce,
    );
});

interface ClusterView {
  id: string;
  phase: string;
}

describe('the same reads beside a loaded sandbox', () => {
  if (!SCENARIOS.has('sandbox')) return;
  bench(
    `PostgreSQL all-in-one with the sandbox provisioning and deleting ${SANDBOX_CLUSTERS} clusters`,
    once(async () => {
      execFileSync(process.execPath, ['scripts/build.mjs', '--with-sandbox', '--no-portal'], { cwd: ROOT, stdio: 'ignore' });
      // The bench seed is cordoned: the sandbox's one-click clusters go to the sandbox seed.
      const { server, projectIds, clusterIds } = await startSeeded('postgres', { HM_ROLE: 'all', HM_SANDBOX: 'true' }, true);
      const list = `/api/v1/projects/${projectIds[0]}/clusters`;
      const get = `${list}/${clusterIds[0]}`;
      await measure(server, list, { connections: 10 });
      await record('sandbox idle: list at 200/s', () => measure(server, list, { rate: TARGET_RATE, connections: 20 }), 1);
      const loadProject = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'load' } })).body.id;
      const loadClusters = `/api/v1/projects/${loadProject}/clusters`;
      const created: string[] = [];
      for (let index = 0; index < SANDBOX_CLUSTERS; index += 1) {
        const response = await server.request<{ id: string }>('POST', loadClusters, { body: {} });
        if (response.status !== 201) throw new Error(`POST /clusters answered ${response.status}: ${response.text}`);
        created.push(response.body.id);
      }
      await record(`sandbox provisioning ${SANDBOX_CLUSTERS}: list at 200/s`, () => measure(server, list, { rate: TARGET_RATE, connections: 20 }), 1);
      await record(`sandbox provisioning ${SANDBOX_CLUSTERS}: list flat out`, () => measure(server, list), 1);
      await record(`sandbox provisioning ${SANDBOX_CLUSTERS}: get at 200/s`, () => measure(server, get, { rate: TARGET_RATE, connections: 20 }), 1);
      const phases = async () => (await server.request<{ items: ClusterView[] }>('GET', loadClusters)).body.items.map((cluster) => cluster.phase);
      process.stderr.write(`[api bench] phases before deletion: ${JSON.stringify(countBy(await phases()))}\n`);

      const deletionStarted = performance.now();
      for (const id of created) await server.request('DELETE', `${loadClusters}/${id}`);
      await record(`sandbox deleting ${SANDBOX_CLUSTERS}: list at 200/s`, () => measure(server, list, { rate: TARGET_RATE, connections: 20 }), 1);
      const gone = new Map<string, number>();
      const deadline = deletionStarted + Number(process.env.HM_BENCH_DELETE_BUDGET_SECONDS ?? '900') * 1000;
      while (gone.size < created.length && performance.now() < deadline) {
        for (const id of created) {
          if (!gone.has(id) && (await server.request('GET', `${loadClusters}/${id}`)).status === 404) gone.set(id, performance.now() - deletionStarted);
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      const times = [...gone.values()].sort((a, b) => a - b);
      process.stderr.write(
        `[api bench] deletion of ${SANDBOX_CLUSTERS}: ${gone.size} gone; first ${((times[0] ?? NaN) / 1000).toFixed(1)} s, median ${(median(times) / 1000).toFixed(1)} s, last ${((times.at(-1) ?? NaN) / 1000).toFixed(1)} s\n`,
      );
      const slowest = [...created].sort((a, b) => (gone.get(b) ?? Infinity) - (gone.get(a) ?? Infinity))[0];
      const timeline = await server.request<{ items: Array<{ reason: string; message: string; createdAt: string }> }>(
        'GET',
        `${loadClusters}/${slowest}/events`,
      );
      process.stderr.write(
        `[api bench] timeline of the slowest deletion (${slowest}):\n${timeline.body.items.map((event) => `  ${event.createdAt} ${event.reason}: ${event.message}`).join('\n')}\n`,
      );
      printTable();
    }),
    benchOnce,
  );
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
