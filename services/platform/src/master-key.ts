import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * The master key seals every secret at rest. Production passes HM_MASTER_KEY; the embedded
 * default generates one under the data directory and says loudly that it did.
 */
export function resolveMasterKey(configured: Buffer | undefined, dataDir: string, logger: Logger): Buffer {
  if (configured) return configured;
  const file = join(dataDir, 'master.key');
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    // eslint-disable-next-line no-restricted-syntax -- startup failure on a corrupt key file; must abort boot, not map to a client status
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
    return key;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
  logger.warn({ file }, 'generated a master key and stored it on local disk; set HM_MASTER_KEY in production');
  return key;
}
