// The certificates and keys of one tenant cluster, and the decision of what to (re)issue.
import {
  inspectCertificate,
  isSignedBy,
  issueCa,
  issueLeaf,
  keyMatchesCertificate,
  prepareIssuer,
  validityFrom,
  type CertKeyPem,
  type ExtendedUsage,
  type Issuer,
  type LeafRequest,
} from './certificates.js';
import { firstServiceIp, parseCidr } from '../model/cidr.js';
import { canonicalIp } from './der.js';
import { generateKeyPair, keyAlgorithmOf, publicKeyPemOf, type KeyAlgorithm, type KeyPairPem } from './keys.js';

export const CA_LIFETIME_DAYS = 3650;
export const LEAF_LIFETIME_DAYS = 365;
export const LEAF_RENEW_BEFORE_DAYS = 30;
const DAY_MS = 86_400_000;

export type CaName = 'cluster' | 'frontProxy' | 'etcd';

/** Plain, serialisable PKI of a cluster: the caller encrypts and stores it as is. */
export interface ClusterPki {
  formatVersion: 1;
  ca: Record<CaName, CertKeyPem>;
  serviceAccount: KeyPairPem;
  leaves: Record<string, CertKeyPem>;
}

export interface PkiSpec {
  /** Seed namespace of the control plane, `cluster-<id>`. */
  namespace: string;
  /** Hostnames users and nodes reach the apiserver by. */
  externalHosts: readonly string[];
  externalIps: readonly string[];
  serviceCidr: string;
  /** DNS domain inside the tenant cluster. */
  tenantDnsDomain: string;
  /** DNS domain of the seed cluster the control-plane pods run in. */
  seedDnsDomain: string;
  etcdMembers: number;
  keyAlgorithm: KeyAlgorithm;
  /** Client certificates control-plane components ask for beyond the built-in ones below. */
  clients?: readonly ClientCertificate[];
}

export const LEAF = {
  apiserver: 'apiserver',
  apiserverKubeletClient: 'apiserver-kubelet-client',
  apiserverEtcdClient: 'apiserver-etcd-client',
  frontProxyClient: 'front-proxy-client',
  admin: 'admin',
  controllerManager: 'controller-manager',
  scheduler: 'scheduler',
  viewer: 'viewer',
  /** The konnectivity server's agent port, which the tunnel agents dial through the endpoint. */
  konnectivityServer: 'konnectivity-server',
  /** The konnectivity server's identity towards the apiserver, for TokenReviews of agent tokens. */
  konnectivityServerClient: 'konnectivity-server-client',
} as const;

export const etcdServerLeaf = (member: number): string => `etcd-${member}-server`;
export const etcdPeerLeaf = (member: number): string => `etcd-${member}-peer`;

export interface ClientIdentity {
  commonName: string;
  organizations: readonly string[];
}

/** A client certificate, signed by the cluster CA, that a component declares (controlplane/component.ts). */
export interface ClientCertificate {
  /** Its name among the leaves, as the component's secrets look it up. */
  name: string;
  identity: ClientIdentity;
}

export const ADMIN_IDENTITY: ClientIdentity = { commonName: 'harbormaster:admin', organizations: ['system:masters'] };
/** The tenant bootstrap objects bind this group to the `view` ClusterRole. */
export const VIEWER_IDENTITY: ClientIdentity = { commonName: 'harbormaster:viewer', organizations: ['harbormaster:viewers'] };
export const CONTROLLER_MANAGER_IDENTITY: ClientIdentity = { commonName: 'system:kube-controller-manager', organizations: [] };
export const SCHEDULER_IDENTITY: ClientIdentity = { commonName: 'system:kube-scheduler', organizations: [] };
// kubeadm before 1.29 used system:masters; the newer kubeadm:cluster-admins group needs a
// binding that tenant users could delete, which would cut the apiserver off from kubelets.
export const APISERVER_KUBELET_CLIENT_IDENTITY: ClientIdentity = {
  commonName: 'kube-apiserver-kubelet-client',
  organizations: ['system:masters'],
};
/**
 * The tenant bootstrap objects bind this user to `system:auth-delegator`, so the konnectivity
 * server may review the agents' tokens (TokenReview).
 */
export const KONNECTIVITY_SERVER_IDENTITY: ClientIdentity = { commonName: 'system:konnectivity-server', organizations: [] };
/** The apiserver's aggregation layer presents this name; `--requestheader-allowed-names` must match. */
export const FRONT_PROXY_CLIENT_NAME = 'front-proxy-client';

export class PkiError extends Error {
  constructor(
    readonly code: 'ca_invalid' | 'ca_expired' | 'ca_missing' | 'service_account_key_invalid',
    message: string,
  ) {
    super(message);
    this.name = 'PkiError';
  }
}

interface LeafDefinition {
  name: string;
  ca: CaName;
  request: LeafRequest;
}

export function apiserverServiceNames(namespace: string, seedDnsDomain: string): string[] {
  return ['apiserver', 'apiserver-external'].flatMap((service) => [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.${seedDnsDomain}`,
  ]);
}

export function etcdMemberHost(member: number, namespace: string, seedDnsDomain: string): string {
  return `etcd-${member}.etcd.${namespace}.svc.${seedDnsDomain}`;
}

/** The address Kubernetes gives the tenant's `kubernetes.default` Service. */
export function kubernetesServiceIp(serviceCidr: string): string {
  const cidr = parseCidr(serviceCidr);
  // eslint-disable-next-line no-restricted-syntax -- the request schema validated the CIDR; this is a broken invariant
  if (!cidr) throw new Error(`service CIDR ${serviceCidr} is not an IPv4 CIDR`);
  return firstServiceIp(cidr);
}

function client(identity: ClientIdentity): Pick<LeafRequest, 'commonName' | 'organizations' | 'usages' | 'dnsNames' | 'ipAddresses'> {
  return { ...identity, usages: ['client'], dnsNames: [], ipAddresses: [] };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export function leafDefinitions(spec: PkiSpec): LeafDefinition[] {
  const { namespace, seedDnsDomain, tenantDnsDomain } = spec;
  const apiserverDns = unique([
    ...spec.externalHosts,
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${tenantDnsDomain}`,
    ...apiserverServiceNames(namespace, seedDnsDomain),
    'localhost',
  ]);
  const apiserverIps = unique([...spec.externalIps, kubernetesServiceIp(spec.serviceCidr), '127.0.0.1']);
  const definitions: LeafDefinition[] = [
    {
      name: LEAF.apiserver,
      ca: 'cluster',
      request: { commonName: 'kube-apiserver', organizations: [], usages: ['server'], dnsNames: apiserverDns, ipAddresses: apiserverIps },
    },
    { name: LEAF.apiserverKubeletClient, ca: 'cluster', request: client(APISERVER_KUBELET_CLIENT_IDENTITY) },
    { name: LEAF.apiserverEtcdClient, ca: 'etcd', request: client({ commonName: 'kube-apiserver-etcd-client', organizations: [] }) },
    { name: LEAF.frontProxyClient, ca: 'frontProxy', request: client({ commonName: FRONT_PROXY_CLIENT_NAME, organizations: [] }) },
    { name: LEAF.admin, ca: 'cluster', request: client(ADMIN_IDENTITY) },
    { name: LEAF.controllerManager, ca: 'cluster', request: client(CONTROLLER_MANAGER_IDENTITY) },
    { name: LEAF.scheduler, ca: 'cluster', request: client(SCHEDULER_IDENTITY) },
    { name: LEAF.viewer, ca: 'cluster', request: client(VIEWER_IDENTITY) },
    {
      // Agents verify it with their service-account ca.crt, the cluster CA. They dial the
      // endpoint host; the Service names serve agents inside the seed's network.
      name: LEAF.konnectivityServer,
      ca: 'cluster',
      request: {
        commonName: 'konnectivity-server',
        organizations: [],
        usages: ['server'],
        dnsNames: unique([...spec.externalHosts, ...apiserverServiceNames(namespace, seedDnsDomain)]),
        ipAddresses: unique([...spec.externalIps]),
      },
    },
    { name: LEAF.konnectivityServerClient, ca: 'cluster', request: client(KONNECTIVITY_SERVER_IDENTITY) },
  ];
  for (let member = 0; member < spec.etcdMembers; member += 1) {
    const memberHost = etcdMemberHost(member, namespace, seedDnsDomain);
    // Both ways for both: peers dial each other with the peer certificate, and etcd's gRPC
    // gateway dials its own member with the server certificate (as kubeadm issues them).
    const usages: ExtendedUsage[] = ['server', 'client'];
    const names = { dnsNames: [memberHost, `etcd-${member}.etcd.${namespace}.svc`, 'localhost'], ipAddresses: ['127.0.0.1'] };
    definitions.push(
      { name: etcdServerLeaf(member), ca: 'etcd', request: { commonName: `etcd-${member}`, organizations: [], usages, ...names } },
      { name: etcdPeerLeaf(member), ca: 'etcd', request: { commonName: `etcd-${member}`, organizations: [], usages, ...names } },
    );
  }
  for (const certificate of spec.clients ?? []) definitions.push({ name: certificate.name, ca: 'cluster', request: client(certificate.identity) });
  return definitions;
}

const CA_COMMON_NAMES: Record<CaName, string> = {
  cluster: 'kubernetes',
  frontProxy: 'front-proxy-ca',
  etcd: 'etcd-ca',
};

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}

/** Throws a PkiError unless the stored CA can keep signing: a CA is never replaced silently. */
export function assertUsableCa(name: string, ca: CertKeyPem | undefined, now: Date): void {
  if (!ca?.certPem || !ca.keyPem) throw new PkiError('ca_missing', `the ${name} CA is missing from the stored PKI`);
  let facts;
  try {
    facts = inspectCertificate(ca.certPem);
    // eslint-disable-next-line no-restricted-syntax -- caught just below and reported as a PkiError
    if (!keyMatchesCertificate(ca.certPem, ca.keyPem)) throw new Error('key does not match');
  } catch (error) {
    throw new PkiError('ca_invalid', `the ${name} CA cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!facts.isCa) throw new PkiError('ca_invalid', `the ${name} CA certificate is not a CA`);
  if (!isSignedBy(ca.certPem, ca.certPem)) throw new PkiError('ca_invalid', `the ${name} CA is not self-signed`);
  if (now >= facts.notAfter) throw new PkiError('ca_expired', `the ${name} CA expired at ${facts.notAfter.toISOString()}`);
  if (now < facts.notBefore) throw new PkiError('ca_invalid', `the ${name} CA is not valid before ${facts.notBefore.toISOString()}`);
}

/**
 * Why a stored leaf must be reissued, or undefined when it can stay. A leaf is reissued when
 * it is missing, unreadable, signed by another CA, close to expiry, of another key algorithm or
 * when its subject, usages or SANs differ from what the cluster needs now.
 */
export function leafReissueReason(
  existing: CertKeyPem | undefined,
  request: LeafRequest,
  issuer: CertKeyPem,
  keyAlgorithm: KeyAlgorithm,
  now: Date,
): string | undefined {
  if (!existing) return 'missing';
  let facts;
  try {
    facts = inspectCertificate(existing.certPem);
    if (!keyMatchesCertificate(existing.certPem, existing.keyPem)) return 'key does not match certificate';
  } catch {
    return 'unreadable';
  }
  if (!isSignedBy(existing.certPem, issuer.certPem)) return 'not signed by the current CA';
  const remainingMs = facts.notAfter.getTime() - now.getTime();
  // A leaf already ending with its CA cannot get longer: reissuing it on every reconcile
  // would only restart pods. CA renewal is the caller's decision (see expiringCas).
  const endsWithCa = facts.notAfter.getTime() >= inspectCertificate(issuer.certPem).notAfter.getTime() - 1000;
  if (remainingMs <= LEAF_RENEW_BEFORE_DAYS * DAY_MS && !(endsWithCa && remainingMs > 0)) return 'expires within 30 days';
  if (keyAlgorithmOf(existing.keyPem) !== keyAlgorithm) return 'key algorithm changed';
  if (facts.commonName !== request.commonName || !sameSet(facts.organizations, request.organizations)) return 'subject changed';
  if (facts.serverAuth !== request.usages.includes('server') || facts.clientAuth !== request.usages.includes('client')) {
    return 'usages changed';
  }
  if (!sameSet(facts.dnsNames, request.dnsNames) || !sameSet(facts.ipAddresses, request.ipAddresses.map(canonicalIp))) return 'SANs changed';
  return undefined;
}

/** CAs that expire within `withinDays`, for the caller to alert on and rotate deliberately. */
export function expiringCas(pki: ClusterPki, now: Date, withinDays = 90): CaName[] {
  return (Object.keys(pki.ca) as CaName[]).filter((name) => inspectCertificate(pki.ca[name].certPem).notAfter.getTime() - now.getTime() <= withinDays * DAY_MS);
}

export interface EnsurePkiResult {
  pki: ClusterPki;
  /** Items created, reissued or dropped, e.g. `ca:cluster`, `leaf:apiserver`, `serviceAccount`. */
  changed: string[];
  /** Why each changed item changed. */
  reasons: Record<string, string>;
}

function assertUsableServiceAccountKey(pair: KeyPairPem | undefined): void {
  try {
    // eslint-disable-next-line no-restricted-syntax -- caught just below and reported as a PkiError
    if (!pair) throw new Error('missing');
    // eslint-disable-next-line no-restricted-syntax -- caught just below and reported as a PkiError
    if (publicKeyPemOf(pair.privateKeyPem).trim() !== pair.publicKeyPem.trim()) throw new Error('mismatch');
  } catch {
    // Replacing this key would invalidate every token already issued in the tenant cluster.
    throw new PkiError('service_account_key_invalid', 'the stored service-account key pair is missing or inconsistent');
  }
}

/**
 * Returns a complete PKI for the spec, reusing everything still valid in `existing`. CAs and
 * the service-account key are created only when there is no existing PKI at all; a stored one
 * that is unusable raises a PkiError for the caller to resolve deliberately.
 */
export async function ensureClusterPki(existing: ClusterPki | undefined, spec: PkiSpec, now: Date): Promise<EnsurePkiResult> {
  const changed: string[] = [];
  const reasons: Record<string, string> = {};
  const note = (item: string, reason: string): void => {
    changed.push(item);
    reasons[item] = reason;
  };

  let ca: Record<CaName, CertKeyPem>;
  let serviceAccount: KeyPairPem;
  if (existing) {
    for (const name of Object.keys(CA_COMMON_NAMES) as CaName[]) assertUsableCa(name, (existing.ca as Partial<ClusterPki['ca']> | undefined)?.[name], now);
    assertUsableServiceAccountKey(existing.serviceAccount);
    ca = { ...existing.ca };
    serviceAccount = existing.serviceAccount;
  } else {
    const caValidity = validityFrom(now, CA_LIFETIME_DAYS);
    const [cluster, frontProxy, etcd, serviceAccountKeys] = await Promise.all([
      issueCa(CA_COMMON_NAMES.cluster, spec.keyAlgorithm, caValidity),
      issueCa(CA_COMMON_NAMES.frontProxy, spec.keyAlgorithm, caValidity),
      issueCa(CA_COMMON_NAMES.etcd, spec.keyAlgorithm, caValidity),
      generateKeyPair(spec.keyAlgorithm),
    ]);
    ca = { cluster, frontProxy, etcd };
    serviceAccount = serviceAccountKeys.pem;
    for (const name of Object.keys(ca)) note(`ca:${name}`, 'created');
    note('serviceAccount', 'created');
  }

  const leaves: Record<string, CertKeyPem> = {};
  const definitions = leafDefinitions(spec);
  // Each CA's certificate and key are parsed once, and only when something needs signing.
  const issuers = new Map<CaName, Issuer>();
  const issuerFor = (name: CaName): Issuer => {
    let issuer = issuers.get(name);
    if (!issuer) issuers.set(name, (issuer = prepareIssuer(ca[name])));
    return issuer;
  };
  await Promise.all(
    definitions.map(async (definition) => {
      const current = (existing?.leaves as Partial<Record<string, CertKeyPem>> | undefined)?.[definition.name];
      const reason = leafReissueReason(current, definition.request, ca[definition.ca], spec.keyAlgorithm, now);
      if (current && !reason) {
        leaves[definition.name] = current;
        return;
      }
      const issuer = issuerFor(definition.ca);
      leaves[definition.name] = await issueLeaf(definition.request, issuer, spec.keyAlgorithm, validityFrom(now, LEAF_LIFETIME_DAYS, issuer.notAfter));
      note(`leaf:${definition.name}`, reason ?? 'missing');
    }),
  );
  const wanted = new Set(definitions.map((definition) => definition.name));
  for (const name of Object.keys(existing?.leaves ?? {})) {
    if (!wanted.has(name)) note(`leaf:${name}`, 'no longer needed');
  }
  // Promise.all finishes in arbitrary order; a stable order keeps stored JSON and logs diffable.
  const orderedLeaves = Object.fromEntries(definitions.map((definition) => [definition.name, leaves[definition.name]]));
  changed.sort();
  return { pki: { formatVersion: 1, ca, serviceAccount, leaves: orderedLeaves }, changed, reasons };
}
