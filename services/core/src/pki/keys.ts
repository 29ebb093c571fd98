// Key pairs as PEM strings, so the caller can encrypt and store them as plain data.
import { createPrivateKey, createPublicKey } from 'node:crypto';

export type KeyAlgorithm = 'ecdsa' | 'rsa';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

const ECDSA_KEY: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const RSA_KEY: RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};

export function keyGenParams(algorithm: KeyAlgorithm): EcKeyGenParams | RsaHashedKeyGenParams {
  return algorithm === 'ecdsa' ? ECDSA_KEY : RSA_KEY;
}

export function signingAlgorithm(algorithm: KeyAlgorithm): EcdsaParams | Algorithm {
  return algorithm === 'ecdsa' ? { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams : { name: 'RSASSA-PKCS1-v1_5' };
}

function toPem(label: string, der: ArrayBuffer): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<{ keys: CryptoKeyPair; pem: KeyPairPem }> {
  const keys = await crypto.subtle.generateKey(keyGenParams(algorithm), true, ['sign', 'verify']);
  const privateKeyPem = toPem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const publicKeyPem = toPem('PUBLIC KEY', await crypto.subtle.exportKey('spki', keys.publicKey));
  return { keys, pem: { privateKeyPem, publicKeyPem } };
}

/** The algorithm of a PEM private key; undefined for key types Harbormaster never issues. */
export function keyAlgorithmOf(privateKeyPem: string): KeyAlgorithm | undefined {
  const type = createPrivateKey(privateKeyPem).asymmetricKeyType;
  if (type === 'ec') return 'ecdsa';
  if (type === 'rsa') return 'rsa';
  return undefined;
}

/** Imports a stored private key for signing with WebCrypto (which only reads PKCS#8 DER). */
export async function importSigningKey(privateKeyPem: string): Promise<{ key: CryptoKey; algorithm: KeyAlgorithm }> {
  const algorithm = keyAlgorithmOf(privateKeyPem);
  if (!algorithm) throw new Error('unsupported private key type');
  const der = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const key = await crypto.subtle.importKey('pkcs8', der, keyGenParams(algorithm), false, ['sign']);
  return { key, algorithm };
}

export function publicKeyPemOf(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}
