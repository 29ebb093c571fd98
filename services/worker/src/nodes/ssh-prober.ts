// The SSH leg of the node health check: log in with the pool's own key and run a trivial
// command. node-ssh has no timeout of its own once connected (and its readyTimeout does not
// cover a server that accepts TCP and then stalls), so the whole probe races a timer and the
// connection is destroyed when the timer wins.
//
// Host keys are trusted on first use: the first successful probe returns the host key's
// fingerprint for the caller to pin (nodes.ssh_host_key); afterwards any other key fails the
// probe with HostKeyMismatch and is never re-pinned automatically.
import { createHash } from 'node:crypto';
import { NodeSSH } from 'node-ssh';
import type { SshProbeOutcome } from '../../../core/src/index.js';

export const DEFAULT_SSH_PROBE_TIMEOUT_MS = 5_000;
/** Cheap, present on every Linux, and proves a session really ran. */
export const SSH_PROBE_COMMAND = 'cat /proc/uptime';

export interface SshProbeTarget {
  host: string;
  port: number;
  username: string;
  /** OpenSSH private key text (the pool's platform key). */
  privateKey: string;
  /** The pinned fingerprint (SHA256:…); null before first contact. */
  pinnedHostKey: string | null;
}

export interface SshProbeResult extends SshProbeOutcome {
  /** The fingerprint the server offered, when the handshake got that far. */
  hostKey?: string;
  durationMs: number;
}

/** OpenSSH's fingerprint format: SHA256 over the public key blob, unpadded base64. */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The fingerprint of an authorized_keys / known_hosts style line ("ssh-ed25519 AAAA… comment"). */
export function fingerprintOfPublicKey(line: string): string {
  const blob = line.trim().split(/\s+/)[1];
  // eslint-disable-next-line no-restricted-syntax -- operator-supplied key material is malformed; kept a plain Error so job retry semantics are unchanged
  if (!blob) throw new Error('not an OpenSSH public key line');
  return sshFingerprint(Buffer.from(blob, 'base64'));
}

class ProbeTimeout extends Error {}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].slice(0, 300);
}

export async function probeSsh(target: SshProbeTarget, options: { timeoutMs?: number; command?: string } = {}): Promise<SshProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_SSH_PROBE_TIMEOUT_MS;
  const started = Date.now();
  const address = `${target.host}:${target.port}`;
  const ssh = new NodeSSH();
  let offered: string | undefined;
  let mismatch = false;
  let timer: NodeJS.Timeout | undefined;
  const done = (outcome: Omit<SshProbeResult, 'durationMs' | 'hostKey'>): SshProbeResult => ({
    ...outcome,
    ...(offered ? { hostKey: offered } : {}),
    durationMs: Date.now() - started,
  });

  const session = (async () => {
    await ssh.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      // Our own timer is the one that decides; this only stops ssh2 from waiting past it.
      readyTimeout: timeoutMs + 1_000,
      // Only the pool key: no agent, no password, no keyboard-interactive.
      tryKeyboard: false,
      hostVerifier: (key: Buffer): boolean => {
        offered = sshFingerprint(key);
        if (target.pinnedHostKey && target.pinnedHostKey !== offered) {
          mismatch = true;
          return false;
        }
        return true;
      },
    });
    return ssh.execCommand(options.command ?? SSH_PROBE_COMMAND);
  })();
  // Whichever way the race ends, a late rejection from the losing session is expected.
  session.catch(() => undefined);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout()), timeoutMs);
  });

  try {
    const result = await Promise.race([session, deadline]);
    if (result.code !== 0)
      return done({
        ok: false,
        reason: 'SshCommandFailed',
        message: `${SSH_PROBE_COMMAND} on ${address} exited ${result.code ?? result.signal ?? 'abnormally'}: ${result.stderr.slice(0, 200)}`,
      });
    return done({ ok: true, reason: 'SshProbeSucceeded', message: `${target.username}@${address} answered in ${Date.now() - started} ms` });
  } catch (error) {
    if (mismatch) {
      return done({
        ok: false,
        reason: 'HostKeyMismatch',
        message: `host key of ${address} changed: pinned ${target.pinnedHostKey}, offered ${offered}; not re-pinned (verify the machine, then clear the pin)`,
      });
    }
    if (error instanceof ProbeTimeout) return done({ ok: false, reason: 'SshTimeout', message: `no SSH answer from ${address} within ${timeoutMs} ms` });
    const message = firstLine(error);
    if (/authentication methods failed/i.test(message))
      return done({ ok: false, reason: 'SshAuthFailed', message: `${address} refused the pool key for ${target.username}: ${message}` });
    return done({ ok: false, reason: 'SshProbeFailed', message: `${address}: ${message}` });
  } finally {
    clearTimeout(timer);
    // dispose() only ends the stream politely; a server that never spoke would keep the socket open.
    const connection = ssh.connection as { destroy?: () => void } | null;
    connection?.destroy?.();
    ssh.dispose();
  }
}
