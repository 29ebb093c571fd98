// Ed25519 key pairs in OpenSSH's own formats: the `ssh-ed25519 AAAA…` public line that
// authorized_keys and cloud providers take, and the unencrypted `openssh-key-v1` private key
// (PROTOCOL.key) that OpenSSH and ssh2/node-ssh read. Node's crypto has no OpenSSH encoder.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const KEY_TYPE = 'ssh-ed25519';
const AUTH_MAGIC = 'openssh-key-v1\0';
/** The cipher block size of "none", which the private section is padded to. */
const BLOCK_SIZE = 8;

export interface SshKeyPair {
  /** `ssh-ed25519 <base64> <comment>` */
  publicKey: string;
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` … (unencrypted). */
  privateKey: string;
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

/** An SSH wire `string`: a 4-byte length, then the bytes. */
function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([uint32(bytes.length), bytes]);
}

export function generateSshKeyPair(comment: string): SshKeyPair {
  // eslint-disable-next-line no-restricted-syntax -- callers pass their own comment; a newline is a programming error
  if (/[\r\n]/.test(comment)) throw new Error('an SSH key comment must be one line');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // The last 32 bytes of the SPKI and PKCS#8 DER encodings are the raw public key and seed.
  const rawPublic = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(rawPublic)]);

  const check = randomBytes(4);
  const unpadded = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(rawPublic), sshString(Buffer.concat([seed, rawPublic])), sshString(comment)]);
  const padLength = (BLOCK_SIZE - (unpadded.length % BLOCK_SIZE)) % BLOCK_SIZE;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, index) => index + 1));
  const privateSection = Buffer.concat([unpadded, padding]);

  const body = Buffer.concat([
    Buffer.from(AUTH_MAGIC, 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(privateSection),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    publicKey: `${KEY_TYPE} ${publicBlob.toString('base64')}${comment ? ` ${comment}` : ''}`,
    privateKey: ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n'),
  };
}
