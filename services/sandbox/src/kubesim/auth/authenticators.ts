import { X509Certificate, createPublicKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { AuthenticationRequest, AuthenticationResult, Authenticator, ObjectReader, StaticTokenEntry, UserInfo } from '../contracts.js';
import {
  BOOTSTRAP_TOKEN_SECRET_PREFIX,
  BOOTSTRAP_USER_PREFIX,
  bootstrapTokenExpired,
  bootstrapTokenGroups,
  parseBootstrapToken,
  secretValue,
} from './bootstrap-token.js';

export const ALL_AUTHENTICATED_GROUP = 'system:authenticated';
export const ALL_UNAUTHENTICATED_GROUP = 'system:unauthenticated';
export const ANONYMOUS_USER = 'system:anonymous';
export const LEGACY_SERVICE_ACCOUNT_ISSUER = 'kubernetes/serviceaccount';
const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

const noCredentials: AuthenticationResult = { outcome: 'no-credentials' };

function header(request: AuthenticationRequest, name: string): string | undefined {
  const value = request.headers[name] ?? request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The bearer token of the request, following k8s.io/apiserver's bearertoken authenticator parsing. */
export function bearerToken(request: AuthenticationRequest): string | undefined {
  const authorization = header(request, 'authorization')?.trim();
  if (!authorization) return undefined;
  const parts = authorization.split(' ');
  if (parts.length < 2 || parts[0].toLowerCase() !== 'bearer') return undefined;
  const token = parts[1];
  return token.length > 0 ? token : undefined;
}

export function splitPemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN [A-Z0-9 ]+-----[\s\S]+?-----END [A-Z0-9 ]+-----/g) ?? [];
}

/** Client certificates verified against the --client-ca-file bundle; CN is the user, O the groups. */
export class X509Authenticator implements Authenticator {
  private readonly roots: X509Certificate[];

  constructor(
    clientCaPem: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.roots = splitPemBlocks(clientCaPem)
      .filter((block) => block.includes('CERTIFICATE'))
      .map((block) => new X509Certificate(block));
    if (this.roots.length === 0) throw new Error('client CA bundle holds no certificate');
  }

  /**
   * The client certificate of a TLS connection never changes, so its verdict is kept per
   * socket for as long as every certificate involved is within its validity; kept-alive
   * connections then pay for parsing and chain verification once, not on every request.
   */
  private readonly verdicts = new WeakMap<object, { result: AuthenticationResult; validFrom: number; validTo: number }>();

  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    const socket = request.socket;
    if (!socket || typeof socket.getPeerCertificate !== 'function') return noCredentials;
    const now = this.now().getTime();
    const cached = this.verdicts.get(socket);
    if (cached && now >= cached.validFrom && now <= cached.validTo) {
      const { result } = cached;
      return result.outcome === 'authenticated' ? { outcome: 'authenticated', user: { ...result.user, groups: [...result.user.groups] } } : result;
    }
    const peer = socket.getPeerCertificate(true);
    if (!peer?.raw) return noCredentials;
    const chain = peerChain(peer);
    const result = this.decide(chain);
    const involved = [...chain, ...this.roots];
    const validFrom = Math.max(...involved.map((certificate) => Date.parse(certificate.validFrom)));
    const validTo = Math.min(...involved.map((certificate) => Date.parse(certificate.validTo)));
    // Only a window in which no certificate expires or starts being valid can reuse the verdict.
    if (now >= validFrom && now <= validTo) this.verdicts.set(socket, { result, validFrom, validTo });
    return result;
  }

  private decide(chain: X509Certificate[]): AuthenticationResult {
    const verdict = this.verify(chain);
    if (verdict) return { outcome: 'rejected', reason: `x509: ${verdict}` };
    const leaf = chain[0];
    const subject = parseDistinguishedName(leaf.subject);
    const username = subject.get('CN')?.[0] ?? '';
    if (username === '') return { outcome: 'rejected', reason: 'x509: certificate has no common name' };
    // Like the x509 authenticator since 1.32: the certificate's SHA-256 as the credential id.
    const credentialId = `X509SHA256=${leaf.fingerprint256.replace(/:/g, '').toLowerCase()}`;
    return {
      outcome: 'authenticated',
      user: { username, groups: [...(subject.get('O') ?? [])], extra: { 'authentication.kubernetes.io/credential-id': [credentialId] } },
    };
  }

  /** Returns why the chain is unacceptable, or undefined when it leads to a trusted root. */
  private verify(chain: X509Certificate[]): string | undefined {
    const now = this.now().getTime();
    const leaf = chain[0];
    const usages = leaf.keyUsage;
    if (usages && usages.length > 0 && !usages.includes(CLIENT_AUTH_EKU) && !usages.includes(ANY_EKU)) {
      return 'certificate specifies an incompatible key usage';
    }
    for (let index = 0; index < chain.length; index += 1) {
      const certificate = chain[index];
      if (Date.parse(certificate.validFrom) > now || Date.parse(certificate.validTo) < now) {
        return 'certificate has expired or is not yet valid';
      }
      const trustedIssuer = this.roots.find((root) => certificate.checkIssued(root) && certificate.verify(root.publicKey) && rootUsable(root, now));
      if (trustedIssuer) return undefined;
      const next = chain[index + 1];
      if (!next || !next.ca || !certificate.checkIssued(next) || !certificate.verify(next.publicKey)) break;
    }
    return 'certificate signed by unknown authority';
  }
}

function rootUsable(root: X509Certificate, now: number): boolean {
  return Date.parse(root.validFrom) <= now && Date.parse(root.validTo) >= now;
}

function peerChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = peer;
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return chain;
}

/** node:crypto renders subjects one attribute per line ("CN=x\nO=a\nO=b"). */
export function parseDistinguishedName(subject: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of subject.split('\n')) {
    const separator = line.indexOf('=');
    if (separator <= 0) continue;
    const key = line.slice(0, separator);
    fields.set(key, [...(fields.get(key) ?? []), line.slice(separator + 1)]);
  }
  return fields;
}

export type StaticToken = StaticTokenEntry;

/** Parses a --token-auth-file (CSV: token,user,uid[,"group1,group2"]), failing like the real apiserver does. */
export function parseTokenAuthFile(content: string, fileName = 'token-auth-file'): StaticToken[] {
  const tokens: StaticToken[] = [];
  const seen = new Set<string>();
  const records = parseCsv(content);
  records.forEach((record, index) => {
    if (record.length === 1 && record[0] === '') return;
    if (record.length < 3) {
      throw new Error(`token file '${fileName}' must have at least 3 columns (token, user name, user uid), found ${record.length} on line ${index + 1}`);
    }
    const [token, user, uid, groupColumn] = record as [string, string, string, string | undefined];
    if (token === '') return;
    if (seen.has(token)) return;
    seen.add(token);
    const groups =
      groupColumn === undefined
        ? []
        : groupColumn
            .split(',')
            .map((group) => group.trim())
            .filter((group) => group !== '');
    tokens.push({ token, user, uid, groups });
  });
  return tokens;
}

/** RFC 4180 records, the subset encoding/csv accepts (quoted fields with doubled quotes). */
function parseCsv(content: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  for (let index = 0; index < content.length; index += 1) {
    const char = content[index];
    if (quoted) {
      if (char === '"' && content[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
      continue;
    }
    if (char === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (char === ',') {
      record.push(field);
      field = '';
      fieldStarted = false;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && content[index + 1] === '\n') index += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      fieldStarted = false;
    } else {
      field += char;
      fieldStarted = true;
    }
  }
  if (quoted) throw new Error('token file has an unterminated quoted field');
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** An ObjectReader, or a way to find it later (the API server may hand it over after building authenticators). */
export type ReaderSource = ObjectReader | (() => ObjectReader | undefined);

function resolveReader(source: ReaderSource): ObjectReader | undefined {
  return typeof source === 'function' ? source() : source;
}

/** A token authenticator answers for bearer tokens only; undefined means "not mine". */
export interface TokenAuthenticator {
  /** `audiences`: the ones a TokenReview asks for; authenticators without audiences ignore them. */
  authenticateToken(token: string, audiences?: string[]): Promise<UserInfo | undefined>;
}

export class StaticTokenAuthenticator implements TokenAuthenticator {
  private readonly byToken: Map<string, StaticToken>;

  constructor(tokens: StaticToken[]) {
    this.byToken = new Map(tokens.map((entry) => [entry.token, entry]));
  }

  async authenticateToken(token: string): Promise<UserInfo | undefined> {
    const entry = this.byToken.get(token);
    if (!entry) return undefined;
    return { username: entry.user, uid: entry.uid, groups: [...entry.groups] };
  }
}

/** plugin/pkg/auth/authenticator/token/bootstrap: every failure is "not mine" so the request ends as 401. */
export class BootstrapTokenAuthenticator implements TokenAuthenticator {
  constructor(
    private readonly reader: ReaderSource,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async authenticateToken(token: string): Promise<UserInfo | undefined> {
    const parsed = parseBootstrapToken(token);
    if (!parsed) return undefined;
    const reader = resolveReader(this.reader);
    if (!reader) return undefined;
    const secret = await reader.get('', 'secrets', 'kube-system', BOOTSTRAP_TOKEN_SECRET_PREFIX + parsed.id);
    if (!secret || secret.metadata.deletionTimestamp) return undefined;
    if (secret.type !== 'bootstrap.kubernetes.io/token' || secret.data === undefined) return undefined;
    const storedSecret = Buffer.from(secretValue(secret, 'token-secret') ?? '');
    const presented = Buffer.from(parsed.secret);
    if (storedSecret.length !== presented.length || !timingSafeEqual(storedSecret, presented)) return undefined;
    if (secretValue(secret, 'token-id') !== parsed.id) return undefined;
    if (bootstrapTokenExpired(secret, this.now())) return undefined;
    if (secretValue(secret, 'usage-bootstrap-authentication') !== 'true') return undefined;
    const groups = bootstrapTokenGroups(secret);
    if (!groups) return undefined;
    return { username: BOOTSTRAP_USER_PREFIX + parsed.id, groups };
  }
}

export interface ServiceAccountTokenOptions {
  /** PEM text of --service-account-key-file (public or private keys; private keys yield their public half). */
  keysPem: string[];
  /** --service-account-issuer values; the legacy issuer is always accepted for secret-based tokens. */
  issuers: string[];
  /** --api-audiences; defaults to the issuers as kube-apiserver does. */
  audiences?: string[];
  /** When given, the service account (and legacy token Secret) must exist and match, like --service-account-lookup. */
  reader?: ReaderSource;
}

interface KubernetesClaims {
  namespace?: unknown;
  serviceaccount?: { name?: unknown; uid?: unknown };
  pod?: { name?: unknown; uid?: unknown };
}

/** pkg/serviceaccount JWT validation for both bound (kubernetes.io claim) and legacy secret-based tokens. */
export class ServiceAccountTokenAuthenticator implements TokenAuthenticator {
  private readonly keys: KeyObject[];
  private readonly audiences: string[];

  constructor(private readonly options: ServiceAccountTokenOptions) {
    this.keys = options.keysPem.flatMap((pem) => splitPemBlocks(pem)).map((block) => createPublicKey(block));
    this.audiences = options.audiences ?? options.issuers;
  }

  async authenticateToken(token: string, audiences?: string[]): Promise<UserInfo | undefined> {
    if (token.split('.').length !== 3) return undefined;
    let unverified: JWTPayload;
    try {
      decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      return undefined;
    }
    const issuer = unverified.iss;
    const legacy = issuer === LEGACY_SERVICE_ACCOUNT_ISSUER;
    if (typeof issuer !== 'string' || (!legacy && !this.options.issuers.includes(issuer))) return undefined;
    const payload = await this.verified(token, issuer, legacy, audiences && audiences.length > 0 ? audiences : this.audiences);
    if (!payload) return undefined;
    return legacy ? this.legacyUser(payload, token) : this.boundUser(payload);
  }

  private async verified(token: string, issuer: string, legacy: boolean, audiences: string[]): Promise<JWTPayload | undefined> {
    for (const key of this.keys) {
      try {
        const { payload } = await jwtVerify(token, key, {
          issuer,
          algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'],
          ...(legacy ? {} : { audience: audiences }),
        });
        return payload;
      } catch {
        continue;
      }
    }
    return undefined;
  }

  private async boundUser(payload: JWTPayload): Promise<UserInfo | undefined> {
    const claims = payload['kubernetes.io'] as KubernetesClaims | undefined;
    const namespace = claims?.namespace;
    const name = claims?.serviceaccount?.name;
    const uid = claims?.serviceaccount?.uid;
    if (typeof namespace !== 'string' || typeof name !== 'string' || typeof uid !== 'string') return undefined;
    if (payload.exp === undefined) return undefined;
    if (!(await this.serviceAccountMatches(namespace, name, uid))) return undefined;
    const user = serviceAccountUser(namespace, name, uid);
    const podName = claims?.pod?.name;
    const podUid = claims?.pod?.uid;
    if (typeof podName === 'string' && typeof podUid === 'string') {
      user.extra = { 'authentication.kubernetes.io/pod-name': [podName], 'authentication.kubernetes.io/pod-uid': [podUid] };
    }
    return user;
  }

  private async legacyUser(payload: JWTPayload, token: string): Promise<UserInfo | undefined> {
    const namespace = payload['kubernetes.io/serviceaccount/namespace'];
    const name = payload['kubernetes.io/serviceaccount/service-account.name'];
    const uid = payload['kubernetes.io/serviceaccount/service-account.uid'];
    const secretName = payload['kubernetes.io/serviceaccount/secret.name'];
    if (typeof namespace !== 'string' || typeof name !== 'string' || typeof uid !== 'string' || typeof secretName !== 'string') {
      return undefined;
    }
    const reader = this.options.reader ? resolveReader(this.options.reader) : undefined;
    if (reader) {
      const secret = await reader.get('', 'secrets', namespace, secretName);
      if (!secret || secret.metadata.deletionTimestamp) return undefined;
      // The legacy validator insists on the server's copy of the token.
      if (secretValue(secret, 'token') !== token) return undefined;
    }
    if (!(await this.serviceAccountMatches(namespace, name, uid))) return undefined;
    return serviceAccountUser(namespace, name, uid);
  }

  private async serviceAccountMatches(namespace: string, name: string, uid: string): Promise<boolean> {
    const reader = this.options.reader ? resolveReader(this.options.reader) : undefined;
    if (!reader) return true;
    const account = await reader.get('', 'serviceaccounts', namespace, name);
    return account !== undefined && !account.metadata.deletionTimestamp && account.metadata.uid === uid;
  }
}

export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    ...(uid === undefined ? {} : { uid }),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
  };
}

/** bearertoken.Authenticator: a bearer token nobody accepts is an error ("invalid bearer token"), hence 401. */
export class BearerTokenAuthenticator implements Authenticator {
  constructor(private readonly tokenAuthenticators: TokenAuthenticator[]) {}

  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    const token = bearerToken(request);
    if (token === undefined) return noCredentials;
    for (const authenticator of this.tokenAuthenticators) {
      const user = await authenticator.authenticateToken(token, request.audiences);
      if (user) return { outcome: 'authenticated', user };
    }
    return { outcome: 'rejected', reason: 'invalid bearer token' };
  }
}

/**
 * union.New + group.NewAuthenticatedGroupAdder: the first success wins, any error otherwise
 * rejects, and every authenticated user gains system:authenticated.
 */
export class UnionAuthenticator implements Authenticator {
  constructor(private readonly members: Authenticator[]) {}

  async authenticate(request: AuthenticationRequest): Promise<AuthenticationResult> {
    const reasons: string[] = [];
    for (const member of this.members) {
      const result = await member.authenticate(request);
      if (result.outcome === 'authenticated') return { outcome: 'authenticated', user: withAuthenticatedGroup(result.user) };
      if (result.outcome === 'rejected') reasons.push(result.reason);
    }
    return reasons.length > 0 ? { outcome: 'rejected', reason: reasons.join('; ') } : noCredentials;
  }
}

function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.groups.includes(ALL_AUTHENTICATED_GROUP) || user.username === ANONYMOUS_USER) return user;
  return { ...user, groups: [...user.groups, ALL_AUTHENTICATED_GROUP] };
}

export class AnonymousAuthenticator implements Authenticator {
  async authenticate(): Promise<AuthenticationResult> {
    return { outcome: 'authenticated', user: { username: ANONYMOUS_USER, groups: [ALL_UNAUTHENTICATED_GROUP] } };
  }
}

/**
 * Runs an authenticator chain the way kube-apiserver does (and kubesim's server mirrors): the
 * first success wins; otherwise any rejection is a 401 even when anonymous access is on;
 * only a request without credentials becomes system:anonymous.
 */
export async function authenticateRequest(chain: Authenticator[], request: AuthenticationRequest, anonymous: boolean): Promise<AuthenticationResult> {
  const result = await new UnionAuthenticator(chain).authenticate(request);
  if (result.outcome !== 'no-credentials' || !anonymous) return result;
  return new AnonymousAuthenticator().authenticate();
}
