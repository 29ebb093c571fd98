import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, createLogger, loadConfig } from '../../services/platform/src/index.js';

describe('configuration', () => {
  it('runs on embedded defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ role: 'all', port: 8080, redisUrl: 'redis://127.0.0.1:6379', databaseUrl: undefined, sandbox: true, masterKey: undefined });
    expect(config.dataDir).toMatch(/\.data$/);
  });

  it('switches to PostgreSQL with DATABASE_URL and then leaves the sandbox off', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://db/hm' });
    expect(config.databaseUrl).toBe('postgres://db/hm');
    expect(config.sandbox).toBe(false);
  });

  it('lists every invalid value at once', () => {
    expect(() => loadConfig({ PORT: 'eighty', HM_MASTER_KEY: 'c2hvcnQ=', REDIS_URL: 'http://x' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', HM_MASTER_KEY: 'c2hvcnQ=', REDIS_URL: 'http://x' });
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT[\s\S]*REDIS_URL[\s\S]*HM_MASTER_KEY|PORT[\s\S]*HM_MASTER_KEY[\s\S]*REDIS_URL/);
    }
  });

  it('keeps invitations open for a week unless told otherwise, and refuses a lifetime that is none', () => {
    expect(loadConfig({}).invitationTtlMs).toBe(168 * 3_600_000);
    expect(loadConfig({ HM_INVITATION_TTL_HOURS: '0.5' }).invitationTtlMs).toBe(1_800_000);
    for (const bad of ['0', '-1', 'a week', '9000']) expect(() => loadConfig({ HM_INVITATION_TTL_HOURS: bad })).toThrow(/HM_INVITATION_TTL_HOURS/);
  });

  it('refuses split roles on PGlite, which allows one process', () => {
    expect(() => loadConfig({ HM_ROLE: 'worker' })).toThrow(/DATABASE_URL/);
  });
});

describe('logging', () => {
  it('writes JSON lines with secrets redacted by field and by pattern', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('info', sink);
    const apiToken = `hm_abcdefghijkl_${'A'.repeat(43)}`;
    logger.info(
      { kubeconfig: 'apiVersion: v1', credentials: { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG' }, header: `Bearer ${apiToken}` },
      `token ${apiToken} and bootstrap abcdef.0123456789abcdef`,
    );
    logger.error({ err: new Error('-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----') }, 'failed');
    const text = lines.join('');
    for (const secret of ['apiVersion: v1', 'wJalrXUtnFEMI', apiToken, 'abcdef.0123456789abcdef', 'MHcCAQEE']) expect(text).not.toContain(secret);
    const first = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'info', kubeconfig: '[REDACTED]' });
  });
});
