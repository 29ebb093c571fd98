import { createHmac, timingSafeEqual } from 'node:crypto';

// k8s.io/cluster-bootstrap/token/jws: go-jose serialises the protected header as a JSON object
// with sorted keys, so the header bytes are exactly {"alg":"HS256","kid":"<token-id>"}.
export function computeDetachedSignature(content: string, tokenId: string, tokenSecret: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', kid: tokenId })).toString('base64url');
  const payload = Buffer.from(content).toString('base64url');
  const signature = createHmac('sha256', tokenSecret).update(`${header}.${payload}`).digest('base64url');
  return `${header}..${signature}`;
}

/** jws.DetachedTokenIsValid: recompute and compare in constant time. */
export function detachedTokenIsValid(detached: string, content: string, tokenId: string, tokenSecret: string): boolean {
  const expected = Buffer.from(computeDetachedSignature(content, tokenId, tokenSecret));
  const actual = Buffer.from(detached);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
