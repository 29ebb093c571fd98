// A real OpenSSH server per simulated node, bound to the instance's own loopback address so
// that SSH probes exercise the genuine protocol, key checks and failures.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const SSHD_BIN = process.env.SSHD_BIN ?? '/usr/sbin/sshd';
/**
 * util-linux's setpriv sets the parent-death signal before it execs sshd: a product killed with
 * -9 takes its simulated machines' sshd with it instead of leaving them, parented to init,
 * holding their addresses.
 */
const SETPRIV = '/usr/bin/setpriv';
/** cloud-init's user on a Harbormaster node (core's DEFAULT_SSH_USER). */
export const DEFAULT_NODE_USER = 'harbormaster';
/** The shell of the sandbox's node account: it reads no rc file when sshd runs a command. */
export const NODE_ACCOUNT_SHELL = '/bin/sh';
const SANDBOX_ROOT = '/var/lib/harbormaster-sandbox';
const NODE_ACCOUNT_HOME_ROOT = join(SANDBOX_ROOT, 'home');
/** One directory per running sshd: each simulated machine has its own authorized keys. */
const NODE_KEYS_ROOT = join(SANDBOX_ROOT, 'authorized-keys');

export interface NodeAccount {
  name: string;
  uid: number;
  gid: number;
}

const accountsReady = new Map<string, Promise<NodeAccount>>();

function mkdirp(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  return path;
}

/**
 * A real node logs its cloud-init user in with a fresh home and nothing in it. Logging in as the
 * host's own user instead would run whatever that user's shell profile does (here root's
 * ~/.bashrc runs `pyenv init`, which under load took tens of seconds per login and serialised
 * on pyenv's lock), so probes would measure the host, not the node. The account is created once
 * (idempotent across processes: useradd is retried when another process holds the passwd lock
 * or created the account first) and must have a shell that sources nothing for `sh -c`.
 */
export function ensureNodeAccount(name: string): Promise<NodeAccount> {
  let ready = accountsReady.get(name);
  if (!ready) {
    ready = createNodeAccount(name);
    accountsReady.set(name, ready);
    ready.catch(() => accountsReady.delete(name));
  }
  return ready;
}

async function lookUpAccount(name: string): Promise<{ uid: number; gid: number; shell: string } | undefined> {
  try {
    const { stdout } = await execFileAsync('getent', ['passwd', name]);
    const fields = stdout.trim().split(':');
    return { uid: Number(fields[2]), gid: Number(fields[3]), shell: fields[6] ?? '' };
  } catch {
    return undefined;
  }
}

async function createNodeAccount(name: string): Promise<NodeAccount> {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name) || name === 'root') throw new Error(`node account ${name} is not a valid non-root user name`);
  const home = join(NODE_ACCOUNT_HOME_ROOT, name);
  for (let attempt = 0; ; attempt++) {
    const account = await lookUpAccount(name);
    if (account) {
      if (account.shell !== NODE_ACCOUNT_SHELL) {
        throw new Error(
          `local account ${name} exists with shell ${account.shell}; the sandbox's node account needs ${NODE_ACCOUNT_SHELL} (run: usermod -s ${NODE_ACCOUNT_SHELL} ${name})`,
        );
      }
      mkdirSync(home, { recursive: true, mode: 0o755 });
      return { name, uid: account.uid, gid: account.gid };
    }
    try {
      mkdirSync(NODE_ACCOUNT_HOME_ROOT, { recursive: true, mode: 0o755 });
      // Without PAM, sshd refuses an account whose password is locked ("!"); "*" has no
      // password and is not locked, so only the keys get in.
      await execFileAsync('useradd', [
        '--system',
        '--user-group',
        '--shell',
        NODE_ACCOUNT_SHELL,
        '--home-dir',
        home,
        '--no-create-home',
        '--password',
        '*',
        '--comment',
        'Harbormaster sandbox node user',
        name,
      ]);
    } catch (error) {
      if (attempt >= 20) throw new Error(`could not create the node account ${name}: ${String(error)}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}

export interface SshdOptions {
  ip: string;
  /** 0 (default) picks a free port on ip. */
  port?: number;
  stateDir: string;
  authorizedKeys: readonly string[];
  /**
   * The account the keys log in as: the user that the node's cloud-init creates (default
   * `harbormaster`). As root the sandbox makes it a local account with a plain shell; without
   * root sshd can only admit the account it runs as.
   */
  user?: string;
  startTimeoutMs?: number;
}

export interface SshdHandle {
  ip: string;
  port: number;
  /** The local account the keys log in as (see SshdOptions.user). */
  user: string;
  hostPublicKey: string;
  stop(): Promise<void>;
}

/**
 * The machine's address (and SSH port) is held by something else: another installation's node,
 * or any other process. Starting sshd anyway would look fine, because the port answers, while
 * every probe reached the other listener and failed its key check.
 */
export class SshdBindError extends Error {
  constructor(
    readonly ip: string,
    readonly port: number,
    readonly errno: string,
  ) {
    super(`sshd cannot bind ${ip}:${port}: ${errno}`);
    this.name = 'SshdBindError';
  }
}

/** Binds ip:port once and lets go, so a taken address fails here, named, instead of inside sshd. */
async function ensureBindable(ip: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => reject(new SshdBindError(ip, port, error.code ?? error.message)));
    server.listen({ host: ip, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

async function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, ip, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startSshd(options: SshdOptions): Promise<SshdHandle> {
  mkdirSync(options.stateDir, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  // Debian's unit creates the privilege-separation directory at start; sshd refuses to run as root without it.
  if (isRoot) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(options.stateDir, 'ssh_host_ed25519_key');
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `node@${options.ip}`, '-f', hostKey]).catch(async (error: unknown) => {
    // A restarted node keeps its host key, as a rebooted machine would.
    if (!String(error).includes('already exists')) throw error;
  });
  const account = isRoot ? await ensureNodeAccount(options.user ?? DEFAULT_NODE_USER) : undefined;
  const user = account?.name ?? userInfo().username;
  // sshd reads authorized_keys with the user's own rights, as on a real machine (~/.ssh of
  // the cloud-init user), so the file must be the user's and on a path the user can walk.
  const keysDir = account ? mkdtempSync(join(mkdirp(NODE_KEYS_ROOT), 'node-')) : options.stateDir;
  if (account) chmodSync(keysDir, 0o711);
  const authorizedKeysFile = join(keysDir, 'authorized_keys');
  writeFileSync(authorizedKeysFile, options.authorizedKeys.map((key) => `${key.trim()}\n`).join(''), { mode: 0o600 });
  if (account) chownSync(authorizedKeysFile, account.uid, account.gid);
  const removeKeys = (): void => {
    if (account) rmSync(keysDir, { recursive: true, force: true });
  };
  const port = options.port && options.port > 0 ? options.port : await freePort(options.ip);
  try {
    await ensureBindable(options.ip, port);
  } catch (error) {
    removeKeys();
    throw error;
  }
  const configFile = join(options.stateDir, 'sshd_config');
  writeFileSync(
    configFile,
    [
      `ListenAddress ${options.ip}:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(options.stateDir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeysFile}`,
      `AllowUsers ${user}`,
      'PermitRootLogin no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'HostbasedAuthentication no',
      'UsePAM no',
      // The state dir lives under a shared temp dir whose modes sshd's strict checks reject.
      'StrictModes no',
      'PrintMotd no',
      'LogLevel ERROR',
      'MaxStartups 20:50:60',
      'LoginGraceTime 20',
      '',
    ].join('\n'),
  );
  const hostPublicKey = (await execFileAsync('ssh-keygen', ['-y', '-f', hostKey])).stdout.trim();
  // A process group lets stop() take the per-connection children down with the listener, as a dead machine would.
  const sshdArgs = ['-D', '-e', '-f', configFile];
  const [command, args] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', SSHD_BIN, ...sshdArgs]] : [SSHD_BIN, sshdArgs];
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const killGroup = (): void => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  try {
    await waitForListening(options.ip, port, child, options.startTimeoutMs ?? 10_000, () => stderr);
  } catch (error) {
    killGroup();
    await waitForExit(child, 2_000);
    removeKeys();
    throw error;
  }
  let stopped = false;
  return {
    ip: options.ip,
    port,
    user,
    hostPublicKey,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      killGroup();
      await waitForExit(child, 5_000);
      removeKeys();
    },
  };
}

async function waitForListening(ip: string, port: number, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited early (${child.exitCode ?? child.signalCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: ip, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() >= deadline) throw new Error(`sshd did not listen on ${ip}:${port} within ${timeoutMs} ms: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
