import 'reflect-metadata';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_IDENTITY,
  CA_LIFETIME_DAYS,
  LEAF,
  LEAF_LIFETIME_DAYS,
  PkiError,
  discoveryTokenCaCertHash,
  ensureClusterPki,
  etcdPeerLeaf,
  expiringCas,
  etcdServerLeaf,
  kubeconfigNames,
  renderKubeconfig,
  type ClusterPki,
  type PkiSpec,
} from '../../../services/core/src/pki/index.js';

const DAY = 86_400_000;
const NOW = new Date('2026-03-01T12:00:00Z');
const NAMESPACE = 'cluster-abc123';

const spec: PkiSpec = {
  namespace: NAMESPACE,
  externalHosts: ['abc123.seed.example.com'],
  externalIps: ['203.0.113.10'],
  serviceCidr: '10.96.0.0/12',
  tenantDnsDomain: 'cluster.local',
  seedDnsDomain: 'cluster.local',
  etcdMembers: 3,
  keyAlgorithm: 'ecdsa',
};

function cert(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

function days(from: Date, to: string): number {
  return (new Date(to).getTime() - from.getTime()) / DAY;
}

function subjectOf(pem: string): string[] {
  return cert(pem).subject.split('\n');
}

describe('ensureClusterPki from scratch', () => {
  let pki: ClusterPki;
  let changed: string[];

  beforeAll(async () => {
    ({ pki, changed } = await ensureClusterPki(undefined, spec, NOW));
  });

  it('creates three CAs, the service-account key pair and every leaf', () => {
    expect(changed).toEqual(expect.arrayContaining(['ca:cluster', 'ca:frontProxy', 'ca:etcd', 'serviceAccount', 'leaf:apiserver', 'leaf:etcd-2-peer']));
    expect(Object.keys(pki.leaves).sort()).toEqual(
      [
        'admin',
        'apiserver',
        'apiserver-etcd-client',
        'apiserver-kubelet-client',
        'controller-manager',
        'front-proxy-client',
        'scheduler',
        'viewer',
        'konnectivity-server',
        'konnectivity-server-client',
        'etcd-0-server',
        'etcd-0-peer',
        'etcd-1-server',
        'etcd-1-peer',
        'etcd-2-server',
        'etcd-2-peer',
      ].sort(),
    );
    // Survives a JSON round trip: the caller stores it as plain data.
    expect(JSON.parse(JSON.stringify(pki))).toEqual(pki);
  });

  it('issues self-signed 10-year CAs with ECDSA P-256 keys', () => {
    for (const ca of Object.values(pki.ca)) {
      const certificate = cert(ca.certPem);
      expect(certificate.ca).toBe(true);
      expect(certificate.verify(certificate.publicKey)).toBe(true);
      expect(certificate.publicKey.asymmetricKeyType).toBe('ec');
      expect(certificate.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(Math.round(days(NOW, certificate.validTo))).toBe(CA_LIFETIME_DAYS);
      expect(createPrivateKey(ca.keyPem).asymmetricKeyType).toBe('ec');
    }
  });

  it('chains every leaf to the right CA with a one-year lifetime', () => {
    const issuers: Record<string, keyof ClusterPki['ca']> = {
      [LEAF.apiserver]: 'cluster',
      [LEAF.apiserverKubeletClient]: 'cluster',
      [LEAF.admin]: 'cluster',
      [LEAF.controllerManager]: 'cluster',
      [LEAF.scheduler]: 'cluster',
      [LEAF.viewer]: 'cluster',
      [LEAF.frontProxyClient]: 'frontProxy',
      [LEAF.apiserverEtcdClient]: 'etcd',
      [etcdServerLeaf(0)]: 'etcd',
      [etcdPeerLeaf(2)]: 'etcd',
    };
    for (const [leaf, caName] of Object.entries(issuers)) {
      const certificate = cert(pki.leaves[leaf].certPem);
      const issuer = cert(pki.ca[caName].certPem);
      expect(certificate.ca, leaf).toBe(false);
      expect(certificate.checkIssued(issuer), leaf).toBe(true);
      expect(certificate.verify(issuer.publicKey), leaf).toBe(true);
      for (const other of Object.keys(pki.ca) as Array<keyof ClusterPki['ca']>) {
        if (other !== caName) expect(certificate.verify(cert(pki.ca[other].certPem).publicKey), `${leaf} vs ${other}`).toBe(false);
      }
      expect(Math.round(days(NOW, certificate.validTo)), leaf).toBe(LEAF_LIFETIME_DAYS);
      expect(certificate.checkPrivateKey(createPrivateKey(pki.leaves[leaf].keyPem)), leaf).toBe(true);
    }
  });

  it('gives the apiserver serving certificate every name clients use', () => {
    const apiserver = cert(pki.leaves[LEAF.apiserver].certPem);
    for (const host of [
      'abc123.seed.example.com',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      `apiserver.${NAMESPACE}.svc.cluster.local`,
      `apiserver.${NAMESPACE}.svc`,
    ]) {
      expect(apiserver.checkHost(host), host).toBe(host);
    }
    for (const ip of ['203.0.113.10', '10.96.0.1', '127.0.0.1']) expect(apiserver.checkIP(ip), ip).toBe(ip);
    expect(apiserver.checkHost('etcd-0.etcd.cluster-abc123.svc.cluster.local')).toBeUndefined();
    expect(apiserver.checkIP('10.96.0.2')).toBeUndefined();
    expect(apiserver.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(apiserver.keyUsage).not.toContain('1.3.6.1.5.5.7.3.2');
  });

  it('gives each etcd member server and peer certificates for its own DNS names', () => {
    for (const member of [0, 1, 2]) {
      for (const leaf of [etcdServerLeaf(member), etcdPeerLeaf(member)]) {
        const certificate = cert(pki.leaves[leaf].certPem);
        expect(certificate.checkHost(`etcd-${member}.etcd.${NAMESPACE}.svc.cluster.local`)).toBeDefined();
        expect(certificate.checkHost(`etcd-${member}.etcd.${NAMESPACE}.svc`)).toBeDefined();
        expect(certificate.checkHost('localhost')).toBe('localhost');
        expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
        expect(certificate.checkHost(`etcd-${(member + 1) % 3}.etcd.${NAMESPACE}.svc.cluster.local`)).toBeUndefined();
        expect(certificate.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
      }
    }
  });

  it('uses the identities Kubernetes RBAC expects for client certificates', () => {
    expect(subjectOf(pki.leaves[LEAF.admin].certPem)).toEqual(['O=system:masters', `CN=${ADMIN_IDENTITY.commonName}`]);
    expect(subjectOf(pki.leaves[LEAF.controllerManager].certPem)).toEqual(['CN=system:kube-controller-manager']);
    expect(subjectOf(pki.leaves[LEAF.scheduler].certPem)).toEqual(['CN=system:kube-scheduler']);
    expect(subjectOf(pki.leaves[LEAF.apiserverKubeletClient].certPem)).toEqual(['O=system:masters', 'CN=kube-apiserver-kubelet-client']);
    expect(subjectOf(pki.leaves[LEAF.frontProxyClient].certPem)).toEqual(['CN=front-proxy-client']);
    expect(subjectOf(pki.leaves[LEAF.viewer].certPem)).toEqual(['O=harbormaster:viewers', 'CN=harbormaster:viewer']);
    const admin = cert(pki.leaves[LEAF.admin].certPem);
    expect(admin.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
  });

  it('stores a matching service-account key pair', () => {
    const privateKey = createPrivateKey(pki.serviceAccount.privateKeyPem);
    expect(privateKey.asymmetricKeyType).toBe('ec');
    expect(pki.serviceAccount.publicKeyPem).toContain('BEGIN PUBLIC KEY');
  });

  it('reissues nothing when called again with the same spec', async () => {
    const again = await ensureClusterPki(pki, spec, new Date(NOW.getTime() + 100 * DAY));
    expect(again.changed).toEqual([]);
    expect(again.pki).toEqual(pki);
  });

  it('reissues leaves with 30 days or less left, never the CAs', async () => {
    const at29DaysLeft = new Date(NOW.getTime() + (LEAF_LIFETIME_DAYS - 29) * DAY);
    const result = await ensureClusterPki(pki, spec, at29DaysLeft);
    expect(result.changed).toContain('leaf:apiserver');
    expect(result.reasons['leaf:apiserver']).toBe('expires within 30 days');
    expect(result.changed.filter((item) => item.startsWith('ca:'))).toEqual([]);
    expect(result.pki.ca).toEqual(pki.ca);
    expect(Math.round(days(at29DaysLeft, cert(result.pki.leaves[LEAF.apiserver].certPem).validTo))).toBe(LEAF_LIFETIME_DAYS);
    const at31DaysLeft = new Date(NOW.getTime() + (LEAF_LIFETIME_DAYS - 31) * DAY);
    expect((await ensureClusterPki(pki, spec, at31DaysLeft)).changed).toEqual([]);
    const atExactly30DaysLeft = new Date(NOW.getTime() + (LEAF_LIFETIME_DAYS - 30) * DAY);
    expect((await ensureClusterPki(pki, spec, atExactly30DaysLeft)).reasons['leaf:admin']).toBe('expires within 30 days');
  });

  it('reissues only the serving certificates of the endpoint (apiserver, konnectivity agent port) when it changes', async () => {
    const moved = { ...spec, externalHosts: ['new.seed.example.com'], externalIps: [] };
    const result = await ensureClusterPki(pki, moved, NOW);
    expect(result.changed).toEqual(['leaf:apiserver', 'leaf:konnectivity-server']);
    expect(result.reasons['leaf:apiserver']).toBe('SANs changed');
    expect(result.reasons['leaf:konnectivity-server']).toBe('SANs changed');
    const apiserver = cert(result.pki.leaves[LEAF.apiserver].certPem);
    expect(apiserver.checkHost('new.seed.example.com')).toBe('new.seed.example.com');
    expect(apiserver.checkIP('203.0.113.10')).toBeUndefined();
  });

  it('issues and drops etcd member certificates as the member count changes', async () => {
    const single = await ensureClusterPki(pki, { ...spec, etcdMembers: 1 }, NOW);
    expect(single.changed.sort()).toEqual(['leaf:etcd-1-peer', 'leaf:etcd-1-server', 'leaf:etcd-2-peer', 'leaf:etcd-2-server']);
    expect(Object.keys(single.pki.leaves)).not.toContain('etcd-1-server');
    const grown = await ensureClusterPki(single.pki, spec, NOW);
    expect(grown.changed.sort()).toEqual(['leaf:etcd-1-peer', 'leaf:etcd-1-server', 'leaf:etcd-2-peer', 'leaf:etcd-2-server']);
  });

  it('caps leaves at the CA expiry without reissuing them on every call, and reports the CA', async () => {
    const fiveDaysBeforeCaExpiry = new Date(NOW.getTime() + (CA_LIFETIME_DAYS - 5) * DAY);
    const first = await ensureClusterPki(pki, spec, fiveDaysBeforeCaExpiry);
    expect(first.changed).toContain('leaf:apiserver');
    const caNotAfter = new Date(cert(pki.ca.cluster.certPem).validTo).getTime();
    expect(new Date(cert(first.pki.leaves[LEAF.apiserver].certPem).validTo).getTime()).toBeLessThanOrEqual(caNotAfter);
    const second = await ensureClusterPki(first.pki, spec, new Date(fiveDaysBeforeCaExpiry.getTime() + DAY));
    expect(second.changed).toEqual([]);
    expect(expiringCas(pki, fiveDaysBeforeCaExpiry).sort()).toEqual(['cluster', 'etcd', 'frontProxy']);
    expect(expiringCas(pki, NOW)).toEqual([]);
  });

  it('never replaces a CA: an expired CA is an error', async () => {
    const afterCaExpiry = new Date(NOW.getTime() + (CA_LIFETIME_DAYS + 1) * DAY);
    await expect(ensureClusterPki(pki, spec, afterCaExpiry)).rejects.toMatchObject({ name: 'PkiError', code: 'ca_expired' });
  });

  it('never replaces a CA: a corrupt or mismatched CA is an error', async () => {
    const swappedKey: ClusterPki = { ...pki, ca: { ...pki.ca, etcd: { ...pki.ca.etcd, keyPem: pki.ca.cluster.keyPem } } };
    await expect(ensureClusterPki(swappedKey, spec, NOW)).rejects.toBeInstanceOf(PkiError);
    const garbage: ClusterPki = { ...pki, ca: { ...pki.ca, cluster: { certPem: 'not a certificate', keyPem: 'nope' } } };
    await expect(ensureClusterPki(garbage, spec, NOW)).rejects.toMatchObject({ code: 'ca_invalid' });
    const leafAsCa: ClusterPki = { ...pki, ca: { ...pki.ca, cluster: pki.leaves[LEAF.admin] } };
    await expect(ensureClusterPki(leafAsCa, spec, NOW)).rejects.toMatchObject({ code: 'ca_invalid' });
  });

  it('reissues leaves signed by a CA that is no longer the stored one', async () => {
    const other = await ensureClusterPki(undefined, spec, NOW);
    const mixed: ClusterPki = { ...pki, leaves: { ...pki.leaves, [LEAF.admin]: other.pki.leaves[LEAF.admin] } };
    const result = await ensureClusterPki(mixed, spec, NOW);
    expect(result.changed).toEqual(['leaf:admin']);
    expect(result.reasons['leaf:admin']).toBe('not signed by the current CA');
    expect(cert(result.pki.leaves[LEAF.admin].certPem).verify(cert(pki.ca.cluster.certPem).publicKey)).toBe(true);
  });

  it('computes the kubeadm discovery hash over the CA SubjectPublicKeyInfo', () => {
    const hash = discoveryTokenCaCertHash(pki.ca.cluster.certPem);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Independent path: the SPKI bytes as parsed by @peculiar/x509 from the certificate DER.
    const spki = new x509.X509Certificate(pki.ca.cluster.certPem).publicKey.rawData;
    expect(hash).toBe(`sha256:${createHash('sha256').update(Buffer.from(spki)).digest('hex')}`);
    expect(discoveryTokenCaCertHash(pki.ca.etcd.certPem)).not.toBe(hash);
  });

  it('renders kubeconfigs with names unique per credential', () => {
    const server = 'https://abc123.seed.example.com:6443';
    const admin = { clusterName: 'brisk-harbor', role: 'admin', server, caCertPem: pki.ca.cluster.certPem, client: pki.leaves[LEAF.admin] };
    const viewer = { ...admin, role: 'viewer', client: pki.leaves[LEAF.viewer] };
    const adminNames = kubeconfigNames(admin);
    const viewerNames = kubeconfigNames(viewer);
    expect(adminNames.cluster).toMatch(/^hm-brisk-harbor-[0-9a-f]{8}$/);
    expect(adminNames.user).toMatch(/^hm-brisk-harbor-admin-[0-9a-f]{8}$/);
    expect(viewerNames.user).toMatch(/^hm-brisk-harbor-viewer-[0-9a-f]{8}$/);
    expect(viewerNames.cluster).not.toBe(adminNames.cluster);
    const otherCluster = kubeconfigNames({ ...admin, server: 'https://other:6443' });
    expect(otherCluster.user).not.toBe(adminNames.user);

    const document = parse(renderKubeconfig(admin)) as {
      clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
      users: Array<{ name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }>;
      'current-context': string;
      contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
    };
    expect(document.clusters[0]).toEqual({
      name: adminNames.cluster,
      cluster: { server, 'certificate-authority-data': Buffer.from(pki.ca.cluster.certPem).toString('base64') },
    });
    expect(Buffer.from(document.users[0].user['client-key-data'], 'base64').toString()).toBe(pki.leaves[LEAF.admin].keyPem);
    expect(document.contexts[0].context).toEqual({ cluster: adminNames.cluster, user: adminNames.user });
    expect(document['current-context']).toBe(document.contexts[0].name);

    const discovery = parse(renderKubeconfig({ clusterName: 'brisk-harbor', role: 'cluster-info', server, caCertPem: pki.ca.cluster.certPem })) as {
      users: unknown[];
    };
    expect(discovery.users).toEqual([]);
  });
});

describe('ensureClusterPki with RSA', () => {
  it('issues RSA-2048 keys and reissues leaves, not CAs, when the algorithm changes', async () => {
    const rsa = await ensureClusterPki(undefined, { ...spec, etcdMembers: 1, keyAlgorithm: 'rsa' }, NOW);
    const apiserver = cert(rsa.pki.leaves[LEAF.apiserver].certPem);
    expect(apiserver.publicKey.asymmetricKeyType).toBe('rsa');
    expect(apiserver.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(apiserver.verify(cert(rsa.pki.ca.cluster.certPem).publicKey)).toBe(true);

    const switched = await ensureClusterPki(rsa.pki, { ...spec, etcdMembers: 1, keyAlgorithm: 'ecdsa' }, NOW);
    expect(switched.pki.ca).toEqual(rsa.pki.ca);
    expect(switched.reasons['leaf:apiserver']).toBe('key algorithm changed');
    const ecdsaLeaf = cert(switched.pki.leaves[LEAF.apiserver].certPem);
    expect(ecdsaLeaf.publicKey.asymmetricKeyType).toBe('ec');
    expect(ecdsaLeaf.verify(cert(rsa.pki.ca.cluster.certPem).publicKey)).toBe(true);
  });
});
