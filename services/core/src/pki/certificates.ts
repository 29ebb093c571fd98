// Certificate issuance and inspection. Issuance uses @peculiar/x509 over the platform WebCrypto;
// inspection uses node:crypto, which is what the consumers of these certificates (TLS) trust.
// @peculiar/x509 resolves its ASN.1 services through tsyringe, which needs the Reflect polyfill first.
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { generateKeyPair, importSigningKey, signingAlgorithm, type KeyAlgorithm } from './keys.js';

x509.cryptoProvider.set(globalThis.crypto);

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

function subjectName(commonName: string, organizations: readonly string[]): x509.JsonName {
  const name: x509.JsonName = organizations.map((organization) => ({ O: [organization] }));
  name.push({ CN: [commonName] });
  return name;
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // A positive INTEGER: clear the top bit so DER needs no sign padding.
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return Buffer.from(bytes).toString('hex');
}

export async function issueCa(commonName: string, algorithm: KeyAlgorithm, validity: Validity): Promise<CertKeyPem> {
  const { keys, pem } = await generateKeyPair(algorithm);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(commonName, []),
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    keys,
    signingAlgorithm: signingAlgorithm(algorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: certificate.toString('pem') + '\n', keyPem: pem.privateKeyPem };
}

export async function issueLeaf(
  request: LeafRequest,
  issuer: CertKeyPem,
  algorithm: KeyAlgorithm,
  validity: Validity,
): Promise<CertKeyPem> {
  const { keys, pem } = await generateKeyPair(algorithm);
  const signer = await importSigningKey(issuer.keyPem);
  const issuerCertificate = new x509.X509Certificate(issuer.certPem);
  const usageFlags =
    algorithm === 'rsa'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature;
  const extendedUsages = request.usages.map((usage) =>
    usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
  );
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usageFlags, true),
    new x509.ExtendedKeyUsageExtension(extendedUsages, false),
    await x509.AuthorityKeyIdentifierExtension.create(issuerCertificate.publicKey),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const alternativeNames: x509.JsonGeneralName[] = [
    ...request.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...request.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  if (alternativeNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(alternativeNames, false));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(request.commonName, request.organizations),
    issuer: issuerCertificate.subject,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signingAlgorithm(signer.algorithm),
    extensions,
  });
  return { certPem: certificate.toString('pem') + '\n', keyPem: pem.privateKeyPem };
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

function fieldValues(name: x509.Name, field: string): string[] {
  return name.getField(field);
}

export function inspectCertificate(certPem: string): CertificateFacts {
  const certificate = new x509.X509Certificate(certPem);
  const alternativeNames = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  const extendedUsages = certificate.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  const subject = new x509.Name(certificate.subject);
  return {
    commonName: fieldValues(subject, 'CN')[0] ?? '',
    organizations: fieldValues(subject, 'O'),
    dnsNames: alternativeNames.filter((name) => name.type === 'dns').map((name) => name.value),
    ipAddresses: alternativeNames.filter((name) => name.type === 'ip').map((name) => name.value),
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    isCa: certificate.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    serverAuth: extendedUsages.includes(x509.ExtendedKeyUsage.serverAuth),
    clientAuth: extendedUsages.includes(x509.ExtendedKeyUsage.clientAuth),
  };
}

/** True when `certPem` carries a signature made by `issuerCertPem`'s key. */
export function isSignedBy(certPem: string, issuerCertPem: string): boolean {
  const certificate = new NodeX509Certificate(certPem);
  const issuer = new NodeX509Certificate(issuerCertPem);
  return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
}

/** True when the private key belongs to the certificate. */
export function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  const certificateKey = new NodeX509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const derivedKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  return certificateKey.equals(derivedKey);
}
