// Contracts between kubesim's API server (server/, storage/) and its security and
// controller parts (auth/, controllers/). Both sides code against these types only.
import type { TLSSocket } from 'node:tls';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
  managedFields?: unknown[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Who made a request, as the authenticators establish it (k8s.io/apiserver user.Info). */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** What the authenticators see of an HTTP request. */
export interface AuthenticationRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The verified client certificate chain (leaf first) when the client presented one. */
  socket?: TLSSocket;
  /**
   * A TokenReview's spec.audiences: a bound token must be for one of these instead of the
   * server's own (--api-audiences), as for a konnectivity agent's token.
   */
  audiences?: string[];
}

export type AuthenticationResult =
  | { outcome: 'authenticated'; user: UserInfo }
  /** The request carried no credential this authenticator understands. */
  | { outcome: 'no-credentials' }
  /** The request carried a credential and it is wrong or expired: the server answers 401. */
  | { outcome: 'rejected'; reason: string };

export interface Authenticator {
  authenticate(request: AuthenticationRequest): Promise<AuthenticationResult>;
}

/** k8s.io/apiserver authorizer.Attributes. */
export interface RequestAttributes {
  user: UserInfo;
  verb: string; // get list watch create update patch delete deletecollection, or a non-resource verb
  resourceRequest: boolean;
  apiGroup: string; // '' for core
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  path: string; // for non-resource requests, e.g. /healthz
  /** list/watch: the request's field selector (the Node authorizer's selector-scoped rules). */
  fieldSelector?: string;
}

export interface AuthorizationDecision {
  decision: 'allow' | 'deny' | 'no-opinion';
  reason: string;
}

export interface Authorizer {
  authorize(attributes: RequestAttributes): Promise<AuthorizationDecision>;
}

/**
 * Read access to stored objects that authenticators and authorizers need (bootstrap-token
 * Secrets, service accounts, RBAC objects, pods and nodes for the Node authorizer).
 * Resource names are plural lower-case (`secrets`, `clusterroles`), group '' is core.
 */
export interface ObjectReader {
  get(group: string, resource: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  list(group: string, resource: string, namespace?: string): Promise<KubeObject[]>;
}

/** One line of a --token-auth-file: token,user,uid,"group1,group2". */
export interface StaticTokenEntry {
  token: string;
  user: string;
  uid: string;
  groups: string[];
}

/**
 * What the API server hands `../auth/index.js` `buildAuthenticators(config)` and
 * `buildAuthorizers(config, reader)`, derived from the real kube-apiserver flags.
 */
export interface AuthConfig {
  /** --client-ca-file contents (PEM); client certificates are verified against it. */
  clientCA?: string;
  /** --token-auth-file entries. */
  tokenAuthFile: StaticTokenEntry[];
  /** --enable-bootstrap-token-auth */
  enableBootstrapTokenAuth: boolean;
  /** --service-account-key-file contents (PEM public or private keys), to verify SA JWTs. */
  serviceAccountKeys: string[];
  /** --service-account-issuer values; the first one is what the server issues. */
  serviceAccountIssuers: string[];
  /** --anonymous-auth */
  anonymous: boolean;
  /** --authorization-mode, e.g. ['Node', 'RBAC'] or ['AlwaysAllow']. */
  authorizationModes: string[];
}

/** The shape of `../auth/index.js` that the API server loads. */
export interface AuthModule {
  buildAuthenticators(config: AuthConfig, reader?: ObjectReader): Authenticator[] | Promise<Authenticator[]>;
  buildAuthorizers(config: AuthConfig, reader: ObjectReader): Authorizer[] | Promise<Authorizer[]>;
}
