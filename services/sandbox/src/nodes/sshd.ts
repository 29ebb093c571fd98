// A real OpenSSH server per simulated node, bound to the instance's own loopback address so
// that SSH probes exercise the genuine protocol, key checks and failures.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const SSHD_BIN = process.env.SSHD_BIN ?? '/usr/sbin/sshd';

export interface SshdOptions {
  ip: string;
  /** 0 (default) picks a free port on ip. */
  port?: number;
  stateDir: string;
  authorizedKeys: readonly string[];
  startTimeoutMs?: number;
}

export interface SshdHandle {
  ip: string;
  port: number;
  /** The local account the keys log in as: sshd can only switch to real users. */
  user: string;
  hostPublicKey: string;
  stop(): Promise<void>;
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
    child.once('exit', () => { clearTimeout(timer); resolve(); });
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
  const authorizedKeysFile = join(options.stateDir, 'authorized_keys');
  writeFileSync(authorizedKeysFile, options.authorizedKeys.map((key) => `${key.trim()}\n`).join(''), { mode: 0o600 });
  const user = userInfo().username;
  const port = options.port && options.port > 0 ? options.port : await freePort(options.ip);
  const configFile = join(options.stateDir, 'sshd_config');
  writeFileSync(configFile, [
    `ListenAddress ${options.ip}:${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${join(options.stateDir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeysFile}`,
    `AllowUsers ${user}`,
    isRoot ? 'PermitRootLogin prohibit-password' : 'PermitRootLogin no',
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
  ].join('\n'));
  const hostPublicKey = (await execFileAsync('ssh-keygen', ['-y', '-f', hostKey])).stdout.trim();
  // A process group lets stop() take the per-connection children down with the listener, as a dead machine would.
  const child = spawn(SSHD_BIN, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
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
    throw error;
  }
  let stopped = false;
  return {
    ip: options.ip, port, user, hostPublicKey,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      killGroup();
      await waitForExit(child, 5_000);
    },
  };
}

async function waitForListening(ip: string, port: number, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited early (${child.exitCode ?? child.signalCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: ip, port });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() >= deadline) throw new Error(`sshd did not listen on ${ip}:${port} within ${timeoutMs} ms: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
