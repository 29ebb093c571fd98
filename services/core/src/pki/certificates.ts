// Certificate issuance and inspection over node:crypto keys and a direct DER encoding (der.ts).
// The encoding is the profile @peculiar/x509 produced before, byte for byte (see
// test/core/pki/certificate-encoding.test.ts); verification stays with node:crypto, which is
// what the consumers of these certificates (TLS) trust.
import { X509Certificate as NodeX509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import {
  DER_TAG,
  bitString,
  booleanTrue,
  children,
  derToPem,
  directoryString,
  expectTag,
  explicit,
  implicitPrimitive,
  ipBytes,
  ipText,
  namedBits,
  nullValue,
  octetString,
  oid,
  pemToDer,
  readNode,
  readOid,
  readString,
  readTime,
  sequence,
  set,
  time,
  unsignedInteger,
  type DerNode,
} from './der.js';
import { generateKeyPair, loadSigningKey, privateKeyPublicPart, spkiPublicPart, type KeyAlgorithm } from './keys.js';

/** A certificate with its private key, both PEM. */
export interface CertKeyPem {
  certPem: string;
  keyPem: string;
}

export type ExtendedUsage = 'server' | 'client';

export interface LeafRequest {
  commonName: string;
  organizations: readonly string[];
  usages: readonly ExtendedUsage[];
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 86_400_000;
// Issued certificates start slightly in the past so a peer whose clock lags a little still
// accepts them; kubeadm backdates for the same reason.
const BACKDATE_MS = 5 * 60_000;

export function validityFrom(now: Date, lifetimeDays: number, notAfterCap?: Date): Validity {
  const notAfter = new Date(now.getTime() + lifetimeDays * DAY_MS);
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: notAfterCap && notAfterCap < notAfter ? notAfterCap : notAfter,
  };
}

export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsaEncryption: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** RFC 5280 KeyUsage bits, bit n as `1 << n`. */
export const KEY_USAGE = {
  digitalSignature: 1 << 0,
  keyEncipherment: 1 << 2,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
} as const;

function signatureAlgorithm(algorithm: KeyAlgorithm): Buffer {
  // RFC 5758 3.2: ecdsa-with-SHA256 has no parameters; RFC 4055 5: sha256WithRSAEncryption has NULL.
  return algorithm === 'ecdsa' ? sequence(oid(OID.ecdsaWithSha256)) : sequence(oid(OID.sha256WithRsaEncryption), nullValue());
}

/** One RDN per organization, then the common name: the order Kubernetes tooling writes. */
export function encodeSubject(commonName: string, organizations: readonly string[]): Buffer {
  const rdn = (type: string, value: string): Buffer => set(sequence(oid(type), directoryString(value)));
  return sequence(...organizations.map((organization) => rdn(OID.organization, organization)), rdn(OID.commonName, commonName));
}

function extension(type: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(oid(type), booleanTrue(), octetString(value)) : sequence(oid(type), octetString(value));
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo. */
function subjectPublicKeyOf(spkiDer: Buffer): Buffer {
  const [, key] = children(readNode(spkiDer));
  const bits = expectTag(key, DER_TAG.bitString, 'subjectPublicKey');
  return bits.content.subarray(1);
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 over the subjectPublicKey bits. */
export function keyIdentifier(spkiDer: Buffer): Buffer {
  return createHash('sha1').update(subjectPublicKeyOf(spkiDer)).digest();
}

function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  // A positive INTEGER: clear the top bit so DER needs no sign padding.
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return bytes;
}

/** What goes into a TBSCertificate besides its signature algorithm. */
export interface TbsInput {
  serial: Buffer;
  issuerDer: Buffer;
  validity: Validity;
  subjectDer: Buffer;
  spkiDer: Buffer;
  extensions: Buffer[];
}

export function encodeTbsCertificate(input: TbsInput, signerAlgorithm: KeyAlgorithm): Buffer {
  return sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))),
    unsignedInteger(input.serial),
    signatureAlgorithm(signerAlgorithm),
    input.issuerDer,
    sequence(time(input.validity.notBefore), time(input.validity.notAfter)),
    input.subjectDer,
    input.spkiDer,
    explicit(3, sequence(...input.extensions)),
  );
}

function signCertificate(tbs: Buffer, signer: { key: KeyObject; algorithm: KeyAlgorithm }): string {
  // node:crypto signs ECDSA as a DER Ecdsa-Sig-Value and RSA as PKCS#1 v1.5, as X.509 wants.
  const signature = sign('sha256', tbs, signer.key);
  return derToPem('CERTIFICATE', sequence(tbs, signatureAlgorithm(signer.algorithm), bitString(signature)));
}

export function caExtensions(spkiDer: Buffer): Buffer[] {
  return [
    extension(OID.basicConstraints, true, sequence(booleanTrue())),
    extension(OID.keyUsage, true, namedBits(KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign | KEY_USAGE.digitalSignature)),
    extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spkiDer))),
  ];
}

export function leafExtensions(request: LeafRequest, algorithm: KeyAlgorithm, spkiDer: Buffer, issuerSpkiDer: Buffer): Buffer[] {
  const usageFlags = algorithm === 'rsa' ? KEY_USAGE.digitalSignature | KEY_USAGE.keyEncipherment : KEY_USAGE.digitalSignature;
  const extendedUsages = request.usages.map((usage) => oid(usage === 'server' ? OID.serverAuth : OID.clientAuth));
  const extensions = [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, namedBits(usageFlags)),
    extension(OID.extendedKeyUsage, false, sequence(...extendedUsages)),
    extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyIdentifier(issuerSpkiDer)))),
    extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spkiDer))),
  ];
  const alternativeNames = [
    ...request.dnsNames.map((name) => implicitPrimitive(2, Buffer.from(name, 'ascii'))),
    ...request.ipAddresses.map((address) => implicitPrimitive(7, ipBytes(address))),
  ];
  if (alternativeNames.length > 0) extensions.push(extension(OID.subjectAltName, false, sequence(...alternativeNames)));
  return extensions;
}

export async function issueCa(commonName: string, algorithm: KeyAlgorithm, validity: Validity): Promise<CertKeyPem> {
  const keys = await generateKeyPair(algorithm);
  const name = encodeSubject(commonName, []);
  const tbs = encodeTbsCertificate(
    { serial: randomSerial(), issuerDer: name, validity, subjectDer: name, spkiDer: keys.spkiDer, extensions: caExtensions(keys.spkiDer) },
    algorithm,
  );
  return { certPem: signCertificate(tbs, { key: keys.privateKey, algorithm }), keyPem: keys.pem.privateKeyPem };
}

/** A CA parsed once for signing many leaves. */
export interface Issuer {
  ca: CertKeyPem;
  subjectDer: Buffer;
  spkiDer: Buffer;
  notAfter: Date;
  signer: { key: KeyObject; algorithm: KeyAlgorithm };
}

export function prepareIssuer(ca: CertKeyPem): Issuer {
  const parsed = parseCertificate(ca.certPem);
  return { ca, subjectDer: parsed.subject.raw, spkiDer: parsed.spki.raw, notAfter: parsed.notAfter, signer: loadSigningKey(ca.keyPem) };
}

export async function issueLeaf(request: LeafRequest, issuer: Issuer, algorithm: KeyAlgorithm, validity: Validity): Promise<CertKeyPem> {
  const keys = await generateKeyPair(algorithm);
  const tbs = encodeTbsCertificate(
    {
      serial: randomSerial(),
      issuerDer: issuer.subjectDer,
      validity,
      subjectDer: encodeSubject(request.commonName, request.organizations),
      spkiDer: keys.spkiDer,
      extensions: leafExtensions(request, algorithm, keys.spkiDer, issuer.spkiDer),
    },
    issuer.signer.algorithm,
  );
  return { certPem: signCertificate(tbs, issuer.signer), keyPem: keys.pem.privateKeyPem };
}

interface ParsedCertificate {
  tbs: DerNode;
  issuer: DerNode;
  subject: DerNode;
  spki: DerNode;
  notBefore: Date;
  notAfter: Date;
  extensions: Map<string, Buffer>;
  signatureAlgorithm: string;
  signature: Buffer;
  /** The issuer-side public key, created on first use. */
  publicKey?: KeyObject;
}

/** Reads the certificate fields Harbormaster decides on; throws on anything malformed. */
function parseCertificateDer(der: Buffer): ParsedCertificate {
  const certificate = expectTag(readNode(der), DER_TAG.sequence, 'Certificate');
  // eslint-disable-next-line no-restricted-syntax -- malformed DER, as in der.ts
  if (certificate.raw.length !== der.length) throw new Error('DER: trailing data after the certificate');
  const [tbs, algorithm, signature] = children(certificate);
  expectTag(tbs, DER_TAG.sequence, 'TBSCertificate');
  const signatureAlgorithm = readOid(children(expectTag(algorithm, DER_TAG.sequence, 'signatureAlgorithm'))[0]);
  const signatureBits = expectTag(signature, DER_TAG.bitString, 'signature').content;
  const fields = children(tbs);
  let index = fields[0]?.tag === 0xa0 ? 1 : 0;
  expectTag(fields[index++], DER_TAG.integer, 'serialNumber');
  expectTag(fields[index++], DER_TAG.sequence, 'signature');
  const issuer = expectTag(fields[index++], DER_TAG.sequence, 'issuer');
  const [notBefore, notAfter] = children(expectTag(fields[index++], DER_TAG.sequence, 'validity'));
  const subject = expectTag(fields[index++], DER_TAG.sequence, 'subject');
  const spki = expectTag(fields[index++], DER_TAG.sequence, 'subjectPublicKeyInfo');
  const extensions = new Map<string, Buffer>();
  for (const field of fields.slice(index)) {
    if (field.tag !== 0xa3) continue;
    for (const entry of children(expectTag(children(field)[0], DER_TAG.sequence, 'extensions'))) {
      const parts = children(entry);
      const value = expectTag(parts[parts.length - 1], DER_TAG.octetString, 'extnValue');
      extensions.set(readOid(parts[0]), value.content);
    }
  }
  return {
    tbs: tbs,
    issuer,
    subject,
    spki,
    notBefore: readTime(notBefore),
    notAfter: readTime(notAfter),
    extensions,
    signatureAlgorithm,
    signature: signatureBits.subarray(1),
  };
}

// A reconcile pass checks the same few CA certificates against every leaf; parsing each PEM
// once per burst is most of what is left of that cost. Parsed views are never mutated (but for
// the memoised public key), so sharing them is safe.
const PARSED_LIMIT = 256;
const parsed = new Map<string, ParsedCertificate>();

function parseCertificate(certPem: string): ParsedCertificate {
  const cached = parsed.get(certPem);
  if (cached) return cached;
  const result = parseCertificateDer(pemToDer(certPem, 'CERTIFICATE'));
  const oldest = parsed.keys().next();
  if (parsed.size >= PARSED_LIMIT && !oldest.done) parsed.delete(oldest.value);
  parsed.set(certPem, result);
  return result;
}

/** What the reissue decision needs to know about an existing certificate. */
export interface CertificateFacts {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  serverAuth: boolean;
  clientAuth: boolean;
}

export function inspectCertificate(certPem: string): CertificateFacts {
  const certificate = parseCertificate(certPem);
  const commonNames: string[] = [];
  const organizations: string[] = [];
  for (const rdn of children(certificate.subject)) {
    for (const attribute of children(expectTag(rdn, DER_TAG.set, 'RelativeDistinguishedName'))) {
      const [type, value] = children(attribute);
      const typeOid = readOid(type);
      if (typeOid === OID.commonName) commonNames.push(readString(value));
      else if (typeOid === OID.organization) organizations.push(readString(value));
    }
  }
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const alternativeNames = certificate.extensions.get(OID.subjectAltName);
  if (alternativeNames) {
    for (const name of children(readNode(alternativeNames))) {
      if (name.tag === 0x82) dnsNames.push(name.content.toString('ascii'));
      else if (name.tag === 0x87) ipAddresses.push(ipText(name.content));
    }
  }
  const constraints = certificate.extensions.get(OID.basicConstraints);
  const cA = constraints ? children(readNode(constraints))[0] : undefined;
  const isCa = cA?.tag === DER_TAG.boolean && cA.content[0] !== 0;
  const extendedUsage = certificate.extensions.get(OID.extendedKeyUsage);
  const extendedUsages = extendedUsage ? children(readNode(extendedUsage)).map(readOid) : [];
  return {
    commonName: commonNames[0] ?? '',
    organizations,
    dnsNames,
    ipAddresses,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    isCa,
    serverAuth: extendedUsages.includes(OID.serverAuth),
    clientAuth: extendedUsages.includes(OID.clientAuth),
  };
}

const SIGNATURE_HASHES: Record<string, string> = {
  [OID.ecdsaWithSha256]: 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  [OID.sha256WithRsaEncryption]: 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** The key identifier of an AuthorityKeyIdentifier or SubjectKeyIdentifier extension, if any. */
function keyIdentifierIn(extensions: Map<string, Buffer>, type: string): Buffer | undefined {
  const value = extensions.get(type);
  if (!value) return undefined;
  const node = readNode(value);
  if (type === OID.subjectKeyIdentifier) return expectTag(node, DER_TAG.octetString, 'subjectKeyIdentifier').content;
  return children(node).find((child) => child.tag === 0x80)?.content;
}

/**
 * True when `certPem` carries a signature made by `issuerCertPem`'s key, with the issuer
 * checks OpenSSL's X509_check_issued makes: the issuer name, the key identifiers when both
 * are present, and keyCertSign when the issuer restricts its key usage.
 */
export function isSignedBy(certPem: string, issuerCertPem: string): boolean {
  const certificate = parseCertificate(certPem);
  const issuer = parseCertificate(issuerCertPem);
  if (!certificate.issuer.raw.equals(issuer.subject.raw)) return false;
  const authorityKeyId = keyIdentifierIn(certificate.extensions, OID.authorityKeyIdentifier);
  const issuerKeyId = keyIdentifierIn(issuer.extensions, OID.subjectKeyIdentifier);
  if (authorityKeyId && issuerKeyId && !authorityKeyId.equals(issuerKeyId)) return false;
  const issuerUsage = issuer.extensions.get(OID.keyUsage);
  if (issuerUsage) {
    const bits = expectTag(readNode(issuerUsage), DER_TAG.bitString, 'keyUsage').content;
    if (!((bits.length > 1 ? bits[1] : 0) & (0x80 >> 5))) return false;
  }
  const hash = SIGNATURE_HASHES[certificate.signatureAlgorithm];
  if (!hash) {
    // Not an algorithm Harbormaster signs with: let OpenSSL decide.
    const native = new NodeX509Certificate(certPem);
    const nativeIssuer = new NodeX509Certificate(issuerCertPem);
    return native.checkIssued(nativeIssuer) && native.verify(nativeIssuer.publicKey);
  }
  issuer.publicKey ??= createPublicKey({ key: issuer.spki.raw, format: 'der', type: 'spki' });
  try {
    return verify(hash, certificate.tbs.raw, issuer.publicKey, certificate.signature);
  } catch {
    return false;
  }
}

/** True when the private key belongs to the certificate. */
export function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  const certificateKey = parseCertificate(certPem).spki.raw;
  const fromKey = privateKeyPublicPart(keyPem);
  const fromCertificate = fromKey ? spkiPublicPart(certificateKey) : undefined;
  if (fromKey && fromCertificate) {
    return (
      fromKey.algorithm === fromCertificate.algorithm &&
      fromKey.parameters.equals(fromCertificate.parameters) &&
      fromKey.publicKey.equals(fromCertificate.publicKey)
    );
  }
  const derivedKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  return certificateKey.equals(derivedKey);
}
