// Starts the real Harbormaster process (built output) on a free port against the chosen
// database backend, and talks to it over HTTP. Tests use nothing else to drive the API.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { scaled } from './time.js';

export type Backend = 'pglite' | 'postgres';

export const ROOT = join(import.meta.dirname, '../..');
const ADMIN_POSTGRES = process.env.HM_TEST_POSTGRES_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

export interface ServerOptions {
  backend: Backend;
  /** HM_ROLE here picks the entry: `api` runs the api deployable, unset or `all` the all-in-one process. */
  env?: Record<string, string>;
  /** The build output to run (default: the dev/test tree in dist/). */
  distDir?: string;
  /** Reuse the data directory / database of an earlier server (restart tests). */
  reuse?: { dataDir: string; databaseUrl?: string; masterKey: string };
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class TestServer {
  private process: ChildProcess | undefined;
  private output = '';
  baseUrl = '';
  adminToken = '';

  constructor(
    readonly options: ServerOptions,
    readonly dataDir: string,
    readonly databaseUrl: string | undefined,
    readonly masterKey: string,
    readonly queuePrefix: string,
  ) {}

  static async start(options: ServerOptions): Promise<TestServer> {
    const dataDir = options.reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'hm-test-'));
    const databaseUrl = options.reuse ? options.reuse.databaseUrl : options.backend === 'postgres' ? await createDatabase() : undefined;
    const masterKey = options.reuse?.masterKey ?? randomBytes(32).toString('base64');
    const server = new TestServer(options, dataDir, databaseUrl, masterKey, `hmt${randomBytes(4).toString('hex')}`);
    await server.launch();
    return server;
  }

  get log(): string {
    return this.output;
  }

  /**
   * The environment of a separate worker process that shares this API's database, master key,
   * queues and data directory (the production split, with HM_ROLE=api here).
   */
  workerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    if (!this.databaseUrl) throw new Error('a separate worker needs PostgreSQL: start the server with backend postgres');
    return {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      HM_ROLE: 'worker',
      DATABASE_URL: this.databaseUrl,
      HM_MASTER_KEY: this.masterKey,
      HM_QUEUE_PREFIX: this.queuePrefix,
      HM_DATA_DIR: this.dataDir,
      ...extra,
    };
  }

  /** The server process id, for benchmarks that read its CPU time and memory from /proc. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  async launch(): Promise<void> {
    // Start from empty output: the readiness line of an earlier run must not count.
    this.output = '';
    this.baseUrl = '';
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      HM_DATA_DIR: this.dataDir,
      HM_MASTER_KEY: this.masterKey,
      HM_QUEUE_PREFIX: this.queuePrefix,
      HM_SANDBOX: 'false',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...(this.databaseUrl ? { DATABASE_URL: this.databaseUrl, HM_ROLE: 'all' } : {}),
      ...this.options.env,
    };
    // Node flags NODE_OPTIONS refuses (--cpu-prof, --prof) for profiling the server under a test or bench.
    const nodeArgs = process.env.HM_TEST_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, entryFor(env.HM_ROLE, this.options.distDir)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    const started = new Promise<void>((resolve, reject) => {
      // Only whole new lines are scanned, and only until the server listens: a regular expression
      // over the whole growing output on every chunk flattened megabytes per log line and took a
      // core of this (the load-generating) process under load.
      let partialLine = '';
      let listening = false;
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        this.output += text;
        if (listening) return;
        const lines = (partialLine + text).split('\n');
        partialLine = lines.pop() ?? '';
        for (const line of lines) {
          const token = /HM_ADMIN_TOKEN=(\S+)/.exec(line);
          if (token && !this.adminToken) this.adminToken = token[1];
          const url = /"url":"(http:\/\/[^"]+)".*harbormaster listening/.exec(line);
          if (url) {
            listening = true;
            this.baseUrl = url[1];
            resolve();
            return;
          }
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${this.output.slice(-4000)}`)));
    });
    const startBudget = scaled(90_000);
    let timer: NodeJS.Timeout | undefined;
    const notStarted = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`server did not start in ${startBudget / 1000} s:\n${this.output.slice(-4000)}`)), startBudget);
    });
    await Promise.race([started, notStarted]).finally(() => clearTimeout(timer));
  }

  /** Stops the process: SIGTERM first (graceful), SIGKILL when `hard`. */
  async stop(hard = false): Promise<number | null> {
    const child = this.process;
    if (child?.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(hard ? 'SIGKILL' : 'SIGTERM');
    const code = await exited;
    this.process = undefined;
    return code;
  }

  /** `hard` kills the process with SIGKILL first, as a crash would. */
  async restart(hard = false): Promise<void> {
    await this.stop(hard);
    await this.launch();
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (process.env.HM_TEST_SERVER_LOG) {
      const { appendFileSync } = await import('node:fs');
      appendFileSync(process.env.HM_TEST_SERVER_LOG, this.output);
    }
    if (!this.options.reuse) {
      rmSync(this.dataDir, { recursive: true, force: true });
      if (this.databaseUrl) await dropDatabase(this.databaseUrl);
    }
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const token = options.token === undefined ? this.adminToken : options.token;
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers };
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON; keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  /** Dumps every table, for "nothing was written" assertions. */
  async snapshot(): Promise<string> {
    const response = await this.request<{ items: unknown[] }>('GET', '/api/v1/audit');
    return JSON.stringify(response.body);
  }
}

/** The compiled entry module of a role's deployable (services/<deployable>/src/main.ts). */
export function entryFor(role: string | undefined, distDir = join(ROOT, 'dist')): string {
  const deployable = role === 'api' ? 'api' : role === 'worker' ? 'worker' : 'all-in-one';
  return join(distDir, 'services', deployable, 'src/main.js');
}

export async function createDatabase(): Promise<string> {
  const name = `hm_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: ADMIN_POSTGRES });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(ADMIN_POSTGRES);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: ADMIN_POSTGRES });
  await client.connect();
  try {
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}
