// Error classification and retries shared by the cloud drivers. Throttling and server-side
// failures are retried with capped exponential backoff and full jitter (AWS architecture blog,
// "Exponential Backoff And Jitter"); validation and authentication failures fail at once as
// UnrecoverableCloudError so the worker can mark its BullMQ job unrecoverable.
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

export async function withRetry<T>(
  operation: string,
  call: () => Promise<T>,
  classify: (error: unknown) => CloudError,
  policy: RetryPolicy,
): Promise<T> {
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

const AWS_THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'EC2ThrottledException',
]);
/**
 * The provider refused for rate (EC2 RequestLimitExceeded and kin, DigitalOcean 429) and the
 * driver's own retries did not outlast it. The worker backs the whole job off (see the README).
 */
export function isThrottlingCloudError(error: unknown): error is TransientCloudError {
  if (!(error instanceof TransientCloudError)) return false;
  return error.status === 429 || (error.provider === 'aws' && AWS_THROTTLING.has(error.code));
}

const AWS_TRANSIENT = new Set(['InternalError', 'InternalFailure', 'Unavailable', 'ServiceUnavailable', 'InsufficientInstanceCapacity', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function classifyAwsError(error: unknown): CloudError {
  if (error instanceof CloudError) return error;
  const record = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const code = typeof record.name === 'string' ? record.name : 'Unknown';
  const status = typeof record.$metadata?.httpStatusCode === 'number' ? record.$metadata.httpStatusCode : undefined;
  const message = typeof record.message === 'string' ? record.message : String(error);
  const networkCode = typeof record.code === 'string' ? record.code : undefined;
  if (AWS_THROTTLING.has(code) || AWS_TRANSIENT.has(code) || (status !== undefined && (status >= 500 || status === 429))) {
    return new TransientCloudError('aws', code, message, status, { cause: error });
  }
  if (status === undefined && (code === 'TimeoutError' || (networkCode !== undefined && NETWORK_CODES.has(networkCode)))) {
    return new TransientCloudError('aws', networkCode ?? code, message, undefined, { cause: error });
  }
  return new UnrecoverableCloudError('aws', code, message, status, { cause: error });
}

export function classifyDigitalOceanError(error: unknown): CloudError {
  if (error instanceof CloudError) return error;
  const record = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
    response?: { status?: unknown; data?: unknown };
  };
  const status = typeof record.response?.status === 'number' ? record.response.status : undefined;
  const data = record.response?.data;
  const body = (typeof data === 'object' && data !== null ? data : {}) as { id?: unknown; message?: unknown };
  const code = typeof body.id === 'string' ? body.id : typeof record.code === 'string' ? record.code : 'unknown';
  const message = typeof body.message === 'string' ? body.message : typeof record.message === 'string' ? record.message : String(error);
  if (status === undefined) {
    const networkCode = typeof record.code === 'string' ? record.code : '';
    if (NETWORK_CODES.has(networkCode) || networkCode === 'ERR_NETWORK') return new TransientCloudError('digitalocean', networkCode, message, undefined, { cause: error });
    return new UnrecoverableCloudError('digitalocean', code, message, undefined, { cause: error });
  }
  if (status === 429 || status >= 500) return new TransientCloudError('digitalocean', code, message, status, { cause: error });
  return new UnrecoverableCloudError('digitalocean', code, message, status, { cause: error });
}
