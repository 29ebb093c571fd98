import type { KubeObject } from '../contracts.js';
import { BOOTSTRAP_TOKEN_SECRET_TYPE, bootstrapTokenExpired, secretValue } from '../auth/bootstrap-token.js';
import { isStatus, type KubeClient, type Logger } from './client.js';
import { Informer, WorkQueue } from './informer.js';

/** pkg/controller/bootstrap/tokencleaner.go: deletes expired bootstrap-token Secrets, re-checking at expiry. */
export class TokenCleaner {
  private readonly queue: WorkQueue;
  private readonly secrets: Informer;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.queue = new WorkQueue((key) => this.evaluate(key), logger, 'tokencleaner');
    this.secrets = new Informer(
      client,
      '/api/v1/namespaces/kube-system/secrets',
      (event, object) => {
        if (event !== 'deleted' && object.type === BOOTSTRAP_TOKEN_SECRET_TYPE) this.queue.add(object.metadata.name ?? '');
      },
      logger,
    );
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.secrets.run(signal), this.queue.run(signal)]);
  }

  private async evaluate(name: string): Promise<void> {
    const secret: KubeObject | undefined = this.secrets.get(`kube-system/${name}`);
    if (secret?.type !== BOOTSTRAP_TOKEN_SECRET_TYPE || secret.metadata.deletionTimestamp) return;
    const now = this.now();
    if (bootstrapTokenExpired(secret, now)) {
      try {
        await this.client.request('DELETE', `/api/v1/namespaces/kube-system/secrets/${name}`, {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          preconditions: { uid: secret.metadata.uid },
        });
        this.logger.info(`tokencleaner: deleted expired bootstrap token secret kube-system/${name}`);
      } catch (error) {
        if (!isStatus(error, 404) && !isStatus(error, 409)) throw error;
      }
      return;
    }
    const expiration = secretValue(secret, 'expiration');
    if (expiration) this.queue.addAfter(name, Date.parse(expiration) - now.getTime() + 50);
  }
}
