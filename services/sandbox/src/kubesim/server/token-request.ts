// serviceaccounts/token (TokenRequest): what kubelets and controllers use to get
// service-account JWTs, signed with --service-account-signing-key-file like the real server.
import { createHash, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { findResourceByPlural, type ResourceInfo } from '../registry/resources.js';
import { errors, fieldError } from './errors.js';
import type { ObjectStore } from './store.js';

export interface TokenSigner {
  key: KeyObject;
  alg: 'ES256' | 'ES384' | 'RS256';
  kid: string;
  issuer: string;
}

export function tokenSigner(signingKeyPem: string, issuer: string): TokenSigner {
  const key = createPrivateKey(signingKeyPem);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const alg = key.asymmetricKeyType === 'rsa' ? 'RS256' : curve === 'secp384r1' ? 'ES384' : 'ES256';
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return { key, alg, kid: createHash('sha256').update(der).digest('base64url'), issuer };
}

interface TokenRequestBody {
  kind?: string;
  spec?: { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } };
}

export async function createToken(
  store: ObjectStore,
  signer: TokenSigner | undefined,
  defaultAudiences: string[],
  namespace: string,
  name: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  if (!signer) throw errors.notFoundPath();
  const request = (body ?? {}) as TokenRequestBody;
  if (request.kind !== undefined && request.kind !== 'TokenRequest') throw errors.badRequest(`kind ${request.kind} is not TokenRequest`);
  const serviceAccounts = findResourceByPlural('', 'serviceaccounts') as ResourceInfo;
  const serviceAccount = await store.read(serviceAccounts, namespace, name);
  const spec = request.spec ?? {};
  const expirationSeconds = spec.expirationSeconds ?? 3600;
  if (expirationSeconds < 600) {
    throw errors.invalid('authentication.k8s.io', 'TokenRequest', '', [
      fieldError('FieldValueInvalid', 'spec.expirationSeconds', 'may not specify a duration less than 10 minutes', expirationSeconds),
    ]);
  }
  if (expirationSeconds > 2 ** 32)
    throw errors.invalid('authentication.k8s.io', 'TokenRequest', '', [
      fieldError(
        'FieldValueTooLong' as 'FieldValueInvalid',
        'spec.expirationSeconds',
        'may not specify a duration larger than 2^32 seconds',
        expirationSeconds,
      ),
    ]);
  const claims: Record<string, unknown> = { namespace, serviceaccount: { name, uid: serviceAccount.metadata.uid } };
  const bound = spec.boundObjectRef;
  if (bound) {
    const plural = bound.kind === 'Pod' ? 'pods' : bound.kind === 'Secret' ? 'secrets' : bound.kind === 'Node' ? 'nodes' : undefined;
    if (!plural || !bound.name) {
      throw errors.invalid('authentication.k8s.io', 'TokenRequest', '', [
        fieldError('FieldValueNotSupported', 'spec.boundObjectRef.kind', 'supported values: "Pod", "Secret", "Node"', bound.kind),
      ]);
    }
    const info = findResourceByPlural('', plural) as ResourceInfo;
    const object = await store.read(info, info.namespaced ? namespace : undefined, bound.name);
    if (bound.uid && bound.uid !== object.metadata.uid) {
      throw errors.conflict(
        { group: '', resource: plural, name: bound.name },
        `the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    }
    claims[bound.kind === 'Pod' ? 'pod' : bound.kind === 'Secret' ? 'secret' : 'node'] = { name: bound.name, uid: object.metadata.uid };
  }
  const audiences = spec.audiences && spec.audiences.length > 0 ? spec.audiences : defaultAudiences;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ 'kubernetes.io': claims })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid })
    .setIssuer(signer.issuer)
    .setSubject(`system:serviceaccount:${namespace}:${name}`)
    .setAudience(audiences)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + expirationSeconds)
    .setJti(randomUUID())
    .sign(signer.key);
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace, uid: randomUUID(), creationTimestamp: new Date(now * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
    spec: { audiences, expirationSeconds, boundObjectRef: bound ?? null },
    status: { token, expirationTimestamp: new Date((now + expirationSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
  };
}
