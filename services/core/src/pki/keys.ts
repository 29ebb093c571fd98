// Key pairs as PEM strings, so the caller can encrypt and store them as plain data. Generated
// and used through node:crypto directly: a KeyObject signs without WebCrypto's import/export
// round trips.
import { createPrivateKey, createPublicKey, generateKeyPair as generateNodeKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DER_TAG, children, derToPem, expectTag, pemToDer, readNode, readOid } from './der.js';

export type KeyAlgorithm = 'ecdsa' | 'rsa';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A fresh key pair: the private key ready to sign, its SubjectPublicKeyInfo, and both as PEM. */
export interface GeneratedKeyPair {
  privateKey: KeyObject;
  spkiDer: Buffer;
  pem: KeyPairPem;
}

function generateNodePair(algorithm: KeyAlgorithm): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  // P-256 generation takes microseconds: a thread-pool round trip would cost more than it saves.
  if (algorithm === 'ecdsa') return Promise.resolve(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  // RSA-2048 takes tens of milliseconds, so it runs off the event loop.
  return new Promise((resolve, reject) => {
    generateNodeKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, (error, publicKey, privateKey) =>
      error ? reject(error) : resolve({ publicKey, privateKey }),
    );
  });
}

// OpenSSL's encoders cost more than P-256 key generation itself; the PKCS#8 and SPKI forms of
// a P-256 key are fixed layouts around its raw coordinates (RFC 5915, RFC 5480), as OpenSSL
// writes them (test/core/pki/certificate-encoding.test.ts compares the bytes).
const P256_PKCS8_PREFIX = Buffer.from('308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420', 'hex');
const P256_PKCS8_PUBLIC = Buffer.from('a144034200', 'hex');
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

function p256Encodings(privateKey: KeyObject): { pkcs8: Buffer; spki: Buffer } | undefined {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || !jwk.d || !jwk.x || !jwk.y) return undefined;
  const [d, x, y] = [jwk.d, jwk.x, jwk.y].map((value) => Buffer.from(value, 'base64url'));
  if (d.length !== 32 || x.length !== 32 || y.length !== 32) return undefined;
  const point = Buffer.concat([Buffer.from([4]), x, y]);
  return { pkcs8: Buffer.concat([P256_PKCS8_PREFIX, d, P256_PKCS8_PUBLIC, point]), spki: Buffer.concat([P256_SPKI_PREFIX, point]) };
}

export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<GeneratedKeyPair> {
  const { publicKey, privateKey } = await generateNodePair(algorithm);
  const fast = algorithm === 'ecdsa' ? p256Encodings(privateKey) : undefined;
  const spkiDer = fast?.spki ?? publicKey.export({ type: 'spki', format: 'der' });
  const pkcs8Der = fast?.pkcs8 ?? privateKey.export({ type: 'pkcs8', format: 'der' });
  return { privateKey, spkiDer, pem: { privateKeyPem: derToPem('PRIVATE KEY', pkcs8Der), publicKeyPem: derToPem('PUBLIC KEY', spkiDer) } };
}

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

/**
 * What a PKCS#8 private key says about its public half, read from the DER: the algorithm,
 * and the public key material to compare with a certificate (the EC point, or RSA n and e).
 * Undefined when the key is not PKCS#8 or carries no public point; callers then ask OpenSSL.
 */
export function privateKeyPublicPart(privateKeyPem: string): { algorithm: KeyAlgorithm; parameters: Buffer; publicKey: Buffer } | undefined {
  if (!privateKeyPem.includes('-----BEGIN PRIVATE KEY-----')) return undefined;
  try {
    const [version, algorithmIdentifier, privateKey] = children(readNode(pemToDer(privateKeyPem, 'PRIVATE KEY')));
    expectTag(version, DER_TAG.integer, 'version');
    const [algorithmOid, parameters] = children(expectTag(algorithmIdentifier, DER_TAG.sequence, 'privateKeyAlgorithm'));
    const inner = readNode(expectTag(privateKey, DER_TAG.octetString, 'privateKey').content);
    const type = readOid(algorithmOid);
    if (type === EC_PUBLIC_KEY) {
      const point = children(inner).find((node) => node.tag === 0xa1);
      if (!point) return undefined;
      const bits = expectTag(children(point)[0], DER_TAG.bitString, 'publicKey');
      return { algorithm: 'ecdsa', parameters: parameters.raw, publicKey: bits.content };
    }
    if (type === RSA_ENCRYPTION) {
      const [, modulus, exponent] = children(inner);
      return {
        algorithm: 'rsa',
        parameters: Buffer.alloc(0),
        publicKey: Buffer.concat([expectTag(modulus, DER_TAG.integer, 'n').raw, expectTag(exponent, DER_TAG.integer, 'e').raw]),
      };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** The same facts, from a SubjectPublicKeyInfo (a certificate's or a stored public key's). */
export function spkiPublicPart(spkiDer: Buffer): { algorithm: KeyAlgorithm; parameters: Buffer; publicKey: Buffer } | undefined {
  const [algorithmIdentifier, key] = children(readNode(spkiDer));
  const [algorithmOid, parameters] = children(expectTag(algorithmIdentifier, DER_TAG.sequence, 'algorithm'));
  const bits = expectTag(key, DER_TAG.bitString, 'subjectPublicKey').content;
  const type = readOid(algorithmOid);
  if (type === EC_PUBLIC_KEY) return { algorithm: 'ecdsa', parameters: parameters.raw, publicKey: bits };
  if (type === RSA_ENCRYPTION) {
    const [modulus, exponent] = children(readNode(bits.subarray(1)));
    return { algorithm: 'rsa', parameters: Buffer.alloc(0), publicKey: Buffer.concat([modulus.raw, exponent.raw]) };
  }
  return undefined;
}

function algorithmOfKey(key: KeyObject): KeyAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ec') return 'ecdsa';
  if (key.asymmetricKeyType === 'rsa') return 'rsa';
  return undefined;
}

/** The algorithm of a PEM private key; undefined for key types Harbormaster never issues. */
export function keyAlgorithmOf(privateKeyPem: string): KeyAlgorithm | undefined {
  return privateKeyPublicPart(privateKeyPem)?.algorithm ?? algorithmOfKey(createPrivateKey(privateKeyPem));
}

/** A stored private key, parsed once for signing many certificates. */
export function loadSigningKey(privateKeyPem: string): { key: KeyObject; algorithm: KeyAlgorithm } {
  const key = createPrivateKey(privateKeyPem);
  const algorithm = algorithmOfKey(key);
  // eslint-disable-next-line no-restricted-syntax -- only keys this code generated are stored; another type is corrupt state
  if (!algorithm) throw new Error('unsupported private key type');
  return { key, algorithm };
}

export function publicKeyPemOf(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}
