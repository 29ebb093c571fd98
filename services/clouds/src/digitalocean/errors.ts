// How DigitalOcean's answers map onto retry decisions: 429 and 5xx are retried, any other status
// fails at once; without a response, only a failed connection is worth another attempt.
import { CloudError, NETWORK_CODES, TransientCloudError, UnrecoverableCloudError } from '../retry.js';

/** DigitalOcean signals rate only with 429, which every provider's throttling check covers. */
export const isDigitalOceanThrottling = (error: CloudError): boolean => error.status === 429;

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
    if (NETWORK_CODES.has(networkCode) || networkCode === 'ERR_NETWORK')
      return new TransientCloudError('digitalocean', networkCode, message, undefined, { cause: error });
    return new UnrecoverableCloudError('digitalocean', code, message, undefined, { cause: error });
  }
  if (status === 429 || status >= 500) return new TransientCloudError('digitalocean', code, message, status, { cause: error });
  return new UnrecoverableCloudError('digitalocean', code, message, status, { cause: error });
}
