// A PostgreSQL server of a test's own (initdb in a temp dir, a free port), so a test can restart
// it like a crashed database without touching the one the rest of the suite shares.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const newest = readdirSync(root)
    .filter((entry) => /^\d+$/.test(entry))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server under ${root} (scripts/setup.sh installs it)`);
  return join(root, newest, 'bin');
}

export class OwnPostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  /** initdb and start; PostgreSQL refuses to run as root, so as root the server runs as `postgres`. */
  static async start(): Promise<OwnPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'hm-pg-'));
    if (userInfo().uid === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    const postgres = new OwnPostgres(await freePort(), dir, postgresBinDir());
    postgres.run('initdb', ['-D', postgres.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync']);
    postgres.startServer();
    return postgres;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private run(tool: string, args: string[]): void {
    const command = join(this.bin, tool);
    if (userInfo().uid === 0) execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe', cwd: this.dir });
    else execFileSync(command, args, { stdio: 'pipe', cwd: this.dir });
  }

  private startServer(): void {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off -c max_connections=100`;
    this.run('pg_ctl', ['-D', this.dataDir, '-l', join(this.dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
  }

  /** A crash and a restart: `immediate` stops without a checkpoint and drops every connection. */
  restart(): void {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    this.startServer();
  }

  stop(): void {
    try {
      this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
