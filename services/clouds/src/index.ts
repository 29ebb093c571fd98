// Entry point for the worker: build one isolated driver per project's stored cloud credentials.
// The API imports ./providers/index.js instead, which loads no cloud SDK.
import { DeferredDriver } from './deferred-driver.js';
import type { CloudDriver } from './driver.js';
import { providerDefinition, type CloudCredentials, type ProviderDriverOptions } from './providers/index.js';
import type { DriverContext } from './providers/definition.js';
import { resolveRetryPolicy, type RetryPolicy } from './retry.js';

export type CloudDriverOptions = Omit<DriverContext, 'retry'> & ProviderDriverOptions & { retry?: Partial<RetryPolicy> };

/** Every call returns a new driver with its own HTTP client, credentials and endpoint; nothing is shared. */
export function createCloudDriver(credentials: CloudCredentials, options: CloudDriverOptions = {}): CloudDriver {
  const { provider, ...secret } = credentials;
  const context: DriverContext = {
    endpoint: options.endpoint,
    retry: resolveRetryPolicy(options.retry),
    requestTimeoutMs: options.requestTimeoutMs,
    rateLimiter: options.rateLimiter,
  };
  const driver = providerDefinition(provider)
    .loadDriver()
    .then((factory) => factory(secret, context, options[provider]));
  return new DeferredDriver(provider, driver);
}

export * from './driver.js';
export {
  backoffDelay,
  CloudError,
  DEFAULT_RETRY_POLICY,
  isUnrecoverableCloudError,
  TransientCloudError,
  UnrecoverableCloudError,
  withRetry,
  type RetryPolicy,
} from './retry.js';
export {
  createCredentialSchema,
  isProviderName,
  isThrottlingCloudError,
  nodePoolDefaultsByProvider,
  providerCatalog,
  providerDefinition,
  PROVIDER_NAMES,
  PROVIDERS,
  sealCredential,
  type CloudCredentials,
  type CreateCredentialInput,
  type CredentialField,
  type ProviderCatalogEntry,
  type ProviderName,
  type SealedCredential,
} from './providers/index.js';
export { classifyAwsError } from './aws/errors.js';
export { classifyDigitalOceanError } from './digitalocean/errors.js';
export { acquireRequestSlot, type CloudRequestBudget } from './request-budget.js';
export { AWS_TAG_KEYS, clientTokenFor, type AwsCredentials } from './aws/ec2-driver.js';
export { EC2_USER_DATA_LIMIT_BYTES } from './aws/provider.js';
export { CANONICAL_OWNER_ID, IMAGE_ALIASES, instanceTypeArchitecture } from './aws/image-resolver.js';
export { DIGITALOCEAN_TAG_PREFIXES, openSshMd5Fingerprint, type DigitalOceanCredentials } from './digitalocean/droplet-driver.js';
export { DIGITALOCEAN_USER_DATA_LIMIT_BYTES } from './digitalocean/provider.js';
