import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type SshdHandle } from '../../services/sandbox/src/nodes/index.js';
import { fingerprintOfPublicKey, probeSsh, type SshProbeTarget } from '../../services/worker/src/nodes/ssh-prober.js';
import { scaled } from '../support/time.js';

function keyPair(dir: string, name: string): { privateKey: string; publicKey: string } {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
  return { privateKey: readFileSync(join(dir, name), 'utf8'), publicKey: readFileSync(join(dir, `${name}.pub`), 'utf8').trim() };
}

describe('SSH prober against a real sshd', () => {
  let dir: string;
  let sshd: SshdHandle;
  let pool: { privateKey: string; publicKey: string };
  let stranger: { privateKey: string; publicKey: string };
  const target = (overrides: Partial<SshProbeTarget> = {}): SshProbeTarget => ({
    host: sshd.ip,
    port: sshd.port,
    username: sshd.user,
    privateKey: pool.privateKey,
    pinnedHostKey: null,
    ...overrides,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hm-ssh-prober-'));
    pool = keyPair(dir, 'pool');
    stranger = keyPair(dir, 'stranger');
    sshd = await startSshd({ ip: '127.0.77.1', stateDir: join(dir, 'sshd'), authorizedKeys: [pool.publicKey] });
  });
  afterAll(async () => {
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with the pool key, runs the command and reports the host key to pin', async () => {
    const result = await probeSsh(target());
    expect(result).toMatchObject({ ok: true, reason: 'SshProbeSucceeded' });
    // The same fingerprint OpenSSH prints for the server's host key.
    const keygen = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'sshd', 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' }).split(' ')[1];
    expect(result.hostKey).toBe(keygen);
    expect(result.hostKey).toBe(fingerprintOfPublicKey(sshd.hostPublicKey));
  });

  it('accepts the pinned host key', async () => {
    const result = await probeSsh(target({ pinnedHostKey: fingerprintOfPublicKey(sshd.hostPublicKey) }));
    expect(result.ok).toBe(true);
  });

  it('fails with HostKeyMismatch when the server offers another key than the pinned one, naming both', async () => {
    const other = fingerprintOfPublicKey(stranger.publicKey);
    const result = await probeSsh(target({ pinnedHostKey: other }));
    expect(result.ok).toBe(false);
    expect(result.reason).toBe('HostKeyMismatch');
    expect(result.message).toContain(other);
    expect(result.message).toContain(fingerprintOfPublicKey(sshd.hostPublicKey));
    expect(result.message).toContain('not re-pinned');
  });

  it('reports a refused key as SshAuthFailed and never echoes the key', async () => {
    const result = await probeSsh(target({ privateKey: stranger.privateKey }));
    expect(result).toMatchObject({ ok: false, reason: 'SshAuthFailed' });
    expect(result.message).not.toContain('PRIVATE KEY');
  });

  it('reports a refused connection quickly', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.77.2', () => {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(port));
      });
    });
    const result = await probeSsh(target({ host: '127.0.77.2', port: closed }), { timeoutMs: 5_000 });
    expect(result).toMatchObject({ ok: false, reason: 'SshProbeFailed' });
    expect(result.message).toContain('ECONNREFUSED');
    expect(result.durationMs).toBeLessThan(5_000);
  });

  describe('a listener that accepts TCP but never speaks SSH', () => {
    let server: Server;
    const sockets: Socket[] = [];
    const closedSockets: Socket[] = [];
    let port = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.push(socket);
        // Flowing, so the client's FIN is read and 'close' follows.
        socket.resume();
        socket.on('close', () => closedSockets.push(socket));
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.77.3', resolve));
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    it('times out on its own timer and closes the connection', async () => {
      const result = await probeSsh(target({ host: '127.0.77.3', port }), { timeoutMs: 600 });
      expect(result).toMatchObject({ ok: false, reason: 'SshTimeout' });
      expect(result.message).toBe(`no SSH answer from 127.0.77.3:${port} within 600 ms`);
      expect(result.durationMs).toBeGreaterThanOrEqual(590);
      expect(sockets).toHaveLength(1);
      // The prober destroyed its side, so the server sees the connection go.
      await expect.poll(() => closedSockets.length, { timeout: scaled(2_000) }).toBe(1);
    });
  });
});
