import { readFileSync } from 'node:fs';
import type { AuthConfig, Authenticator, Authorizer, ObjectReader } from '../contracts.js';
import {
  BearerTokenAuthenticator,
  BootstrapTokenAuthenticator,
  ServiceAccountTokenAuthenticator,
  StaticTokenAuthenticator,
  UnionAuthenticator,
  X509Authenticator,
  parseTokenAuthFile,
  type TokenAuthenticator,
} from './authenticators.js';
import { NodeAuthorizer } from './node.js';
import { AlwaysAllowAuthorizer, AlwaysDenyAuthorizer, PrivilegedGroupAuthorizer, RbacAuthorizer } from './rbac.js';

export { authenticateRequest, parseTokenAuthFile, bearerToken, type StaticToken } from './authenticators.js';
export { authorizeRequest } from './rbac.js';
export { defaultRbacObjects } from './bootstrap-policy.js';
export type { AuthConfig } from '../contracts.js';

/** Flags kube-apiserver has beyond the shared AuthConfig; all optional. */
export interface ExtendedAuthConfig extends AuthConfig {
  /** --api-audiences; defaults to the service-account issuers. */
  apiAudiences?: string[];
  /** --service-account-lookup (default true). */
  serviceAccountLookup?: boolean;
}

export type AuthorizationMode = 'AlwaysAllow' | 'AlwaysDeny' | 'Node' | 'RBAC';
const KNOWN_MODES: readonly string[] = ['AlwaysAllow', 'AlwaysDeny', 'Node', 'RBAC'];

/** Parses and validates --authorization-mode=Node,RBAC the way kube-apiserver does at start. */
export function parseAuthorizationModes(value: string | string[]): AuthorizationMode[] {
  const modes = (Array.isArray(value) ? value : value.split(',')).map((mode) => mode.trim()).filter((mode) => mode !== '');
  for (const mode of modes) {
    if (!KNOWN_MODES.includes(mode)) throw new Error(`authorization-mode "${mode}" is not a valid mode (supported: ${KNOWN_MODES.join(',')})`);
  }
  if (new Set(modes).size !== modes.length) throw new Error(`authorization-mode "${modes.join(',')}" has mode specified more than once`);
  return modes as AuthorizationMode[];
}

function parseBool(flag: string, value: string): boolean {
  if (['', 'true', '1', 't', 'T', 'TRUE', 'True'].includes(value)) return true;
  if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(value)) return false;
  throw new Error(`invalid argument "${value}" for "--${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
}

function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`--${flag}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * Builds the AuthConfig from kube-apiserver flags (flag name without dashes → values in
 * command-line order). Reads the files and throws on unreadable ones, as the real binary refuses to start.
 */
export function authConfigFromApiserverFlags(flags: Map<string, string[]>): ExtendedAuthConfig {
  const last = (name: string): string | undefined => flags.get(name)?.at(-1);
  const all = (name: string): string[] =>
    (flags.get(name) ?? [])
      .flatMap((value) => value.split(','))
      .map((value) => value.trim())
      .filter((value) => value !== '');
  const clientCa = last('client-ca-file');
  const tokenFile = last('token-auth-file');
  const bootstrap = last('enable-bootstrap-token-auth');
  const anonymous = last('anonymous-auth');
  const lookup = last('service-account-lookup');
  const audiences = all('api-audiences');
  const config: ExtendedAuthConfig = {
    tokenAuthFile: tokenFile ? parseTokenAuthFile(readFlagFile('token-auth-file', tokenFile), tokenFile) : [],
    enableBootstrapTokenAuth: bootstrap === undefined ? false : parseBool('enable-bootstrap-token-auth', bootstrap),
    serviceAccountKeys: all('service-account-key-file').map((file) => readFlagFile('service-account-key-file', file)),
    serviceAccountIssuers: all('service-account-issuer'),
    anonymous: anonymous === undefined ? true : parseBool('anonymous-auth', anonymous),
    authorizationModes: parseAuthorizationModes(last('authorization-mode') ?? 'AlwaysAllow'),
  };
  if (clientCa) config.clientCA = readFlagFile('client-ca-file', clientCa);
  if (audiences.length > 0) config.apiAudiences = audiences;
  if (lookup !== undefined) config.serviceAccountLookup = parseBool('service-account-lookup', lookup);
  return config;
}

// buildAuthorizers receives the ObjectReader; authenticators built from the same config find it here.
const readersByConfig = new WeakMap<AuthConfig, ObjectReader>();

/**
 * The authenticator chain in kube-apiserver order (x509, then bearer tokens: static, service
 * account, bootstrap), as one member that already adds system:authenticated. A bearer token
 * nobody accepts is "rejected" (401). Anonymous is left to the server (AuthConfig.anonymous).
 * Bootstrap tokens and service-account lookups need an ObjectReader: pass it here, or it is
 * taken from buildAuthorizers(config, reader) called with the same config object.
 */
export function buildAuthenticators(config: AuthConfig, reader?: ObjectReader): Authenticator[] {
  const extended = config as ExtendedAuthConfig;
  if (reader) readersByConfig.set(config, reader);
  const readerSource = (): ObjectReader | undefined => readersByConfig.get(config);
  const members: Authenticator[] = [];
  if (config.clientCA) members.push(new X509Authenticator(config.clientCA));
  const tokenAuthenticators: TokenAuthenticator[] = [];
  if (config.tokenAuthFile.length > 0) tokenAuthenticators.push(new StaticTokenAuthenticator(config.tokenAuthFile));
  if (config.serviceAccountKeys.length > 0) {
    tokenAuthenticators.push(
      new ServiceAccountTokenAuthenticator({
        keysPem: config.serviceAccountKeys,
        issuers: config.serviceAccountIssuers,
        ...(extended.apiAudiences ? { audiences: extended.apiAudiences } : {}),
        ...((extended.serviceAccountLookup ?? true) ? { reader: readerSource } : {}),
      }),
    );
  }
  if (config.enableBootstrapTokenAuth) tokenAuthenticators.push(new BootstrapTokenAuthenticator(readerSource));
  if (tokenAuthenticators.length > 0) members.push(new BearerTokenAuthenticator(tokenAuthenticators));
  return [new UnionAuthenticator(members)];
}

/** The authorizer chain for --authorization-mode, preceded by the system:masters authorizer. */
export function buildAuthorizers(config: AuthConfig, reader: ObjectReader): Authorizer[] {
  readersByConfig.set(config, reader);
  const modes = parseAuthorizationModes(config.authorizationModes.length > 0 ? config.authorizationModes : ['AlwaysAllow']);
  const chain: Authorizer[] = [new PrivilegedGroupAuthorizer()];
  for (const mode of modes) {
    switch (mode) {
      case 'AlwaysAllow':
        chain.push(new AlwaysAllowAuthorizer());
        break;
      case 'AlwaysDeny':
        chain.push(new AlwaysDenyAuthorizer());
        break;
      case 'Node':
        chain.push(new NodeAuthorizer(reader));
        break;
      case 'RBAC':
        chain.push(new RbacAuthorizer(reader));
        break;
    }
  }
  return chain;
}
