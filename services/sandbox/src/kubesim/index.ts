import { generateKeyPairSync } from 'node:crypto';
import type { AuthConfig, AuthModule, Authenticator, Authorizer, ObjectReader, StaticTokenEntry } from './contracts.js';
import { bootstrapObjects } from './bootstrap.js';
import { createCa, issueCertificate, type CertificateAuthority } from './pki.js';
import { firstServiceIp, parsePortRange } from './server/allocator.js';
import { ClientCertificateAuthenticator, StaticTokenAuthenticator } from './server/builtin-auth.js';
import { ApiServer } from './server/http.js';
import { ApiFaults } from './server/faults.js';
import { dialerFor, loadTunnelDialer, type EgressSelection, type TunnelDialer } from './server/egress.js';
import { KubeletClient } from './server/kubelet-client.js';
import { ObjectStore } from './server/store.js';
import { tokenSigner } from './server/token-request.js';
import { nodeRestriction } from './server/node-restriction.js';
import { certificateSubjectRestriction, podTopologyLabels, taintNodesByCondition } from './server/default-admission.js';
import { EtcdStorage } from './storage/etcd.js';
import { MemoryStorage } from './storage/memory.js';
import type { Storage } from './storage/types.js';

export type { AuthConfig, Authenticator, Authorizer, ObjectReader } from './contracts.js';
export { parseEgressSelectorConfiguration, EgressConfigError } from './server/egress.js';
export type { EgressSelection, EgressConnection, TunnelDialer } from './server/egress.js';
export { ApiFaults, type FaultScope } from './server/faults.js';
export { createCa, issueCertificate } from './pki.js';
export type { CertificateAuthority, KeyPairPem, LeafOptions } from './pki.js';

export type StorageOptions = { type: 'memory' } | { type: 'etcd'; endpoints: string[]; caFile?: string; certFile?: string; keyFile?: string };

export interface KubeSimOptions {
  storage?: StorageOptions;
  /** Serving certificate and key (PEM). */
  servingCert: string;
  servingKey: string;
  /** Client CA (PEM): client certificates are requested and verified against it. */
  clientCA?: string;
  host?: string;
  /** 0 picks an ephemeral port. */
  port?: number;
  staticTokens?: StaticTokenEntry[];
  serviceAccountKeys?: string[];
  serviceAccountIssuers?: string[];
  /** --service-account-signing-key-file contents (PEM); enables serviceaccounts/token. */
  serviceAccountSigningKey?: string;
  /** --api-audiences; defaults to the first issuer. */
  apiAudiences?: string[];
  /** Default 10.96.0.0/12. */
  serviceCidr?: string;
  /** Default 30000-32767. */
  nodePortRange?: string;
  anonymous?: boolean;
  enableBootstrapTokenAuth?: boolean;
  /** Default ['AlwaysAllow']. Anything else loads ../auth/index.js buildAuthorizers. */
  authorizationModes?: string[];
  /** Replace the authenticator chain built from the options. */
  authenticators?: Authenticator[];
  /** Replace the authorizer chain built from the options. */
  authorizers?: Authorizer[];
  bookmarkIntervalMs?: number;
  /** Create default namespaces, the kubernetes Service and bootstrap RBAC (default true). */
  bootstrap?: boolean;
  /** How nodes/proxy and pods/log reach kubelets (--kubelet-* flags). */
  kubelet?: {
    clientCertPem?: string;
    clientKeyPem?: string;
    certificateAuthorityPem?: string;
    preferredAddressTypes?: string[];
    port?: number;
  };
  /** --egress-selector-config-file, parsed: the `cluster` selection carries the kubelet connections. */
  egressSelection?: EgressSelection;
  /** The konnectivity client for a GRPC selection; services/sandbox/src/konnectivity by default. */
  tunnelDialer?: TunnelDialer;
}

export interface KubeSimHandle {
  url: string;
  port: number;
  /** The CA that signed the serving certificate, when known (createSeed). */
  caPem?: string;
  reader: ObjectReader;
  storage: Storage;
  /** A kubeconfig with the given client certificate, or a token. */
  kubeconfig(credentials: { clientCert: string; clientKey: string } | { token: string }, caPem?: string): string;
  /** TLS connections accepted since start (tests of client connection reuse). */
  connectionsAccepted(): number;
  /** Closes connections idle between requests, as a keep-alive timeout would. */
  closeIdleConnections(): void;
  /** Fault windows: matching requests answer 5xx, or late, for a while (chaos tests). */
  faults: ApiFaults;
  close(): Promise<void>;
}

async function loadAuthModule(): Promise<AuthModule | undefined> {
  try {
    const path = './auth/index.js';
    return (await import(path)) as AuthModule;
  } catch (error) {
    // Only the module itself being absent counts as "not there yet"; its own broken imports are errors.
    if (
      /ERR_MODULE_NOT_FOUND|Cannot find module|Failed to load url|Failed to resolve/.test(`${(error as { code?: string }).code} ${String(error)}`) &&
      String(error).includes('auth/index')
    )
      return undefined;
    throw error;
  }
}

function indent(pem: string): string {
  return Buffer.from(pem).toString('base64');
}

export function buildKubeconfig(
  url: string,
  caPem: string | undefined,
  credentials: { clientCert: string; clientKey: string } | { token: string },
  name = 'kubesim',
): string {
  const user =
    'token' in credentials
      ? `    token: ${credentials.token}`
      : `    client-certificate-data: ${indent(credentials.clientCert)}\n    client-key-data: ${indent(credentials.clientKey)}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${url}`,
    ...(caPem ? [`    certificate-authority-data: ${indent(caPem)}`] : []),
    'users:',
    '- name: admin',
    '  user:',
    user,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    '    user: admin',
    `current-context: ${name}`,
    '',
  ].join('\n');
}

export async function startKubeSim(options: KubeSimOptions): Promise<KubeSimHandle> {
  const serviceCidr = options.serviceCidr ?? '10.96.0.0/12';
  const nodePorts = parsePortRange(options.nodePortRange ?? '30000-32767');
  const storageOptions = options.storage ?? { type: 'memory' };
  const storage: Storage = storageOptions.type === 'etcd' ? new EtcdStorage(storageOptions) : new MemoryStorage();
  const store = new ObjectStore(storage, { cidr: serviceCidr, nodePortMin: nodePorts.min, nodePortMax: nodePorts.max });
  const authConfig: AuthConfig = {
    clientCA: options.clientCA,
    tokenAuthFile: options.staticTokens ?? [],
    enableBootstrapTokenAuth: options.enableBootstrapTokenAuth ?? false,
    serviceAccountKeys: options.serviceAccountKeys ?? [],
    serviceAccountIssuers: options.serviceAccountIssuers ?? [],
    anonymous: options.anonymous ?? false,
    authorizationModes: options.authorizationModes ?? ['AlwaysAllow'],
  };
  const needsAuthModule =
    (!options.authenticators && (authConfig.enableBootstrapTokenAuth || authConfig.serviceAccountKeys.length > 0)) ||
    (!options.authorizers && authConfig.authorizationModes.some((m) => m !== 'AlwaysAllow'));
  const authModule = options.authenticators && options.authorizers ? undefined : await loadAuthModule();
  if (needsAuthModule && !authModule) {
    await storage.close();
    throw new Error(
      `authorization modes ${authConfig.authorizationModes.join(',')} / bootstrap-token or service-account authentication need ${new URL('./auth/index.js', import.meta.url).pathname}, which is missing`,
    );
  }
  const authenticators =
    options.authenticators ??
    (authModule
      ? await authModule.buildAuthenticators(authConfig, store)
      : [...(options.clientCA ? [new ClientCertificateAuthenticator()] : []), new StaticTokenAuthenticator(authConfig.tokenAuthFile)]);
  const authorizers =
    options.authorizers ??
    (authModule && authConfig.authorizationModes.some((m) => m !== 'AlwaysAllow') ? await authModule.buildAuthorizers(authConfig, store) : []);
  // The product enables NodeRestriction wherever the Node authorizer runs (--enable-admission-plugins=NodeRestriction).
  if (authConfig.authorizationModes.includes('Node')) store.admission.push(nodeRestriction);
  // Default-on plugins of the real apiserver (the node-lifecycle controller lifts the not-ready taint).
  store.admission.push(taintNodesByCondition, podTopologyLabels(store), certificateSubjectRestriction);
  // /readyz stays false until the default namespaces, Service and RBAC policy exist.
  let bootstrapped = options.bootstrap === false;
  let tunnel: Promise<TunnelDialer> | undefined;
  const kubelet = new KubeletClient(store, {
    ...options.kubelet,
    dial: dialerFor(options.egressSelection?.cluster, () => {
      tunnel ??= options.tunnelDialer ? Promise.resolve(options.tunnelDialer) : loadTunnelDialer();
      // A failed load is retried on the next request rather than remembered.
      tunnel.catch(() => (tunnel = undefined));
      return tunnel;
    }),
  });
  const faults = new ApiFaults();
  const server = new ApiServer({
    store,
    kubelet,
    faults,
    authenticators,
    authorizers,
    anonymous: authConfig.anonymous,
    tls: { cert: options.servingCert, key: options.servingKey, clientCA: options.clientCA },
    bookmarkIntervalMs: options.bookmarkIntervalMs,
    ...(options.serviceAccountSigningKey
      ? { tokenSigner: tokenSigner(options.serviceAccountSigningKey, authConfig.serviceAccountIssuers[0] ?? 'https://kubernetes.default.svc.cluster.local') }
      : {}),
    apiAudiences: options.apiAudiences ?? authConfig.serviceAccountIssuers.slice(0, 1),
    ready: async () => {
      if (!bootstrapped) return false;
      try {
        await storage.currentRevision();
        return true;
      } catch {
        return false;
      }
    },
  });
  const host = options.host ?? '127.0.0.1';
  try {
    const port = await server.listen(options.port ?? 0, host);
    if (options.bootstrap !== false) {
      await bootstrapObjects(store, {
        kubernetesServiceIp: firstServiceIp(serviceCidr),
        securePort: port,
        rbac: authConfig.authorizationModes.includes('RBAC'),
      });
      bootstrapped = true;
    }
    const url = `https://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    return {
      url,
      port,
      reader: store,
      storage,
      kubeconfig: (credentials, caPem) => buildKubeconfig(url, caPem, credentials),
      connectionsAccepted: () => server.connectionsAccepted,
      closeIdleConnections: () => server.closeIdleConnections(),
      faults,
      close: async () => {
        await server.close();
        await storage.close();
      },
    };
  } catch (error) {
    await server.close().catch(() => undefined);
    await storage.close();
    throw error;
  }
}

export interface SeedHandle extends KubeSimHandle {
  caPem: string;
  caKeyPem: string;
  /** Kubeconfig for user kubernetes-admin in group system:masters. */
  adminKubeconfig: string;
  /** Issues a client certificate kubeconfig for any user and groups. */
  userKubeconfig(username: string, groups?: string[]): Promise<string>;
}

/** A memory-backed kubesim with its own CA, serving certificate and admin client certificate. */
export async function createSeed(options: Partial<KubeSimOptions> = {}, givenCa?: CertificateAuthority): Promise<SeedHandle> {
  // A given CA lets the caller issue certificates the seed's options need (its kubelet client) first.
  const ca = givenCa ?? (await createCa('kubesim-ca'));
  const serving = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    server: true,
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1'],
  });
  const serviceAccountKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const handle = await startKubeSim({
    storage: { type: 'memory' },
    serviceAccountSigningKey: serviceAccountKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    serviceAccountKeys: [serviceAccountKey.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    serviceAccountIssuers: ['https://kubernetes.default.svc.cluster.local'],
    ...options,
    servingCert: serving.certPem,
    servingKey: serving.keyPem,
    clientCA: options.clientCA ?? ca.certPem,
  });
  const userKubeconfig = async (username: string, groups: string[] = []) => {
    const cert = await issueCertificate(ca, { commonName: username, organizations: groups, client: true });
    return handle.kubeconfig({ clientCert: cert.certPem, clientKey: cert.keyPem }, ca.certPem);
  };
  return { ...handle, caPem: ca.certPem, caKeyPem: ca.keyPem, adminKubeconfig: await userKubeconfig('kubernetes-admin', ['system:masters']), userKubeconfig };
}
