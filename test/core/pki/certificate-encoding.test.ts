// The PKI encodes certificates itself (services/core/src/pki/der.ts). These checks hold it to
// the profile @peculiar/x509 produced before: for the same inputs the TBSCertificate bytes are
// identical, so every certificate keeps its exact content; only keys, serials and signatures
// differ between issuances.
import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import {
  caExtensions,
  encodeSubject,
  encodeTbsCertificate,
  ensureClusterPki,
  generateKeyPair,
  inspectCertificate,
  isSignedBy,
  keyAlgorithmOf,
  keyMatchesCertificate,
  leafDefinitions,
  leafExtensions,
  type KeyAlgorithm,
  type LeafRequest,
} from '../../../services/core/src/pki/index.js';
import { children, readNode } from '../../../services/core/src/pki/der.js';
import { pkiSpecFor } from '../../../services/core/src/controlplane/index.js';
import { referencePki, referenceSpec } from '../controlplane/reference.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

function derOf(pem: string): Buffer {
  return Buffer.from(new x509.X509Certificate(pem).rawData);
}

function tbsOf(pem: string): Buffer {
  return children(readNode(derOf(pem)))[0].raw;
}

/** The fields our encoder takes, read back from a certificate by @peculiar/x509. */
function inputsOf(
  pem: string,
  issuerPem: string,
): { serial: Buffer; issuerDer: Buffer; spkiDer: Buffer; issuerSpkiDer: Buffer; validity: { notBefore: Date; notAfter: Date } } {
  const certificate = new x509.X509Certificate(pem);
  const issuer = new x509.X509Certificate(issuerPem);
  return {
    serial: Buffer.from(certificate.serialNumber, 'hex'),
    issuerDer: Buffer.from(issuer.subjectName.toArrayBuffer()),
    spkiDer: Buffer.from(certificate.publicKey.rawData),
    issuerSpkiDer: Buffer.from(issuer.publicKey.rawData),
    validity: { notBefore: certificate.notBefore, notAfter: certificate.notAfter },
  };
}

describe('certificate encoding', () => {
  it('re-encodes every certificate of the stored reference PKI (issued through @peculiar/x509) byte for byte', async () => {
    const pki = await referencePki();
    const spec = { ...pkiSpecFor(referenceSpec('LoadBalancer')), externalIps: ['192.0.2.10'] };
    const caNames = { cluster: 'kubernetes', frontProxy: 'front-proxy-ca', etcd: 'etcd-ca' } as const;
    for (const [name, commonName] of Object.entries(caNames) as Array<[keyof typeof caNames, string]>) {
      const ca = pki.ca[name];
      const inputs = inputsOf(ca.certPem, ca.certPem);
      const tbs = encodeTbsCertificate({ ...inputs, subjectDer: encodeSubject(commonName, []), extensions: caExtensions(inputs.spkiDer) }, 'ecdsa');
      expect(tbs.equals(tbsOf(ca.certPem)), `CA ${name}`).toBe(true);
    }
    const definitions = leafDefinitions(spec);
    expect(definitions.length).toBe(Object.keys(pki.leaves).length);
    for (const definition of definitions) {
      const leaf = pki.leaves[definition.name];
      const inputs = inputsOf(leaf.certPem, pki.ca[definition.ca].certPem);
      const tbs = encodeTbsCertificate(
        {
          ...inputs,
          subjectDer: encodeSubject(definition.request.commonName, definition.request.organizations),
          extensions: leafExtensions(definition.request, 'ecdsa', inputs.spkiDer, inputs.issuerSpkiDer),
        },
        'ecdsa',
      );
      expect(tbs.toString('hex'), definition.name).toBe(tbsOf(leaf.certPem).toString('hex'));
    }
  });

  // What the reference PKI does not cover: RSA, IPv6 addresses, names that are not
  // PrintableString, dates past 2049 (GeneralizedTime).
  const cases: Array<{ algorithm: KeyAlgorithm; request: LeafRequest; notAfter: Date }> = [
    {
      algorithm: 'rsa',
      request: {
        commonName: 'kube-apiserver',
        organizations: [],
        usages: ['server'],
        dnsNames: ['kubernetes', 'a.example'],
        ipAddresses: ['10.96.0.1', '2001:db8::1', 'fe80::1:0:0:0:2'],
      },
      notAfter: new Date('2031-05-01T10:20:30Z'),
    },
    {
      algorithm: 'ecdsa',
      request: {
        commonName: 'system:node:worker_1@x',
        organizations: ['system:nodes', 'team*ops'],
        usages: ['server', 'client'],
        dnsNames: [],
        ipAddresses: [],
      },
      notAfter: new Date('2061-01-01T00:00:00Z'),
    },
  ];
  for (const { algorithm, request, notAfter } of cases) {
    it(`matches @peculiar/x509 for ${algorithm} ${request.commonName}`, async () => {
      const params =
        algorithm === 'ecdsa'
          ? { name: 'ECDSA', namedCurve: 'P-256' }
          : { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
      const signing = algorithm === 'ecdsa' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
      const caKeys = await webcrypto.subtle.generateKey(params, true, ['sign', 'verify']);
      const leafKeys = await webcrypto.subtle.generateKey(params, true, ['sign', 'verify']);
      const validity = { notBefore: new Date('2026-02-03T04:05:06Z'), notAfter };
      const ca = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '0102',
        name: [{ CN: ['etcd-ca'] }],
        ...validity,
        keys: caKeys,
        signingAlgorithm: signing,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
          await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
        ],
      });
      const usageFlags = algorithm === 'rsa' ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature;
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: '7f0a0b0c0d0e0f101112131415161718',
        subject: [...request.organizations.map((organization) => ({ O: [organization] })), { CN: [request.commonName] }],
        issuer: ca.subject,
        ...validity,
        publicKey: leafKeys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: signing,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- KeyUsageFlags is a bit-flag enum; a combination of its members is a plain number by design
          new x509.KeyUsagesExtension(usageFlags, true),
          new x509.ExtendedKeyUsageExtension(
            request.usages.map((usage) => (usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth)),
            false,
          ),
          await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
          await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
          ...(request.dnsNames.length + request.ipAddresses.length > 0
            ? [
                new x509.SubjectAlternativeNameExtension(
                  [
                    ...request.dnsNames.map((value) => ({ type: 'dns' as const, value })),
                    ...request.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
                  ],
                  false,
                ),
              ]
            : []),
        ],
      });
      const caPem = ca.toString('pem');
      const leafPem = leaf.toString('pem');
      const caInputs = inputsOf(caPem, caPem);
      expect(
        encodeTbsCertificate({ ...caInputs, subjectDer: encodeSubject('etcd-ca', []), extensions: caExtensions(caInputs.spkiDer) }, algorithm).equals(
          tbsOf(caPem),
        ),
      ).toBe(true);
      const inputs = inputsOf(leafPem, caPem);
      const tbs = encodeTbsCertificate(
        {
          ...inputs,
          subjectDer: encodeSubject(request.commonName, request.organizations),
          extensions: leafExtensions(request, algorithm, inputs.spkiDer, inputs.issuerSpkiDer),
        },
        algorithm,
      );
      expect(tbs.toString('hex')).toBe(tbsOf(leafPem).toString('hex'));

      const facts = inspectCertificate(leafPem);
      expect(facts).toEqual({
        commonName: request.commonName,
        organizations: request.organizations,
        dnsNames: request.dnsNames,
        // RFC 5952 text, whatever form the request used.
        ipAddresses: request.ipAddresses.map((address) => (address === 'fe80::1:0:0:0:2' ? 'fe80:0:0:1::2' : address)),
        notBefore: validity.notBefore,
        notAfter,
        isCa: false,
        serverAuth: request.usages.includes('server'),
        clientAuth: request.usages.includes('client'),
      });
      expect(inspectCertificate(caPem).isCa).toBe(true);
    });
  }

  it('encodes an IPv4-mapped IPv6 address as its 16 bytes (where @peculiar/x509 did not)', async () => {
    const { pki } = await ensureClusterPki(
      undefined,
      { ...pkiSpecFor(referenceSpec('NodePort')), externalIps: ['::ffff:192.0.2.1'], etcdMembers: 1 },
      new Date('2026-04-01T00:00:00Z'),
    );
    const apiserver = new NodeX509Certificate(pki.leaves.apiserver.certPem);
    expect(apiserver.subjectAltName).toContain('IP Address:0:0:0:0:0:FFFF:C000:201');
    expect(inspectCertificate(pki.leaves.apiserver.certPem).ipAddresses).toContain('::ffff:c000:201');
  });

  it('writes P-256 keys exactly as OpenSSL exports them', async () => {
    for (let round = 0; round < 20; round += 1) {
      const { pem, privateKey, spkiDer } = await generateKeyPair('ecdsa');
      expect(pem.privateKeyPem).toBe(privateKey.export({ type: 'pkcs8', format: 'pem' }));
      expect(pem.publicKeyPem).toBe(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }));
      expect(spkiDer.equals(createPublicKey(createPrivateKey(pem.privateKeyPem)).export({ type: 'spki', format: 'der' }))).toBe(true);
    }
  });

  it('matches keys, algorithms and issuers as OpenSSL does', async () => {
    const pki = await referencePki();
    const other = await ensureClusterPki(undefined, { ...pkiSpecFor(referenceSpec('NodePort')), etcdMembers: 1 }, new Date('2026-04-01T00:00:00Z'));
    const rsaKey = (await generateKeyPair('rsa')).pem.privateKeyPem;
    const sec1 = createPrivateKey(pki.ca.cluster.keyPem).export({ type: 'sec1', format: 'pem' }).toString();
    const certificates = [pki.ca.cluster, pki.ca.etcd, pki.leaves.admin, pki.leaves['etcd-0-peer'], other.pki.ca.cluster, other.pki.leaves.admin];
    for (const certificate of certificates) {
      const native = new NodeX509Certificate(certificate.certPem);
      for (const candidate of [...certificates.map((item) => item.keyPem), rsaKey, sec1]) {
        expect(keyMatchesCertificate(certificate.certPem, candidate)).toBe(native.checkPrivateKey(createPrivateKey(candidate)));
      }
      for (const issuer of certificates) {
        const nativeIssuer = new NodeX509Certificate(issuer.certPem);
        expect(isSignedBy(certificate.certPem, issuer.certPem)).toBe(native.checkIssued(nativeIssuer) && native.verify(nativeIssuer.publicKey));
      }
    }
    expect(keyAlgorithmOf(sec1)).toBe('ecdsa');
    expect(keyAlgorithmOf(rsaKey)).toBe('rsa');
    expect(keyAlgorithmOf(pki.leaves.admin.keyPem)).toBe('ecdsa');
    expect(() => keyAlgorithmOf('nope')).toThrow();
  });

  it('issues certificates node:crypto and @peculiar/x509 both read as the request says', async () => {
    const { pki } = await ensureClusterPki(undefined, { ...pkiSpecFor(referenceSpec('NodePort')), etcdMembers: 1 }, new Date('2026-04-01T00:00:00Z'));
    for (const [name, leaf] of Object.entries(pki.leaves)) {
      // The stored PEM layout stays what it was: 64-column base64 and one final newline.
      expect(leaf.certPem, name).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
      expect(leaf.keyPem, name).toMatch(/^-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PRIVATE KEY-----\n$/);
      const peculiar = new x509.X509Certificate(leaf.certPem);
      const native = new NodeX509Certificate(leaf.certPem);
      const facts = inspectCertificate(leaf.certPem);
      expect(peculiar.subject, name).toBe(native.subject.split('\n').join(', '));
      expect(facts.notAfter.getTime(), name).toBe(peculiar.notAfter.getTime());
      const sans = peculiar.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
      expect(facts.dnsNames, name).toEqual(sans.filter((san) => san.type === 'dns').map((san) => san.value));
      expect(facts.ipAddresses, name).toEqual(sans.filter((san) => san.type === 'ip').map((san) => san.value));
      expect(
        await peculiar.verify({
          publicKey: new x509.X509Certificate(
            pki.ca[name === 'front-proxy-client' ? 'frontProxy' : name.startsWith('etcd') || name === 'apiserver-etcd-client' ? 'etcd' : 'cluster'].certPem,
          ).publicKey,
          signatureOnly: true,
        }),
        name,
      ).toBe(true);
    }
  });
});
