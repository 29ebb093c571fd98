import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSshKeyPair } from '../../services/core/src/crypto/ssh-keys.js';
import { isSshPublicKey } from '../../services/core/src/index.js';

describe('pool SSH key pairs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-ssh-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an OpenSSH private key that ssh-keygen reads back to the same public key', () => {
    const pair = generateSshKeyPair('hm-pool-1234');
    expect(pair.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n$/);
    expect(pair.publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+={0,2} hm-pool-1234$/);
    expect(isSshPublicKey(pair.publicKey)).toBe(true);
    const path = join(dir, 'id_ed25519');
    writeFileSync(path, pair.privateKey, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', path], { encoding: 'utf8' }).trim();
    expect(derived).toBe(pair.publicKey);
  });

  it('generates a different key every time and refuses a multi-line comment', () => {
    expect(generateSshKeyPair('a').publicKey).not.toBe(generateSshKeyPair('a').publicKey);
    expect(() => generateSshKeyPair('a\nssh-rsa AAAA evil')).toThrow(/one line/);
  });
});
