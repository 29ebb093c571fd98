// How the worker reaches a provider account: which endpoint answers for it, and the shared
// request budget that keeps one account under its provider's API rate limit. The sandbox
// replaces the endpoint resolver with its simulators; production uses the configured overrides
// or the real clouds.
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from './tokens.js';
import type { AppConfig } from './config.js';
import { RedisCloudRequestLimiter } from './cloud-rate-limiter.js';
import type { CloudCredentials } from '../../clouds/src/providers/index.js';

/** An opened provider credential: what its provider definition sealed, tagged with the provider. */
export type CloudAccountCredentials = CloudCredentials;

export interface CloudEndpointResolver {
  /** The API base URL for this account, or undefined for the provider's real endpoint. */
  endpointFor(credentials: CloudAccountCredentials): Promise<string | undefined>;
}

/** Throttles cloud API requests per provider account across every worker replica. */
export interface CloudRequestLimiter {
  /** Resolves when one more request for `accountKey` may be sent. */
  acquire(accountKey: string): Promise<void>;
}

@Injectable()
export class CloudAccess {
  private resolver: CloudEndpointResolver;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    /** Pass it to createCloudDriver as `rateLimiter: { limiter, accountKey: credentialId }`. */
    readonly requestLimiter: RedisCloudRequestLimiter,
  ) {
    this.resolver = {
      endpointFor: async (credentials) => config.clouds.endpoints[credentials.provider],
    };
  }

  /** The embedded sandbox calls this at start-up to stand its simulators in for the clouds. */
  useEndpointResolver(resolver: CloudEndpointResolver): void {
    this.resolver = resolver;
  }

  endpointFor(credentials: CloudAccountCredentials): Promise<string | undefined> {
    return this.resolver.endpointFor(credentials);
  }
}
