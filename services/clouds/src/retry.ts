// Error kinds and retries shared by the cloud drivers; each provider classifies its own errors in
// its errors.ts. Throttling and server-side failures are retried with capped exponential backoff
// and full jitter (AWS architecture blog, "Exponential Backoff And Jitter"); validation and
// authentication failures fail at once as UnrecoverableCloudError so the worker can mark its
// BullMQ job unrecoverable.
import type { CloudProvider } from './driver.js';

export class CloudError extends Error {
  constructor(
    readonly provider: CloudProvider,
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CloudError';
  }
}

/** Retrying cannot help: bad input, bad credentials, a resource that is not allowed. */
export class UnrecoverableCloudError extends CloudError {
  constructor(provider: CloudProvider, code: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(provider, code, message, false, status, options);
    this.name = 'UnrecoverableCloudError';
  }
}

/** Throttling, 5xx or a network failure that outlived the retry budget; a later job may succeed. */
export class TransientCloudError extends CloudError {
  constructor(provider: CloudProvider, code: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(provider, code, message, true, status, options);
    this.name = 'TransientCloudError';
  }
}

/** For BullMQ processors: throw `new UnrecoverableError(...)` when this is true. */
export function isUnrecoverableCloudError(error: unknown): error is UnrecoverableCloudError {
  return error instanceof UnrecoverableCloudError;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Called before each backoff; for logs and metrics. */
  onRetry?: (info: { operation: string; attempt: number; delayMs: number; error: CloudError }) => void;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 20_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export function resolveRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (policy.maxAttempts < 1) throw new RangeError('maxAttempts must be at least 1');
  return policy;
}

/** Full jitter: a uniform delay in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(policy.random() * ceiling);
}

export async function withRetry<T>(operation: string, call: () => Promise<T>, classify: (error: unknown) => CloudError, policy: RetryPolicy): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (raw) {
      const error = raw instanceof CloudError ? raw : classify(raw);
      if (!error.retryable || attempt + 1 >= policy.maxAttempts) throw error;
      const delayMs = backoffDelay(policy, attempt);
      policy.onRetry?.({ operation, attempt: attempt + 1, delayMs, error });
      await policy.sleep(delayMs);
    }
  }
}

/** Error codes of a failed connection, whichever client saw them. */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);
