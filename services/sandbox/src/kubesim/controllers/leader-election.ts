import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isStatus, sleep, type KubeClient, type Logger } from './client.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

const micro = (date: Date): string => date.toISOString().replace('Z', '000Z');

/**
 * client-go leaderelection with a coordination.k8s.io Lease lock: acquire when the lease is
 * free or expired, renew every retry period, and report loss when renewals fail past the
 * renew deadline (the real binaries then exit).
 */
export class LeaderElector {
  readonly identity: string;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly logger: Logger,
  ) {
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name}`;
  }

  /** Resolves once this process holds the lease (or the signal aborts). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      try {
        if (await this.tryAcquireOrRenew()) {
          this.logger.info(`leaderelection: ${this.identity} acquired lease ${this.options.namespace}/${this.options.name}`);
          return true;
        }
      } catch (error) {
        this.logger.error(`leaderelection: ${error instanceof Error ? error.message : String(error)}`);
      }
      await sleep(this.options.retryPeriodMs, signal);
    }
    return false;
  }

  /** Keeps renewing; resolves with "lost" when renewal failed for longer than the renew deadline. */
  async holdUntilLost(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    let lastRenewal = Date.now();
    while (!signal.aborted) {
      await sleep(this.options.retryPeriodMs, signal);
      if (signal.aborted) break;
      try {
        if (await this.tryAcquireOrRenew()) lastRenewal = Date.now();
        else return 'lost';
      } catch (error) {
        this.logger.error(`leaderelection: renew failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (Date.now() - lastRenewal > this.options.renewDeadlineMs) return 'lost';
    }
    return 'stopped';
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const durationSeconds = Math.max(1, Math.round(this.options.leaseDurationMs / 1000));
    const existing = await this.client.getOptional(this.path);
    if (!existing) {
      try {
        await this.client.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.options.name, namespace: this.options.namespace },
          spec: { holderIdentity: this.identity, leaseDurationSeconds: durationSeconds, acquireTime: micro(now), renewTime: micro(now), leaseTransitions: 0 },
        });
        return true;
      } catch (error) {
        if (isStatus(error, 409)) return false;
        throw error;
      }
    }
    const spec = (existing.spec ?? {}) as LeaseSpec;
    const holder = spec.holderIdentity ?? '';
    const renewedAt = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const expired = renewedAt + (spec.leaseDurationSeconds ?? 0) * 1000 < now.getTime();
    if (holder !== '' && holder !== this.identity && !expired) return false;
    const takingOver = holder !== this.identity;
    const next: LeaseSpec = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: micro(now),
      ...(takingOver ? { acquireTime: micro(now), leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === '' ? 0 : 1) } : {}),
    };
    try {
      await this.client.request('PUT', this.path, { ...existing, spec: next });
      return true;
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
  }
}
