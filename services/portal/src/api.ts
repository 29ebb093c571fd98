// The portal's only way to the server: the documented REST API under /api/v1, with the
// signed-in user's bearer token. Shapes mirror the API's presenters.

export type ProjectRole = 'owner' | 'editor' | 'viewer';
/** A provider's registry name; the catalog lists the ones this installation offers. */
export type Provider = string;

export interface Me {
  id: string;
  email: string;
  name: string | null;
  admin: boolean;
}

export interface Project {
  id: string;
  name: string;
  displayName: string;
  createdAt: string;
  role?: ProjectRole;
}

export interface Member {
  userId: string;
  email: string;
  name: string | null;
  role: ProjectRole;
  addedAt: string;
}

export type InvitationState = 'pending' | 'expired' | 'accepted' | 'declined' | 'revoked';

/** An invitation to a project, addressed to an e-mail address (never to an account). */
export interface Invitation {
  id: string;
  projectId: string;
  email: string;
  role: ProjectRole;
  state: InvitationState;
  createdAt: string;
  expiresAt: string;
  invitedBy: { userId: string; email: string } | null;
}

/** One of the signed-in user's own invitations, with the project it leads to. */
export interface OwnInvitation extends Invitation {
  project: { id: string; name: string; displayName: string };
}

export interface Credential {
  id: string;
  name: string;
  provider: Provider;
  // Which keys are present depends on the provider (only AWS has a region).
  summary: Partial<Record<string, string>>;
  createdAt: string;
}

export interface Token {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** Only in the answer to a create. */
  token?: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** A Degraded qualifier of the summary: why a state does not stand on its own. */
export interface SummaryQualifier {
  type: 'Degraded';
  status: 'True';
  reason: 'PoolProvisioningFailed' | 'NetworkNotReady' | 'NodesNotReady' | 'AddonsNotReady' | 'ControlPlaneNotReady';
  short: string;
  message: string;
}

export type TimelineStatus = 'done' | 'active' | 'pending' | 'failed' | 'skipped';

export interface TimelineStep {
  id: string;
  title: string;
  status: TimelineStatus;
  detail: string | null;
  at: string | null;
}

export interface AddonStatus {
  condition: string;
  name: string;
  status: Condition['status'];
  reason: string;
  message: string;
}

export interface PoolSummary {
  id: string;
  name: string;
  state: 'Ready' | 'Scaling' | 'Degraded' | 'Deleting';
  reason: string | null;
  message: string | null;
  headline: string;
  desired: number;
  ready: number;
  nodes: number;
}

/** The API's one status model of a cluster (services/core/src/state/cluster-summary.ts); every view renders it. */
export interface ClusterSummary {
  state: 'Provisioning' | 'Running' | 'Upgrading' | 'Deleting' | 'Deleted' | 'Failed';
  reason: string | null;
  qualifiers: SummaryQualifier[];
  headline: string;
  versions: { current: string; target: string | null };
  nodes: { ready: number; desired: number };
  addons: AddonStatus[];
  pools: PoolSummary[];
  timeline: TimelineStep[];
}

export interface Cluster {
  id: string;
  projectId: string;
  name: string;
  version: string;
  seed: { id: string; name: string | null } | null;
  exposeStrategy: string;
  etcdReplicas: number;
  network: { podCidr: string; serviceCidr: string; mtu: number | null };
  /** The network plugin chosen at create time; `none` = the user brings one. */
  cni: string;
  addons: { metricsServer: boolean };
  phase: string;
  phaseReason: string | null;
  conditions: Condition[];
  endpoint: string | null;
  generation: number;
  observedGeneration: number;
  createdAt: string;
  updatedAt: string;
  deletionRequestedAt: string | null;
  summary: ClusterSummary;
}

export interface ClusterEvent {
  id: number;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  createdAt: string;
}

export interface NodePool {
  id: string;
  clusterId: string;
  name: string;
  credentialId: string;
  provider: Provider;
  region: string;
  size: string;
  image: string;
  replicas: number;
  conditions?: Condition[];
  status?: { nodes: number; ready: number; state: PoolSummary['state']; reason: string | null; message: string | null; headline: string };
  createdAt: string;
  deletionRequestedAt: string | null;
}

export interface SshProbe {
  ok: boolean;
  at?: string;
  message?: string;
}

export interface PoolNode {
  id: string;
  poolId: string;
  name: string;
  cloudId: string | null;
  addresses: { private: string | null; public: string | null };
  phase: string;
  phaseReason: string | null;
  lastHeartbeatAt: string | null;
  sshProbe: SshProbe | null;
  conditions?: Condition[];
  /** Counted ready by the pool and the cluster summary: phase Ready and the tenant Node's Ready condition True. */
  ready: boolean;
  /** As the Node reported it when it became Ready ("v1.36.3"); null before. */
  kubeletVersion: string | null;
  createdAt: string;
}

export interface Operation {
  id: string;
  kind: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'superseded';
  clusterId: string | null;
  poolId: string | null;
  target: Record<string, unknown>;
  progress: Record<string, unknown>;
  message: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface Seed {
  id: string;
  name: string;
  provider: string | null;
  region: string | null;
  serverUrl: string;
  serverVersion: string | null;
  capacity: { used: number; max: number };
  cordoned: boolean;
  schedulable: boolean;
  health: { status: string; message: string | null; checkedAt: string | null };
  createdAt: string;
}

export interface NodePoolDefaults {
  region: string | null;
  regions: string[];
  size: string;
  sizes: string[];
  image: string;
}

export interface Catalog {
  versions: string[];
  defaultVersion: string;
  exposeStrategies: string[];
  /** Network plugins a cluster can be created with; `none` = the user installs one. */
  cniPlugins: string[];
  defaults: { podCidr: string; serviceCidr: string; exposeStrategy: string; etcdReplicas: number; cni: string; metricsServer: boolean };
  placement: Array<{ seed: string; provider: string | null; region: string | null; schedulable: boolean }>;
  nodePoolDefaults?: Partial<Record<Provider, NodePoolDefaults>>;
  providers?: ProviderInfo[];
}

/** One input of a provider's credential form. */
export interface CredentialField {
  name: string;
  label: string;
  secret: boolean;
  required: boolean;
  default?: string;
}

export interface ProviderInfo {
  name: Provider;
  label: string;
  credentialFields: CredentialField[];
  /** Pools take their region from this summary property of the credential (null: the pool chooses). */
  regionFrom: string | null;
}

/** The catalog entry of a provider, when the catalog has one. */
export function providerInfo(catalog: Catalog | undefined, provider: Provider): ProviderInfo | undefined {
  return catalog?.providers?.find((candidate) => candidate.name === provider);
}

export interface ProblemDetails {
  title?: string;
  detail?: string;
  code?: string;
  errors?: Array<{ path: string; message: string }>;
}

/** A non-2xx answer, carrying the problem+json the API sends. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemDetails,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }

  get code(): string | undefined {
    return this.problem.code;
  }
}

const BASE = '/api/v1';

export class ApiClient {
  constructor(private readonly token: string) {}

  get authorization(): string {
    return `Bearer ${this.token}`;
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { authorization: this.authorization, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (!response.ok) throw new ApiError(response.status, isObject(parsed) ? parsed : { detail: text || response.statusText });
    return parsed as T;
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  async list<T>(path: string, signal?: AbortSignal): Promise<T[]> {
    return (await this.get<{ items: T[] }>(path, signal)).items;
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete<T = void>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  /** Fetches a file with the bearer token and hands it to the browser as a download. */
  async download(path: string, fallbackName: string): Promise<void> {
    const response = await fetch(`${BASE}${path}`, { headers: { authorization: this.authorization } });
    if (!response.ok) {
      const text = await response.text();
      const parsed = safeJson(text);
      throw new ApiError(response.status, isObject(parsed) ? parsed : { detail: text });
    }
    const disposition = response.headers.get('content-disposition') ?? '';
    const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    // Give the browser a moment to start the download before the URL goes away.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.problem.errors?.map((violation) => `${violation.path}: ${violation.message}`) ?? [];
    return [error.message, ...fields.filter((field) => !error.message.includes(field))].join(' — ');
  }
  return error instanceof Error ? error.message : String(error);
}

export const projectPath = (projectId: string) => `/projects/${encodeURIComponent(projectId)}`;
export const clusterPath = (projectId: string, clusterId: string) => `${projectPath(projectId)}/clusters/${encodeURIComponent(clusterId)}`;
