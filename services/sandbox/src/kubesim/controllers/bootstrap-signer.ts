import type { KubeObject } from '../contracts.js';
import { secretValue, validBootstrapTokenSecret } from '../auth/bootstrap-token.js';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';
import { computeDetachedSignature } from './jws.js';

export const JWS_KEY_PREFIX = 'jws-kubeconfig-';
const CLUSTER_INFO_PATH = '/api/v1/namespaces/kube-public/configmaps/cluster-info';

/** The jws-kubeconfig-* entries cluster-info should carry for these bootstrap-token Secrets. */
export function desiredSignatures(kubeconfig: string, secrets: KubeObject[], now: Date): Map<string, string> {
  const signatures = new Map<string, string>();
  for (const secret of secrets) {
    const token = validBootstrapTokenSecret(secret, now);
    if (!token || secretValue(secret, 'usage-bootstrap-signing') !== 'true') continue;
    signatures.set(JWS_KEY_PREFIX + token.id, computeDetachedSignature(kubeconfig, token.id, token.secret));
  }
  return signatures;
}

/** pkg/controller/bootstrap/bootstrapsigner.go as an API client. */
export class BootstrapSigner {
  private readonly queue: WorkQueue;
  private readonly secrets: Informer;
  private readonly configMaps: Informer;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.queue = new WorkQueue(() => this.sign(), logger, 'bootstrapsigner');
    const trigger = (): void => this.queue.add('cluster-info');
    this.secrets = new Informer(client, '/api/v1/namespaces/kube-system/secrets', trigger, logger);
    this.configMaps = new Informer(
      client,
      '/api/v1/namespaces/kube-public/configmaps',
      (_event, object) => {
        if (object.metadata.name === 'cluster-info') trigger();
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.secrets.run(signal), this.configMaps.run(signal), this.queue.run(signal), this.periodicResync(signal)]);
  }

  // Expiry changes validity without any watch event, so signatures are re-evaluated periodically.
  private async periodicResync(signal: AbortSignal): Promise<void> {
    await Promise.all([this.secrets.hasSynced(), this.configMaps.hasSynced()]);
    const timer = setInterval(() => this.queue.add('cluster-info'), 5_000);
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    this.queue.add('cluster-info');
  }

  private async sign(): Promise<void> {
    await Promise.all([this.secrets.hasSynced(), this.configMaps.hasSynced()]);
    const cached = this.configMaps.get('kube-public/cluster-info');
    if (!cached) return;
    const data = { ...((cached.data as Record<string, string> | undefined) ?? {}) };
    const kubeconfig = data.kubeconfig;
    if (kubeconfig === undefined) return;
    const desired = desiredSignatures(kubeconfig, this.secrets.items(), this.now());
    let changed = false;
    for (const key of Object.keys(data)) {
      if (key.startsWith(JWS_KEY_PREFIX) && !desired.has(key)) {
        Reflect.deleteProperty(data, key);
        changed = true;
      }
    }
    for (const [key, signature] of desired) {
      if (data[key] !== signature) {
        data[key] = signature;
        changed = true;
      }
    }
    if (!changed) return;
    try {
      await this.client.request('PUT', CLUSTER_INFO_PATH, { ...cached, data });
      this.logger.info(`bootstrapsigner: updated ${CLUSTER_INFO_PATH} with ${desired.size} signature(s)`);
    } catch (error) {
      // A conflict means our cache is stale; the watch delivers the newer object and re-queues.
      if (!isStatus(error, 409)) throw error;
    }
  }
}
