// Entry point for the worker: build one isolated driver per project's stored cloud credentials.
import { Ec2Driver, type AwsCredentials } from './aws/ec2-driver.js';
import { DropletDriver, type DigitalOceanCredentials } from './digitalocean/droplet-driver.js';
import type { CloudDriver } from './driver.js';
import type { CloudRequestBudget } from './request-budget.js';
import { resolveRetryPolicy, type RetryPolicy } from './retry.js';

export type CloudCredentials = ({ provider: 'aws' } & AwsCredentials) | ({ provider: 'digitalocean' } & DigitalOceanCredentials);

export interface CloudDriverOptions {
  /** Overrides the provider endpoint (the simulators stand in here). */
  endpoint?: string;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
  aws?: { subnetId?: string; securityGroupIds?: string[]; imageCacheTtlMs?: number };
  /** Every HTTP request the driver sends (each retry included) waits for this account's budget first. */
  rateLimiter?: CloudRequestBudget;
}

/** Every call returns a new driver with its own HTTP client, credentials and endpoint; nothing is shared. */
export function createCloudDriver(credentials: CloudCredentials, options: CloudDriverOptions = {}): CloudDriver {
  const retry = resolveRetryPolicy(options.retry);
  switch (credentials.provider) {
    case 'aws':
      return new Ec2Driver(credentials, {
        endpoint: options.endpoint,
        retry,
        requestTimeoutMs: options.requestTimeoutMs,
        subnetId: options.aws?.subnetId,
        securityGroupIds: options.aws?.securityGroupIds,
        imageCacheTtlMs: options.aws?.imageCacheTtlMs,
        rateLimiter: options.rateLimiter,
      });
    case 'digitalocean':
      return new DropletDriver(credentials, { endpoint: options.endpoint, retry, requestTimeoutMs: options.requestTimeoutMs, rateLimiter: options.rateLimiter });
    default: {
      const unknownProvider: never = credentials;
      throw new Error(`unsupported cloud provider ${JSON.stringify(unknownProvider)}`);
    }
  }
}

export * from './driver.js';
export {
  backoffDelay,
  classifyAwsError,
  classifyDigitalOceanError,
  CloudError,
  DEFAULT_RETRY_POLICY,
  isThrottlingCloudError,
  isUnrecoverableCloudError,
  TransientCloudError,
  UnrecoverableCloudError,
  withRetry,
  type RetryPolicy,
} from './retry.js';
export { acquireRequestSlot, type CloudRequestBudget } from './request-budget.js';
export { clientTokenFor, EC2_USER_DATA_LIMIT_BYTES, type AwsCredentials } from './aws/ec2-driver.js';
export { CANONICAL_OWNER_ID, IMAGE_ALIASES, instanceTypeArchitecture } from './aws/image-resolver.js';
export { imageReferenceProblem } from './image-reference.js';
export { DIGITALOCEAN_USER_DATA_LIMIT_BYTES, openSshMd5Fingerprint, type DigitalOceanCredentials } from './digitalocean/droplet-driver.js';
