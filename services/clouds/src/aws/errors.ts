// How EC2's answers map onto retry decisions: throttling and server-side trouble are retried,
// anything else (validation, authentication, quota) fails at once.
import { CloudError, NETWORK_CODES, TransientCloudError, UnrecoverableCloudError } from '../retry.js';

const AWS_THROTTLING: ReadonlySet<string> = new Set([
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

const AWS_TRANSIENT: ReadonlySet<string> = new Set([
  'InternalError',
  'InternalFailure',
  'Unavailable',
  'ServiceUnavailable',
  'InsufficientInstanceCapacity',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** EC2 signals rate with error codes, often under a 503 rather than a 429. */
export const isAwsThrottling = (error: CloudError): boolean => AWS_THROTTLING.has(error.code);

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
