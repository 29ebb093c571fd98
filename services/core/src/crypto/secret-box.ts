// AES-256-GCM envelope for secrets at rest. The associated data binds a ciphertext to the
// row and column it belongs to, so a ciphertext copied into another row fails to open.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'hmenc';
const VERSION = 'v1';

export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    // eslint-disable-next-line no-restricted-syntax -- a misconfigured master key stops the process at start
    if (key.length !== 32) throw new Error('the master key must be exactly 32 bytes');
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [PREFIX, VERSION, this.keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join(':');
  }

  open(sealed: string, context: string): string {
    // Fewer than six parts leave the last one undefined, which the check below catches.
    const [prefix, version, keyId, iv, tag, ciphertext] = sealed.split(':') as [string, string | undefined, string, string, string, string | undefined];
    // eslint-disable-next-line no-restricted-syntax -- corrupt stored state; no request can repair it
    if (prefix !== PREFIX || version !== VERSION || ciphertext === undefined) throw new Error('not a sealed secret');
    // eslint-disable-next-line no-restricted-syntax -- the wrong master key is an operator error; no request can repair it
    if (keyId !== this.keyId) throw new Error(`secret was sealed with master key ${keyId}, not ${this.keyId}`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }

  sealJson(value: unknown, context: string): string {
    return this.seal(JSON.stringify(value), context);
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it sealed
  openJson<T>(sealed: string, context: string): T {
    return JSON.parse(this.open(sealed, context)) as T;
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(`${PREFIX}:`);
}
