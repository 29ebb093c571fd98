// `node cli.js kube-apiserver <real kube-apiserver flags>` runs the API server role the way
// a kubeadm-style static pod or Deployment would start the real binary.
// `kube-controller-manager` and `kube-scheduler` are handed to ./controllers/roles.js.
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseTokenAuthFile } from './server/builtin-auth.js';
import { parseCidr, parsePortRange } from './server/allocator.js';
import { EgressConfigError, parseEgressSelectorConfiguration, type EgressSelection } from './server/egress.js';
import type { KubeSimOptions } from './index.js';

type FlagKind = 'string' | 'bool' | 'file' | 'cert' | 'key' | 'keyish' | 'list';

// Flags of kube-apiserver v1.32 (`kube-apiserver --help`). Flags that only tune behaviour
// kubesim does not simulate are accepted and ignored, as long as their values are well formed.
const apiserverFlags: Record<string, FlagKind> = {
  'admission-control-config-file': 'file',
  'advertise-address': 'string',
  'aggregator-reject-forwarding-redirect': 'bool',
  'allow-metric-labels': 'string',
  'allow-privileged': 'bool',
  'anonymous-auth': 'bool',
  'api-audiences': 'list',
  'apiserver-count': 'string',
  'audit-log-batch-max-size': 'string',
  'audit-log-compress': 'bool',
  'audit-log-format': 'string',
  'audit-log-maxage': 'string',
  'audit-log-maxbackup': 'string',
  'audit-log-maxsize': 'string',
  'audit-log-mode': 'string',
  'audit-log-path': 'string',
  'audit-policy-file': 'file',
  'audit-webhook-config-file': 'file',
  'authentication-config': 'file',
  'authentication-token-webhook-config-file': 'file',
  'authorization-config': 'file',
  'authorization-mode': 'list',
  'authorization-policy-file': 'file',
  'authorization-webhook-cache-authorized-ttl': 'string',
  'authorization-webhook-cache-unauthorized-ttl': 'string',
  'authorization-webhook-version': 'string',
  'authentication-token-webhook-cache-ttl': 'string',
  'authentication-token-webhook-version': 'string',
  'emulated-version': 'list',
  'enable-logs-handler': 'bool',
  'show-hidden-metrics-for-version': 'string',
  'tracing-config-file': 'file',
  'audit-log-truncate-enabled': 'bool',
  'audit-log-truncate-max-batch-size': 'string',
  'audit-log-truncate-max-event-size': 'string',
  'audit-webhook-mode': 'string',
  'audit-webhook-batch-max-size': 'string',
  'service-account-max-token-expiration': 'string',
  'authorization-webhook-config-file': 'file',
  'bind-address': 'string',
  'cert-dir': 'string',
  'client-ca-file': 'cert',
  'cloud-provider': 'string',
  'contention-profiling': 'bool',
  'cors-allowed-origins': 'list',
  'default-not-ready-toleration-seconds': 'string',
  'default-unreachable-toleration-seconds': 'string',
  'default-watch-cache-size': 'string',
  'delete-collection-workers': 'string',
  'disable-admission-plugins': 'list',
  'egress-selector-config-file': 'file',
  'enable-admission-plugins': 'list',
  'enable-aggregator-routing': 'bool',
  'enable-bootstrap-token-auth': 'bool',
  'enable-garbage-collector': 'bool',
  'enable-priority-and-fairness': 'bool',
  'encryption-provider-config': 'file',
  'endpoint-reconciler-type': 'string',
  'etcd-cafile': 'cert',
  'etcd-certfile': 'cert',
  'etcd-compaction-interval': 'string',
  'etcd-count-metric-poll-period': 'string',
  'etcd-db-metric-poll-interval': 'string',
  'etcd-healthcheck-timeout': 'string',
  'etcd-keyfile': 'key',
  'etcd-prefix': 'string',
  'etcd-readycheck-timeout': 'string',
  'etcd-servers': 'list',
  'etcd-servers-overrides': 'list',
  'event-ttl': 'string',
  'external-hostname': 'string',
  'feature-gates': 'list',
  'goaway-chance': 'string',
  'http2-max-streams-per-connection': 'string',
  'kubelet-certificate-authority': 'cert',
  'kubelet-client-certificate': 'cert',
  'kubelet-client-key': 'key',
  'kubelet-port': 'string',
  'kubelet-preferred-address-types': 'list',
  'kubelet-timeout': 'string',
  'lease-reuse-duration-seconds': 'string',
  'livez-grace-period': 'string',
  'log-flush-frequency': 'string',
  'logging-format': 'string',
  'max-connection-bytes-per-sec': 'string',
  'max-mutating-requests-inflight': 'string',
  'max-requests-inflight': 'string',
  'min-request-timeout': 'string',
  'oidc-ca-file': 'cert',
  'oidc-client-id': 'string',
  'oidc-groups-claim': 'string',
  'oidc-groups-prefix': 'string',
  'oidc-issuer-url': 'string',
  'oidc-username-claim': 'string',
  'oidc-username-prefix': 'string',
  'permit-address-sharing': 'bool',
  'permit-port-sharing': 'bool',
  profiling: 'bool',
  'proxy-client-cert-file': 'cert',
  'proxy-client-key-file': 'key',
  'request-timeout': 'string',
  'requestheader-allowed-names': 'list',
  'requestheader-client-ca-file': 'cert',
  'requestheader-extra-headers-prefix': 'list',
  'requestheader-group-headers': 'list',
  'requestheader-username-headers': 'list',
  'requestheader-uid-headers': 'list',
  'runtime-config': 'list',
  'secure-port': 'string',
  'service-account-extend-token-expiration': 'bool',
  'service-account-issuer': 'list',
  'service-account-jwks-uri': 'string',
  'service-account-key-file': 'keyish',
  'service-account-lookup': 'bool',
  'service-account-signing-key-file': 'key',
  'service-cluster-ip-range': 'string',
  'service-node-port-range': 'string',
  'shutdown-delay-duration': 'string',
  'shutdown-send-retry-after': 'bool',
  'shutdown-watch-termination-grace-period': 'string',
  'storage-backend': 'string',
  'storage-media-type': 'string',
  'strict-transport-security-directives': 'list',
  'tls-cert-file': 'cert',
  'tls-cipher-suites': 'list',
  'tls-min-version': 'string',
  'tls-private-key-file': 'key',
  'tls-sni-cert-key': 'list',
  'token-auth-file': 'file',
  v: 'string',
  vmodule: 'list',
  'watch-cache': 'bool',
  'watch-cache-sizes': 'list',
};

const admissionPlugins = new Set([
  'AlwaysAdmit',
  'AlwaysDeny',
  'AlwaysPullImages',
  'CertificateApproval',
  'CertificateSigning',
  'CertificateSubjectRestriction',
  'ClusterTrustBundleAttest',
  'DefaultIngressClass',
  'DefaultStorageClass',
  'DefaultTolerationSeconds',
  'DenyServiceExternalIPs',
  'EventRateLimit',
  'ExtendedResourceToleration',
  'ImagePolicyWebhook',
  'LimitPodHardAntiAffinityTopology',
  'LimitRanger',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionWebhook',
  'NamespaceAutoProvision',
  'NamespaceExists',
  'NamespaceLifecycle',
  'NodeRestriction',
  'OwnerReferencesPermissionEnforcement',
  'PersistentVolumeClaimResize',
  'PodNodeSelector',
  'PodSecurity',
  'PodTolerationRestriction',
  'Priority',
  'ResourceQuota',
  'RuntimeClass',
  'ServiceAccount',
  'StorageObjectInUseProtection',
  'TaintNodesByCondition',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionWebhook',
]);

export class FlagError extends Error {}

const boolValues: Record<string, boolean> = {
  '': true,
  true: true,
  '1': true,
  t: true,
  T: true,
  TRUE: true,
  True: true,
  false: false,
  '0': false,
  f: false,
  F: false,
  FALSE: false,
  False: false,
};

/** pflag-style parsing: --flag=value, --flag value (not for booleans), repeated flags accumulate. */
export function parseFlags(argv: string[], known: Record<string, FlagKind>): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const match = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new FlagError(`"kube-apiserver" does not take any arguments, got ["${arg}"]`);
    const name = match[1];
    const kind = known[name];
    if (!kind) throw new FlagError(`unknown flag: --${name}`);
    let value = match[2];
    if (value === undefined) {
      if (kind === 'bool') value = 'true';
      else {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: --${name}`);
        value = argv[++i];
      }
    }
    if (kind === 'bool' && !(value in boolValues))
      throw new FlagError(`invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return flags;
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new FlagError(
      `--${flag}: open ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`,
    );
  }
}

function checkPem(flag: string, kind: FlagKind, path: string, text: string): void {
  try {
    if (kind === 'cert') {
      const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
      if (!blocks) throw new Error('data does not contain any valid RSA or ECDSA certificates');
      for (const block of blocks) new X509Certificate(block);
    } else if (kind === 'key') {
      createPrivateKey(text);
    } else if (kind === 'keyish') {
      try {
        createPublicKey(text);
      } catch {
        createPrivateKey(text);
      }
    }
  } catch (error) {
    throw new FlagError(`--${flag}: invalid ${kind === 'cert' ? 'certificate' : 'key'} data in ${path}: ${(error as Error).message}`);
  }
}

export interface ApiserverConfig {
  options: KubeSimOptions;
  port: number;
  host: string;
}

/** Validates the flags like kube-apiserver's option validation and turns them into KubeSimOptions. */
export function apiserverConfigFromFlags(argv: string[]): ApiserverConfig {
  const flags = parseFlags(argv, apiserverFlags);
  const last = (name: string) => flags.get(name)?.at(-1);
  const all = (name: string) =>
    (flags.get(name) ?? [])
      .flatMap((v) => (apiserverFlags[name] === 'list' || apiserverFlags[name] === 'keyish' ? v.split(',') : [v]))
      .map((v) => v.trim())
      .filter(Boolean);
  const files = new Map<string, string>();
  for (const [name, values] of flags) {
    const kind = apiserverFlags[name];
    if (!['file', 'cert', 'key', 'keyish'].includes(kind)) continue;
    for (const path of name === 'service-account-key-file' ? all(name) : values) {
      if (path === '') continue;
      const text = readFlagFile(name, path);
      checkPem(name, kind, path, text);
      files.set(`${name}:${path}`, text);
    }
  }
  const file = (name: string) => {
    const path = last(name);
    return path ? files.get(`${name}:${path}`) : undefined;
  };
  const errorsFound: string[] = [];
  const etcdServers = all('etcd-servers');
  if (etcdServers.length === 0) errorsFound.push('--etcd-servers must be specified');
  for (const server of etcdServers) if (!/^https?:\/\/[^/]+$/.test(server)) errorsFound.push(`--etcd-servers: invalid URL "${server}"`);
  if (!last('tls-cert-file') !== !last('tls-private-key-file')) errorsFound.push('--tls-cert-file and --tls-private-key-file must both be set');
  if (!last('tls-cert-file')) errorsFound.push('--tls-cert-file is required: kubesim does not generate self-signed serving certificates');
  const issuers = all('service-account-issuer');
  if (issuers.length === 0) errorsFound.push('service-account-issuer is a required flag');
  if (!last('service-account-signing-key-file')) errorsFound.push('service-account-signing-key-file is a required flag');
  const modes = all('authorization-mode');
  for (const mode of modes)
    if (!['AlwaysAllow', 'AlwaysDeny', 'Node', 'RBAC'].includes(mode))
      errorsFound.push(`authorization-mode "${mode}" is not supported by kubesim (supported: AlwaysAllow,AlwaysDeny,Node,RBAC)`);
  for (const plugin of [...all('enable-admission-plugins'), ...all('disable-admission-plugins')]) {
    if (!admissionPlugins.has(plugin)) errorsFound.push(`enable-admission-plugins plugin "${plugin}" is unknown`);
  }
  const cidr = last('service-cluster-ip-range') ?? '10.0.0.0/24';
  try {
    parseCidr(cidr);
  } catch (error) {
    errorsFound.push(`--service-cluster-ip-range: ${(error as Error).message}`);
  }
  const nodePortRange = last('service-node-port-range') ?? '30000-32767';
  try {
    parsePortRange(nodePortRange);
  } catch (error) {
    errorsFound.push(`--service-node-port-range: ${(error as Error).message}`);
  }
  const port = Number(last('secure-port') ?? '6443');
  if (!Number.isInteger(port) || port < 0 || port > 65535) errorsFound.push(`--secure-port ${last('secure-port')} must be between 0 and 65535, inclusive`);
  const reconciler = last('endpoint-reconciler-type');
  if (reconciler && !['master-count', 'lease', 'none'].includes(reconciler)) errorsFound.push(`--endpoint-reconciler-type: invalid value "${reconciler}"`);
  let staticTokens: KubeSimOptions['staticTokens'] = [];
  const tokenFile = file('token-auth-file');
  if (tokenFile !== undefined) {
    try {
      staticTokens = parseTokenAuthFile(tokenFile);
    } catch (error) {
      errorsFound.push(`--token-auth-file: ${(error as Error).message}`);
    }
  }
  let egressSelection: EgressSelection | undefined;
  const egressFile = file('egress-selector-config-file');
  if (egressFile !== undefined) {
    try {
      egressSelection = parseEgressSelectorConfiguration(egressFile);
    } catch (error) {
      if (!(error instanceof EgressConfigError)) throw error;
      errorsFound.push(error.message.startsWith('failed to validate') ? error.message : `failed to read egress selector config: ${error.message}`);
    }
  }
  const addressTypes = all('kubelet-preferred-address-types');
  for (const type of addressTypes)
    if (!['Hostname', 'InternalDNS', 'InternalIP', 'ExternalDNS', 'ExternalIP'].includes(type))
      errorsFound.push(`--kubelet-preferred-address-types: unsupported value "${type}"`);
  const kubeletPort = last('kubelet-port');
  if (kubeletPort !== undefined && !/^\d+$/.test(kubeletPort)) errorsFound.push(`invalid argument "${kubeletPort}" for "--kubelet-port" flag`);
  if (!last('kubelet-client-certificate') !== !last('kubelet-client-key'))
    errorsFound.push('--kubelet-client-certificate and --kubelet-client-key must both be set');
  if (errorsFound.length > 0) throw new FlagError(errorsFound.join('\n'));
  const serviceAccountKeys = all('service-account-key-file').map((p) => files.get(`service-account-key-file:${p}`) as string);
  const signingKey = file('service-account-signing-key-file');
  if (serviceAccountKeys.length === 0 && signingKey) serviceAccountKeys.push(createPublicKey(signingKey).export({ type: 'spki', format: 'pem' }).toString());
  const host = last('bind-address') ?? '0.0.0.0';
  const anonymous = last('anonymous-auth');
  const bootstrapAuth = last('enable-bootstrap-token-auth');
  return {
    port,
    host,
    options: {
      storage: { type: 'etcd', endpoints: etcdServers, caFile: last('etcd-cafile'), certFile: last('etcd-certfile'), keyFile: last('etcd-keyfile') },
      servingCert: file('tls-cert-file') as string,
      servingKey: file('tls-private-key-file') as string,
      clientCA: file('client-ca-file'),
      host,
      port,
      staticTokens,
      serviceAccountKeys,
      serviceAccountIssuers: issuers,
      serviceAccountSigningKey: signingKey,
      apiAudiences: all('api-audiences').length > 0 ? all('api-audiences') : undefined,
      serviceCidr: cidr,
      nodePortRange,
      anonymous: anonymous === undefined ? true : boolValues[anonymous],
      enableBootstrapTokenAuth: bootstrapAuth === undefined ? false : boolValues[bootstrapAuth],
      authorizationModes: modes.length > 0 ? modes : ['AlwaysAllow'],
      kubelet: {
        clientCertPem: file('kubelet-client-certificate'),
        clientKeyPem: file('kubelet-client-key'),
        certificateAuthorityPem: file('kubelet-certificate-authority'),
        ...(addressTypes.length > 0 ? { preferredAddressTypes: addressTypes } : {}),
        ...(kubeletPort !== undefined ? { port: Number(kubeletPort) } : {}),
      },
      ...(egressSelection ? { egressSelection } : {}),
    },
  };
}

interface RolesModule {
  runControllerManager(argv: string[]): Promise<void>;
  runScheduler(argv: string[]): Promise<void>;
}

async function loadRoles(): Promise<RolesModule | undefined> {
  try {
    const path = './controllers/roles.js';
    return (await import(path)) as RolesModule;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes('controllers/roles')) return undefined;
    throw error;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [role, ...rest] = argv;
  if (role === 'kube-apiserver') {
    let config: ApiserverConfig;
    try {
      config = apiserverConfigFromFlags(rest);
    } catch (error) {
      process.stderr.write(`Error: ${(error as Error).message}\n`);
      return 1;
    }
    // Loaded after flag validation so that bad command lines fail fast.
    const { startKubeSim } = await import('./index.js');
    const handle = await startKubeSim(config.options);
    process.stderr.write(
      `kubesim kube-apiserver: serving securely on ${config.host}:${handle.port} (etcd ${config.options.storage?.type === 'etcd' ? config.options.storage.endpoints.join(',') : 'memory'})\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await handle.close();
    return 0;
  }
  if (role === 'kube-controller-manager' || role === 'kube-scheduler') {
    const roles = await loadRoles();
    if (!roles) {
      process.stderr.write(`kubesim: the ${role} role is not available (controllers/roles.js is missing)\n`);
      return 1;
    }
    await (role === 'kube-scheduler' ? roles.runScheduler(rest) : roles.runControllerManager(rest));
    return 0;
  }
  process.stderr.write(`usage: cli.js kube-apiserver|kube-controller-manager|kube-scheduler [flags]\n`);
  return 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
