import { setMaxListeners } from 'node:events';
import { createPrivateKey } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../contracts.js';
import { BootstrapSigner } from './bootstrap-signer.js';
import { ApiError, KubeClient, isStatus, stderrLogger, type Logger } from './client.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { EndpointsController } from './endpoints.js';
import { CsrApprover, CsrController, CsrSigner, loadSigningCa, type SigningCa } from './csr.js';
import { FlagError, flagBool, flagValue, parseDuration, parseFlags, type ParsedFlags } from './flags.js';
import { GarbageCollector } from './garbage-collector.js';
import { startHealthzServer } from './healthz.js';
import { LeaderElector } from './leader-election.js';
import { InformerStoppedError } from './informer.js';
import { NamespaceController } from './namespace.js';
import { NodeLifecycleController } from './node-lifecycle.js';
import { RootCaPublisher, ServiceAccountController } from './namespace-defaults.js';
import { ReplicaSetController } from './replicaset.js';
import { StatefulSetController } from './statefulset.js';
import { Scheduler } from './scheduler.js';
import { TokenCleaner } from './token-cleaner.js';

/** The controllers kubesim implements, by their kube-controller-manager names. */
export type ControllerName =
  | 'namespace'
  | 'garbagecollector'
  | 'bootstrapsigner'
  | 'tokencleaner'
  | 'csrapproving'
  | 'csrsigning'
  | 'nodelifecycle'
  | 'serviceaccount'
  | 'root-ca-cert-publisher'
  | 'deployment'
  | 'replicaset'
  | 'statefulset'
  | 'daemonset'
  | 'endpoint';

/** The controllers that turn workloads into Pods and Services into Endpoints (the process kubelet runs the Pods). */
export const WORKLOAD_CONTROLLERS: ControllerName[] = ['deployment', 'replicaset', 'statefulset', 'daemonset', 'endpoint'];

const IMPLEMENTED: Record<string, ControllerName> = {
  namespace: 'namespace',
  'namespace-controller': 'namespace',
  garbagecollector: 'garbagecollector',
  'garbage-collector-controller': 'garbagecollector',
  bootstrapsigner: 'bootstrapsigner',
  'bootstrap-signer-controller': 'bootstrapsigner',
  tokencleaner: 'tokencleaner',
  'token-cleaner-controller': 'tokencleaner',
  csrapproving: 'csrapproving',
  'certificatesigningrequest-approving-controller': 'csrapproving',
  csrsigning: 'csrsigning',
  'certificatesigningrequest-signing-controller': 'csrsigning',
  nodelifecycle: 'nodelifecycle',
  'node-lifecycle-controller': 'nodelifecycle',
  serviceaccount: 'serviceaccount',
  'serviceaccount-controller': 'serviceaccount',
  'root-ca-cert-publisher': 'root-ca-cert-publisher',
  'root-ca-certificate-publisher-controller': 'root-ca-cert-publisher',
  deployment: 'deployment',
  'deployment-controller': 'deployment',
  replicaset: 'replicaset',
  'replicaset-controller': 'replicaset',
  statefulset: 'statefulset',
  'statefulset-controller': 'statefulset',
  daemonset: 'daemonset',
  'daemonset-controller': 'daemonset',
  endpoint: 'endpoint',
  'endpoints-controller': 'endpoint',
};

// Known to the real binary but not simulated here; naming them is valid and does nothing.
const OTHER_KNOWN = new Set([
  'attachdetach',
  'cloud-node-lifecycle',
  'clusterrole-aggregation',
  'cronjob',
  'csrcleaner',
  'disruption',
  'endpointslice',
  'endpointslicemirroring',
  'ephemeral-volume',
  'horizontalpodautoscaling',
  'job',
  'legacy-service-account-token-cleaner',
  'nodeipam',
  'persistentvolume-binder',
  'persistentvolume-expander',
  'podgc',
  'pv-protection',
  'pvc-protection',
  'replicationcontroller',
  'resource-claim-controller',
  'resourcequota',
  'route',
  'service',
  'serviceaccount-token',
  'ttl',
  'ttl-after-finished',
  'storage-version-gc',
  'service-lb-controller',
  'node-route-controller',
  'taint-eviction-controller',
  'validatingadmissionpolicy-status-controller',
  'service-cidr-controller',
  'storageversion-garbage-collector',
  'selinux-warning-controller',
  'kube-apiserver-serving-clustertrustbundle-publisher-controller',
  'device-taint-eviction-controller',
]);
const POD_CREATORS = new Set<ControllerName>(['replicaset', 'statefulset', 'daemonset']);
const DISABLED_BY_DEFAULT = new Set<ControllerName>(['bootstrapsigner', 'tokencleaner']);
const ALL_CONTROLLERS: ControllerName[] = [
  'namespace',
  'garbagecollector',
  'bootstrapsigner',
  'tokencleaner',
  'csrapproving',
  'csrsigning',
  'nodelifecycle',
  'serviceaccount',
  'root-ca-cert-publisher',
  ...WORKLOAD_CONTROLLERS,
];

/** --controllers semantics: "*" enables the default set, "name" enables, "-name" disables. */
export function resolveControllers(value: string): ControllerName[] {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const star = entries.includes('*');
  const enabled = new Set<ControllerName>();
  const disabled = new Set<ControllerName>();
  for (const entry of entries) {
    if (entry === '*') continue;
    const negated = entry.startsWith('-');
    const name = negated ? entry.slice(1) : entry;
    const implemented = IMPLEMENTED[name];
    if (!implemented && !OTHER_KNOWN.has(name) && !OTHER_KNOWN.has(name.replace(/-controller$/, ''))) {
      throw new FlagError(`"${name}" is not in the list of known controllers`);
    }
    if (!implemented) continue;
    (negated ? disabled : enabled).add(implemented);
  }
  return ALL_CONTROLLERS.filter((name) => !disabled.has(name) && (enabled.has(name) || (star && !DISABLED_BY_DEFAULT.has(name))));
}

// Service accounts the real controller manager uses per controller with --use-service-account-credentials.
const CONTROLLER_ACCOUNTS: Record<ControllerName, string> = {
  namespace: 'namespace-controller',
  garbagecollector: 'generic-garbage-collector',
  bootstrapsigner: 'bootstrap-signer',
  tokencleaner: 'token-cleaner',
  csrapproving: 'certificate-controller',
  csrsigning: 'certificate-controller',
  nodelifecycle: 'node-controller',
  serviceaccount: 'service-account-controller',
  'root-ca-cert-publisher': 'root-ca-cert-publisher',
  deployment: 'deployment-controller',
  replicaset: 'replicaset-controller',
  statefulset: 'statefulset-controller',
  daemonset: 'daemon-set-controller',
  endpoint: 'endpoint-controller',
};

export interface ControllerOptions {
  /** How long stopping waits for controllers to wind down before it returns anyway (default 5 s). */
  shutdownGraceMs?: number;
  /** Controllers to run; defaults to the kube-controller-manager default set (no bootstrapsigner/tokencleaner). */
  controllers?: ControllerName[];
  /** PEM of the cluster signing CA; csrsigning is skipped without it. */
  clusterSigningCertPem?: string;
  clusterSigningKeyPem?: string;
  /** --root-ca-file contents; root-ca-cert-publisher is skipped without it. */
  rootCaPem?: string;
  /** --cluster-signing-duration in seconds (default one year). */
  clusterSigningDurationSeconds?: number;
  nodeMonitorGracePeriodMs?: number;
  nodeMonitorPeriodMs?: number;
  garbageCollectorIntervalMs?: number;
  /**
   * Also run kube-scheduler in this process, with the node lifecycle controller it depends on (it
   * lifts the not-ready taint TaintNodesByCondition puts on every new Node, the process
   * kubelet's included). Default: on when a controller that creates Pods (replicaset,
   * statefulset, daemonset) runs, since in-process callers are seeds (kubesim and a process
   * kubelet) whose Pods need binding. The kube-controller-manager binary passes false: a tenant
   * runs kube-scheduler as its own binary.
   */
  scheduler?: boolean;
  /** --use-service-account-credentials: each controller authenticates as its own kube-system service account. */
  useServiceAccountCredentials?: boolean;
  /** --service-account-private-key-file contents: signs legacy service-account tokens when TokenRequest is not served. */
  serviceAccountPrivateKeyPem?: string;
  logger?: Logger;
}

function loadKubeConfig(kubeconfig: string | KubeConfig): KubeConfig {
  if (typeof kubeconfig !== 'string') return kubeconfig;
  const loaded = new KubeConfig();
  loaded.loadFromFile(kubeconfig);
  return loaded;
}

async function ensureServiceAccount(root: KubeClient, account: string): Promise<KubeObject> {
  const path = `/api/v1/namespaces/kube-system/serviceaccounts/${account}`;
  const existing = await root.getOptional(path);
  if (existing) return existing;
  try {
    return await root.request<KubeObject>('POST', '/api/v1/namespaces/kube-system/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: account, namespace: 'kube-system' },
    });
  } catch (error) {
    if (!isStatus(error, 409)) throw error;
    return root.get(path);
  }
}

/** Requests short-lived tokens for a controller's service account (TokenRequest), renewing at 80% of their life. */
function boundTokenSource(root: KubeClient, account: string, logger: Logger): () => Promise<string> {
  let cached: { token: string; refreshAt: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    await ensureServiceAccount(root, account);
    const expirationSeconds = 3600;
    const review = await root.request<{ status?: { token?: string } }>('POST', `/api/v1/namespaces/kube-system/serviceaccounts/${account}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds },
    });
    const token = review.status?.token;
    if (!token) throw new Error(`TokenRequest for kube-system/${account} returned no token`);
    cached = { token, refreshAt: Date.now() + expirationSeconds * 800 };
    logger.info(`obtained a token for service account kube-system/${account}`);
    return token;
  };
}

/**
 * What the serviceaccount-token controller does with --service-account-private-key-file: a
 * kubernetes.io/service-account-token Secret and a legacy (non-expiring) token signed for it.
 * Used when the API server does not serve TokenRequest.
 */
function legacyTokenSource(root: KubeClient, account: string, signingKeyPem: string, logger: Logger): () => Promise<string> {
  let cached: string | undefined;
  return async () => {
    if (cached) return cached;
    const serviceAccount = await ensureServiceAccount(root, account);
    const uid = serviceAccount.metadata.uid ?? '';
    const secretName = `${account}-token`;
    const secretPath = `/api/v1/namespaces/kube-system/secrets/${secretName}`;
    const secret = await root.getOptional(secretPath);
    const stored = (secret?.data as Record<string, string> | undefined)?.token;
    if (secret && stored && secret.metadata.annotations?.['kubernetes.io/service-account.uid'] === uid) {
      cached = Buffer.from(stored, 'base64').toString('utf8');
      return cached;
    }
    const key = createPrivateKey(signingKeyPem);
    const alg =
      key.asymmetricKeyType === 'ec'
        ? ({ prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' } as Record<string, string>)[key.asymmetricKeyDetails?.namedCurve ?? '']
        : 'RS256';
    if (!alg) throw new Error('--service-account-private-key-file: unsupported key');
    const token = await new SignJWT({
      'kubernetes.io/serviceaccount/namespace': 'kube-system',
      'kubernetes.io/serviceaccount/secret.name': secretName,
      'kubernetes.io/serviceaccount/service-account.name': account,
      'kubernetes.io/serviceaccount/service-account.uid': uid,
    })
      .setProtectedHeader({ alg })
      .setIssuer('kubernetes/serviceaccount')
      .setSubject(`system:serviceaccount:kube-system:${account}`)
      .sign(key);
    if (secret) await root.request('DELETE', secretPath);
    await root.request('POST', '/api/v1/namespaces/kube-system/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: {
        name: secretName,
        namespace: 'kube-system',
        annotations: { 'kubernetes.io/service-account.name': account, 'kubernetes.io/service-account.uid': uid },
      },
      data: { token: Buffer.from(token).toString('base64'), namespace: Buffer.from('kube-system').toString('base64') },
    });
    logger.info(`signed a service-account token for kube-system/${account}`);
    cached = token;
    return cached;
  };
}

/**
 * Runs the chosen controllers against the API server of a kubeconfig (path or loaded object),
 * in this process. Resolves once they are started; the returned function stops them.
 */
export async function startControllers(kubeconfig: string | KubeConfig, options: ControllerOptions = {}): Promise<() => Promise<void>> {
  const logger = options.logger ?? stderrLogger(0);
  const root = await KubeClient.fromKubeConfig(loadKubeConfig(kubeconfig));
  const names = options.controllers ?? resolveControllers('*');
  let tokenSourceFor: ((account: string) => () => Promise<string>) | undefined;
  if (options.useServiceAccountCredentials && names.length > 0) {
    tokenSourceFor = (account) => boundTokenSource(root, account, logger);
    try {
      await boundTokenSource(root, CONTROLLER_ACCOUNTS[names[0]], logger)();
    } catch (error) {
      if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 405)) throw error;
      const signingKey = options.serviceAccountPrivateKeyPem;
      if (signingKey) {
        logger.info(`TokenRequest is not served (${error.message}); using legacy service-account token Secrets`);
        tokenSourceFor = (account) => legacyTokenSource(root, account, signingKey, logger);
      } else {
        // Without TokenRequest and without a signing key the flag cannot be honoured; say so loudly.
        logger.error(
          `--use-service-account-credentials: TokenRequest is not served and no --service-account-private-key-file; controllers use the kubeconfig identity`,
        );
        tokenSourceFor = undefined;
      }
    }
  }
  const tokenSources = new Map<string, () => Promise<string>>();
  const clientFor = (name: ControllerName): KubeClient => {
    if (!tokenSourceFor) return root;
    const account = CONTROLLER_ACCOUNTS[name];
    let tokenSource = tokenSources.get(account);
    if (!tokenSource) {
      tokenSource = tokenSourceFor(account);
      tokenSources.set(account, tokenSource);
    }
    return root.withBearerToken(tokenSource);
  };
  let signingCa: SigningCa | undefined;
  if (names.includes('csrsigning') && options.clusterSigningCertPem && options.clusterSigningKeyPem) {
    signingCa = await loadSigningCa(options.clusterSigningCertPem, options.clusterSigningKeyPem);
  }
  const runners: Array<{ name: string; run: (signal: AbortSignal) => Promise<void> }> = [];
  for (const name of names) {
    const client = clientFor(name);
    switch (name) {
      case 'namespace': {
        const controller = new NamespaceController(client, logger);
        runners.push({ name: 'namespace', run: (signal) => controller.run(signal) });
        break;
      }
      case 'garbagecollector': {
        const controller = new GarbageCollector(client, logger, options.garbageCollectorIntervalMs);
        runners.push({ name: 'garbagecollector', run: (signal) => controller.run(signal) });
        break;
      }
      case 'bootstrapsigner': {
        const controller = new BootstrapSigner(client, logger);
        runners.push({ name: 'bootstrapsigner', run: (signal) => controller.run(signal) });
        break;
      }
      case 'tokencleaner': {
        const controller = new TokenCleaner(client, logger);
        runners.push({ name: 'tokencleaner', run: (signal) => controller.run(signal) });
        break;
      }
      case 'nodelifecycle': {
        const controller = new NodeLifecycleController(client, logger, {
          gracePeriodMs: options.nodeMonitorGracePeriodMs ?? 40_000,
          monitorPeriodMs: options.nodeMonitorPeriodMs ?? 5_000,
        });
        runners.push({ name: 'nodelifecycle', run: (signal) => controller.run(signal) });
        break;
      }
      case 'serviceaccount': {
        const controller = new ServiceAccountController(client, logger);
        runners.push({ name: 'serviceaccount', run: (signal) => controller.run(signal) });
        break;
      }
      case 'root-ca-cert-publisher': {
        if (!options.rootCaPem) break;
        const controller = new RootCaPublisher(client, options.rootCaPem, logger);
        runners.push({ name: 'root-ca-cert-publisher', run: (signal) => controller.run(signal) });
        break;
      }
      case 'deployment': {
        const controller = new DeploymentController(client, logger);
        runners.push({ name, run: (signal) => controller.run(signal) });
        break;
      }
      case 'replicaset': {
        const controller = new ReplicaSetController(client, logger);
        runners.push({ name, run: (signal) => controller.run(signal) });
        break;
      }
      case 'statefulset': {
        const controller = new StatefulSetController(client, logger);
        runners.push({ name, run: (signal) => controller.run(signal) });
        break;
      }
      case 'daemonset': {
        const controller = new DaemonSetController(client, logger);
        runners.push({ name, run: (signal) => controller.run(signal) });
        break;
      }
      case 'endpoint': {
        const controller = new EndpointsController(client, logger);
        runners.push({ name, run: (signal) => controller.run(signal) });
        break;
      }
      case 'csrapproving':
      case 'csrsigning':
        break;
    }
  }
  const schedules = options.scheduler ?? names.some((name) => POD_CREATORS.has(name));
  if (schedules) {
    const scheduler = new Scheduler(root, logger);
    runners.push({ name: 'scheduler', run: (signal) => scheduler.run(signal) });
    if (!names.includes('nodelifecycle')) {
      const controller = new NodeLifecycleController(clientFor('nodelifecycle'), logger, {
        gracePeriodMs: options.nodeMonitorGracePeriodMs ?? 40_000,
        monitorPeriodMs: options.nodeMonitorPeriodMs ?? 5_000,
      });
      runners.push({ name: 'nodelifecycle', run: (signal) => controller.run(signal) });
    }
  }
  const approving = names.includes('csrapproving');
  if (approving || signingCa) {
    const approver = approving ? new CsrApprover(clientFor('csrapproving'), logger) : undefined;
    const signer = signingCa ? new CsrSigner(clientFor('csrsigning'), signingCa, logger, options.clusterSigningDurationSeconds) : undefined;
    const controller = new CsrController(clientFor(approving ? 'csrapproving' : 'csrsigning'), approver, signer, logger);
    runners.push({ name: 'csr', run: (signal) => controller.run(signal) });
  }
  const abort = new AbortController();
  // Every informer and watch listens on the same signal.
  setMaxListeners(0, abort.signal);
  const stillRunning = new Set<string>();
  const running = runners.map(({ name, run }) => {
    stillRunning.add(name);
    return run(abort.signal)
      .catch((error: unknown) => {
        // Stopped while its caches were still filling: that is a shutdown, not a failure.
        if (error instanceof InformerStoppedError && abort.signal.aborted) return;
        logger.error(`controller ${name} stopped: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => stillRunning.delete(name));
  });
  return async () => {
    abort.abort();
    // The real binary cancels its controllers' context and exits; it does not wait for a
    // request in flight to a slow apiserver. Give them a moment to finish cleanly, then go.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.shutdownGraceMs ?? 5_000)));
    const outcome = await Promise.race([Promise.all(running), grace]).finally(() => clearTimeout(timer));
    if (outcome === 'timeout') logger.info(`shutdown: controllers still busy after the grace period, leaving them: ${[...stillRunning].join(', ')}`);
  };
}

const COMMON_VALUE_FLAGS = [
  'kubeconfig',
  'authentication-kubeconfig',
  'authorization-kubeconfig',
  'bind-address',
  'secure-port',
  'cert-dir',
  'tls-cert-file',
  'tls-private-key-file',
  'tls-cipher-suites',
  'tls-min-version',
  'tls-sni-cert-key',
  'client-ca-file',
  'requestheader-client-ca-file',
  'requestheader-allowed-names',
  'requestheader-extra-headers-prefix',
  'requestheader-group-headers',
  'requestheader-username-headers',
  'requestheader-uid-headers',
  'authorization-always-allow-paths',
  'authentication-token-webhook-cache-ttl',
  'authorization-webhook-cache-authorized-ttl',
  'authorization-webhook-cache-unauthorized-ttl',
  'v',
  'vmodule',
  'logging-format',
  'log-flush-frequency',
  'log-text-info-buffer-size',
  'log-json-info-buffer-size',
  'feature-gates',
  'kube-api-qps',
  'kube-api-burst',
  'kube-api-content-type',
  'leader-elect-lease-duration',
  'leader-elect-renew-deadline',
  'leader-elect-retry-period',
  'leader-elect-resource-lock',
  'leader-elect-resource-name',
  'leader-elect-resource-namespace',
  'master',
  'http2-max-streams-per-connection',
  'show-hidden-metrics-for-version',
  'allow-metric-labels',
  'allow-metric-labels-manifest',
  'disabled-metrics',
  'emulated-version',
  'permit-address-sharing',
  'permit-port-sharing',
];
const COMMON_BOOL_FLAGS = [
  'leader-elect',
  'profiling',
  'contention-profiling',
  'authentication-skip-lookup',
  'authentication-tolerate-lookup-failure',
  'help',
  'version',
  'log-text-split-stream',
  'log-json-split-stream',
];

const CONTROLLER_MANAGER_FLAGS = {
  booleans: new Set([
    ...COMMON_BOOL_FLAGS,
    'allocate-node-cidrs',
    'use-service-account-credentials',
    'configure-cloud-routes',
    'enable-dynamic-provisioning',
    'enable-garbage-collector',
    'enable-hostpath-provisioner',
    'disable-attach-detach-reconcile-sync',
    'enable-leader-migration',
  ]),
  values: new Set([
    ...COMMON_VALUE_FLAGS,
    'controllers',
    'cluster-cidr',
    'cluster-name',
    'cluster-signing-cert-file',
    'cluster-signing-key-file',
    'cluster-signing-duration',
    'cluster-signing-kubelet-client-cert-file',
    'cluster-signing-kubelet-client-key-file',
    'cluster-signing-kubelet-serving-cert-file',
    'cluster-signing-kubelet-serving-key-file',
    'cluster-signing-kube-apiserver-client-cert-file',
    'cluster-signing-kube-apiserver-client-key-file',
    'cluster-signing-legacy-unknown-cert-file',
    'cluster-signing-legacy-unknown-key-file',
    'root-ca-file',
    'service-account-private-key-file',
    'service-cluster-ip-range',
    'node-cidr-mask-size',
    'node-cidr-mask-size-ipv4',
    'node-cidr-mask-size-ipv6',
    'node-monitor-grace-period',
    'node-monitor-period',
    'node-startup-grace-period',
    'node-eviction-rate',
    'secondary-node-eviction-rate',
    'large-cluster-size-threshold',
    'unhealthy-zone-threshold',
    'cloud-provider',
    'cloud-config',
    'external-cloud-volume-plugin',
    'concurrent-deployment-syncs',
    'concurrent-replicaset-syncs',
    'concurrent-namespace-syncs',
    'concurrent-gc-syncs',
    'concurrent-service-syncs',
    'concurrent-serviceaccount-token-syncs',
    'concurrent-statefulset-syncs',
    'concurrent-endpoint-syncs',
    'concurrent-rc-syncs',
    'concurrent-resource-quota-syncs',
    'concurrent-job-syncs',
    'concurrent-cron-job-syncs',
    'concurrent-daemonset-syncs',
    'concurrent-horizontal-pod-autoscaler-syncs',
    'concurrent-ttl-after-finished-syncs',
    'concurrent-service-endpoint-syncs',
    'terminated-pod-gc-threshold',
    'horizontal-pod-autoscaler-sync-period',
    'flex-volume-plugin-dir',
    'min-resync-period',
    'attach-detach-reconcile-sync-period',
    'route-reconciliation-period',
    'controller-start-interval',
    'leader-migration-config',
    'pv-recycler-minimum-timeout-nfs',
    'pv-recycler-increment-timeout-nfs',
    'pv-recycler-pod-template-filepath-nfs',
    'pv-recycler-minimum-timeout-hostpath',
    'pv-recycler-pod-template-filepath-hostpath',
    'pv-recycler-timeout-increment-hostpath',
    'namespace-sync-period',
    'resource-quota-sync-period',
    'node-sync-period',
    'mirroring-concurrent-service-endpoint-syncs',
    'mirroring-max-endpoints-per-subset',
    'max-endpoints-per-slice',
    'endpoint-updates-batch-period',
    'endpointslice-updates-batch-period',
    'legacy-service-account-token-clean-up-period',
    'cidr-allocator-type',
  ]),
  shorthands: { v: 'v' },
};

const SCHEDULER_FLAGS = {
  booleans: new Set(COMMON_BOOL_FLAGS),
  values: new Set([...COMMON_VALUE_FLAGS, 'config', 'write-config-to', 'pod-max-in-unschedulable-pods-duration']),
  shorthands: { v: 'v' },
};

function requireReadable(flags: ParsedFlags, names: string[]): void {
  for (const name of names) {
    const path = flagValue(flags, name);
    if (path === undefined || path === '') continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      throw new FlagError(`--${name}: cannot read "${path}": ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function loadRequiredKubeConfig(flags: ParsedFlags, binary: string): KubeConfig {
  const path = flagValue(flags, 'kubeconfig');
  if (!path) throw new FlagError(`${binary}: --kubeconfig is required (in-cluster configuration is not available)`);
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(path);
  } catch (error) {
    throw new FlagError(`invalid configuration: --kubeconfig ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!kubeConfig.getCurrentCluster()) throw new FlagError(`invalid configuration: no current cluster in ${path}`);
  return kubeConfig;
}

function durationFlag(flags: ParsedFlags, name: string, fallbackMs: number): number {
  const value = flagValue(flags, name);
  return value === undefined ? fallbackMs : parseDuration(name, value);
}

function portFlag(flags: ParsedFlags, fallback: number): number {
  const value = flagValue(flags, 'secure-port') ?? String(fallback);
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FlagError(`invalid argument "${value}" for "--secure-port" flag`);
  return port;
}

/** The version the simulated binaries report, matching the kubectl installed alongside. */
const KUBERNETES_VERSION = 'v1.32.0';

interface RoleRuntime {
  binary: string;
  flags: ParsedFlags;
  defaultPort: number;
  leaseName: string;
  run: (kubeConfig: KubeConfig, logger: Logger) => Promise<() => Promise<void>>;
}

/** Shared main loop: healthz serving, optional leader election, SIGTERM handling, fatal exits. */
async function runRole(runtime: RoleRuntime): Promise<void> {
  const { flags, binary } = runtime;
  if (flagBool(flags, 'version', false)) {
    process.stdout.write(`Kubernetes ${KUBERNETES_VERSION}\n`);
    return;
  }
  if (flagBool(flags, 'help', false)) {
    process.stdout.write(
      `Usage:\n  ${binary} [flags]\n\nkubesim's ${binary}: a simulated control-plane component speaking to any API server through --kubeconfig.\n`,
    );
    return;
  }
  const verbosity = Number(flagValue(flags, 'v') ?? '0');
  const logger = stderrLogger(Number.isFinite(verbosity) ? verbosity : 0);
  const kubeConfig = loadRequiredKubeConfig(flags, binary);
  for (const name of ['authentication-kubeconfig', 'authorization-kubeconfig']) {
    const path = flagValue(flags, name);
    if (path) {
      try {
        new KubeConfig().loadFromFile(path);
      } catch (error) {
        throw new FlagError(`--${name} ${path}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  const leaderElect = flagBool(flags, 'leader-elect', true);
  const leaseDurationMs = durationFlag(flags, 'leader-elect-lease-duration', 15_000);
  const renewDeadlineMs = durationFlag(flags, 'leader-elect-renew-deadline', 10_000);
  const retryPeriodMs = durationFlag(flags, 'leader-elect-retry-period', 2_000);
  const lock = flagValue(flags, 'leader-elect-resource-lock') ?? 'leases';
  if (lock !== 'leases') throw new FlagError(`--leader-elect-resource-lock=${lock}: only "leases" is supported by this version`);
  const port = portFlag(flags, runtime.defaultPort);
  const tlsCert = flagValue(flags, 'tls-cert-file');
  const tlsKey = flagValue(flags, 'tls-private-key-file');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new FlagError('--tls-cert-file and --tls-private-key-file must be given together');

  let healthy = true;
  // As on the real binaries, --secure-port=0 turns serving off.
  const serving =
    port === 0
      ? undefined
      : await startHealthzServer({
          bindAddress: flagValue(flags, 'bind-address') ?? '0.0.0.0',
          port,
          ...(tlsCert && tlsKey ? { certPem: readFileSync(tlsCert, 'utf8'), keyPem: readFileSync(tlsKey, 'utf8') } : {}),
          selfSignedName: binary,
          healthy: () => healthy,
        });
  logger.info(`${binary}: serving securely on ${flagValue(flags, 'bind-address') ?? '0.0.0.0'}:${serving?.port ?? 0}`);

  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const onSignal = (): void => abort.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let stop: (() => Promise<void>) | undefined;
  try {
    const root = await KubeClient.fromKubeConfig(kubeConfig);
    const elector = leaderElect
      ? new LeaderElector(
          root,
          {
            namespace: flagValue(flags, 'leader-elect-resource-namespace') ?? 'kube-system',
            name: flagValue(flags, 'leader-elect-resource-name') ?? runtime.leaseName,
            leaseDurationMs,
            renewDeadlineMs,
            retryPeriodMs,
          },
          logger,
        )
      : undefined;
    if (elector && !(await elector.acquire(abort.signal))) return;
    stop = await runtime.run(kubeConfig, logger);
    if (elector) {
      const outcome = await elector.holdUntilLost(abort.signal);
      if (outcome === 'lost') {
        healthy = false;
        process.stderr.write(`F ${new Date().toISOString()} leaderelection lost\n`);
        await stop();
        stop = undefined;
        await serving?.close();
        process.exit(1);
      }
    } else {
      await new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await stop?.();
    await serving?.close();
  }
}

function fatal(binary: string, error: unknown): never {
  const message = error instanceof ApiError || error instanceof FlagError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`Error: ${message}\n`);
  if (error instanceof FlagError) process.stderr.write(`Run '${binary} --help' for usage.\n`);
  process.exit(1);
}

/** kube-controller-manager: runs until SIGTERM/SIGINT; exits non-zero on bad flags, unreadable files or lost leadership. */
export async function runControllerManager(argv: string[]): Promise<void> {
  const binary = 'kube-controller-manager';
  try {
    const flags = parseFlags(argv, CONTROLLER_MANAGER_FLAGS);
    requireReadable(flags, [
      'kubeconfig',
      'authentication-kubeconfig',
      'authorization-kubeconfig',
      'cluster-signing-cert-file',
      'cluster-signing-key-file',
      'root-ca-file',
      'service-account-private-key-file',
      'client-ca-file',
      'requestheader-client-ca-file',
      'tls-cert-file',
      'tls-private-key-file',
      'cluster-signing-kubelet-client-cert-file',
      'cluster-signing-kubelet-client-key-file',
    ]);
    const controllers = resolveControllers(flagValue(flags, 'controllers') ?? '*');
    const certFile = flagValue(flags, 'cluster-signing-kubelet-client-cert-file') ?? flagValue(flags, 'cluster-signing-cert-file');
    const keyFile = flagValue(flags, 'cluster-signing-kubelet-client-key-file') ?? flagValue(flags, 'cluster-signing-key-file');
    if ((certFile === undefined) !== (keyFile === undefined))
      throw new FlagError('--cluster-signing-cert-file and --cluster-signing-key-file must be given together');
    const signingCertPem = certFile ? readFileSync(certFile, 'utf8') : undefined;
    const signingKeyPem = keyFile ? readFileSync(keyFile, 'utf8') : undefined;
    if (signingCertPem && signingKeyPem) await loadSigningCa(signingCertPem, signingKeyPem);
    const durationMs = durationFlag(flags, 'cluster-signing-duration', 365 * 24 * 3_600_000);
    const options: ControllerOptions = {
      controllers,
      scheduler: false,
      ...(signingCertPem && signingKeyPem ? { clusterSigningCertPem: signingCertPem, clusterSigningKeyPem: signingKeyPem } : {}),
      clusterSigningDurationSeconds: Math.floor(durationMs / 1000),
      nodeMonitorGracePeriodMs: durationFlag(flags, 'node-monitor-grace-period', 40_000),
      nodeMonitorPeriodMs: durationFlag(flags, 'node-monitor-period', 5_000),
      useServiceAccountCredentials: flagBool(flags, 'use-service-account-credentials', false),
    };
    const rootCaFile = flagValue(flags, 'root-ca-file');
    if (rootCaFile) options.rootCaPem = readFileSync(rootCaFile, 'utf8');
    const saKeyFile = flagValue(flags, 'service-account-private-key-file');
    if (saKeyFile) options.serviceAccountPrivateKeyPem = readFileSync(saKeyFile, 'utf8');
    await runRole({
      binary,
      flags,
      defaultPort: 10257,
      leaseName: 'kube-controller-manager',
      run: (kubeConfig, logger) => startControllers(kubeConfig, { ...options, logger }),
    });
  } catch (error) {
    fatal(binary, error);
  }
}

/** kube-scheduler: binds pending pods to nodes; same lifecycle rules as the controller manager. */
export async function runScheduler(argv: string[]): Promise<void> {
  const binary = 'kube-scheduler';
  try {
    const flags = parseFlags(argv, SCHEDULER_FLAGS);
    requireReadable(flags, [
      'kubeconfig',
      'authentication-kubeconfig',
      'authorization-kubeconfig',
      'client-ca-file',
      'requestheader-client-ca-file',
      'tls-cert-file',
      'tls-private-key-file',
      'config',
    ]);
    if (flagValue(flags, 'config')) throw new FlagError('--config (KubeSchedulerConfiguration) is not supported by kubesim; use flags');
    await runRole({
      binary,
      flags,
      defaultPort: 10259,
      leaseName: 'kube-scheduler',
      run: async (kubeConfig, logger) => {
        const scheduler = new Scheduler(await KubeClient.fromKubeConfig(kubeConfig), logger);
        const abort = new AbortController();
        const running = scheduler.run(abort.signal);
        return async () => {
          abort.abort();
          // Stopped before its caches synced: a shutdown, not a failure.
          await running.catch((error: unknown) => {
            if (!(error instanceof InformerStoppedError)) throw error;
          });
        };
      },
    });
  } catch (error) {
    fatal(binary, error);
  }
}
