// Verifies AWS Signature Version 4 on an incoming request the way AWS does: rebuild the
// canonical request from what arrived, derive the signing key from the registered secret and
// compare signatures in constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Ec2Error } from './errors.js';

export interface SignedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export function accessKeyIdOf(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  return authorization ? /Credential=([^/]+)\//.exec(authorization)?.[1] : undefined;
}

export function verifySigV4(
  request: SignedRequest,
  secretFor: (accessKeyId: string) => string | undefined,
  service: string,
  now: Date = new Date(),
): VerifiedCaller {
  const authorization = headerValue(request.headers, 'authorization');
  if (!authorization) {
    throw new Ec2Error('MissingAuthenticationToken', 'The request must contain either a valid (registered) AWS access key ID or X.509 certificate.', 401);
  }
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization.trim());
  if (!match) throw new Ec2Error('IncompleteSignature', 'The Authorization header is malformed.', 400);
  const [, credential, signedHeaderList, signature] = match;
  const [accessKeyId, date, region, scopeService, terminator, ...rest] = credential.split('/');
  if (rest.length > 0 || terminator !== 'aws4_request' || !date || !region) {
    throw new Ec2Error('IncompleteSignature', 'The credential scope is malformed.', 400);
  }
  const secret = secretFor(accessKeyId);
  if (!secret) throw new Ec2Error('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
  if (scopeService !== service) {
    throw new Ec2Error('SignatureDoesNotMatch', `Credential should be scoped to correct service: '${service}'.`, 403);
  }

  const amzDate = headerValue(request.headers, 'x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) throw new Ec2Error('MissingParameter', 'The request must contain the header X-Amz-Date', 400);
  if (amzDate.slice(0, 8) !== date) throw new Ec2Error('SignatureDoesNotMatch', 'Credential should be scoped to a valid date.', 403);
  const signedAt = Date.UTC(
    +amzDate.slice(0, 4),
    +amzDate.slice(4, 6) - 1,
    +amzDate.slice(6, 8),
    +amzDate.slice(9, 11),
    +amzDate.slice(11, 13),
    +amzDate.slice(13, 15),
  );
  if (Math.abs(now.getTime() - signedAt) > MAX_CLOCK_SKEW_MS) throw new Ec2Error('RequestExpired', 'Request has expired.', 400);

  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) throw new Ec2Error('SignatureDoesNotMatch', "'Host' must be a signed header.", 403);
  const canonicalHeaders = signedHeaders
    .map((name) => {
      const value = headerValue(request.headers, name);
      if (value === undefined) throw new Ec2Error('SignatureDoesNotMatch', `Signed header ${name} is missing.`, 403);
      return `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');

  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== 'UNSIGNED-PAYLOAD' && declaredHash !== bodyHash) {
    throw new Ec2Error('SignatureDoesNotMatch', 'The provided x-amz-content-sha256 header does not match what was computed.', 403);
  }
  const canonicalRequest = [
    request.method,
    canonicalUri(request.path),
    canonicalQuery(request.query),
    canonicalHeaders,
    signedHeaderList,
    declaredHash ?? bodyHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let key = hmac(`AWS4${secret}`, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const provided = Buffer.from(signature, 'hex');
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    throw new Ec2Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      403,
    );
  }
  return { accessKeyId, region };
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Non-S3 services encode each path segment twice. */
function canonicalUri(path: string): string {
  return path
    .split('/')
    .map((segment) => rfc3986(rfc3986(decodeURIComponent(segment))))
    .join('/');
}

function canonicalQuery(query: URLSearchParams): string {
  return [...query]
    .map(([key, value]) => [rfc3986(key), rfc3986(value)] as const)
    .sort(([a, aValue], [b, bValue]) => (a === b ? (aValue < bValue ? -1 : 1) : a < b ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}
