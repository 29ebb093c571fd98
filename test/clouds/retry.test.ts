import { describe, expect, it } from 'vitest';
import { backoffDelay, resolveRetryPolicy, TransientCloudError, UnrecoverableCloudError, withRetry } from '../../services/clouds/src/retry.js';
import { classifyAwsError } from '../../services/clouds/src/aws/errors.js';
import { classifyDigitalOceanError } from '../../services/clouds/src/digitalocean/errors.js';

describe('backoff with full jitter', () => {
  it('grows exponentially, is capped, and spans [0, ceiling)', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay({ ...policy, random: () => 0.999 }, 0)).toBe(99);
    expect(backoffDelay({ ...policy, random: () => 0.999 }, 3)).toBe(799);
    expect(backoffDelay({ ...policy, random: () => 0.999 }, 10)).toBe(999);
    expect(backoffDelay({ ...policy, random: () => 0 }, 10)).toBe(0);
  });

  it('retries transient failures with the computed delays and stops on unrecoverable ones', async () => {
    const slept: number[] = [];
    const policy = resolveRetryPolicy({ maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 250, random: () => 0.5, sleep: async (ms) => void slept.push(ms) });
    let attempts = 0;
    const result = await withRetry(
      'op',
      async () => {
        attempts += 1;
        if (attempts < 4) throw Object.assign(new Error('slow down'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
        return 'done';
      },
      classifyAwsError,
      policy,
    );
    expect(result).toBe('done');
    expect(slept).toEqual([50, 100, 125]);

    attempts = 0;
    const failure = await withRetry(
      'op',
      async () => {
        attempts += 1;
        throw Object.assign(new Error('bad'), { name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } });
      },
      classifyAwsError,
      policy,
    ).catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(UnrecoverableCloudError);
    expect(attempts).toBe(1);
  });
});

describe('error classification', () => {
  it('classifies AWS errors', () => {
    expect(classifyAwsError(Object.assign(new Error(), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }))).toBeInstanceOf(TransientCloudError);
    expect(classifyAwsError(Object.assign(new Error(), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }))).toBeInstanceOf(TransientCloudError);
    expect(classifyAwsError(Object.assign(new Error(), { name: 'Error', code: 'ECONNRESET' }))).toBeInstanceOf(TransientCloudError);
    for (const name of ['MissingParameter', 'AuthFailure', 'UnauthorizedOperation', 'IdempotentParameterMismatch']) {
      expect(classifyAwsError(Object.assign(new Error(), { name, $metadata: { httpStatusCode: 400 } })).retryable, name).toBe(false);
    }
  });

  it('classifies DigitalOcean (axios) errors', () => {
    const http = (status: number, id: string) => Object.assign(new Error(`status ${status}`), { response: { status, data: { id, message: id } } });
    expect(classifyDigitalOceanError(http(429, 'too_many_requests'))).toBeInstanceOf(TransientCloudError);
    expect(classifyDigitalOceanError(http(503, 'service_unavailable'))).toBeInstanceOf(TransientCloudError);
    expect(classifyDigitalOceanError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBeInstanceOf(TransientCloudError);
    for (const status of [400, 401, 403, 422]) expect(classifyDigitalOceanError(http(status, 'x'))).toBeInstanceOf(UnrecoverableCloudError);
    expect(classifyDigitalOceanError(http(422, 'unprocessable_entity'))).toMatchObject({ code: 'unprocessable_entity', status: 422 });
  });
});
