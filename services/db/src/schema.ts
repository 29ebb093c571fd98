// Table types for Kysely. JSON columns are written as JSON text and read back parsed, which
// both node-postgres and PGlite do for jsonb.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Json<T> = ColumnType<T, string, string>;
type CreatedAt = ColumnType<Date, Date | undefined, never>;
/** A nullable column that inserts may leave out. */
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  is_admin: boolean;
  created_at: CreatedAt;
}

export interface ProjectsTable {
  id: string;
  name: string;
  display_name: string;
  created_at: CreatedAt;
}

export interface ProjectMembersTable {
  project_id: string;
  user_id: string;
  role: 'owner' | 'editor' | 'viewer';
  created_at: CreatedAt;
}

export type InvitationState = 'pending' | 'accepted' | 'declined' | 'revoked' | 'expired';

export interface ProjectInvitationsTable {
  id: string;
  project_id: string;
  /** Lower-case, as users.email. */
  email: string;
  role: 'owner' | 'editor' | 'viewer';
  /** `pending` until answered, revoked or superseded; a pending row past expires_at is expired all the same. */
  state: InvitationState;
  invited_by: string | null;
  created_at: CreatedAt;
  expires_at: Date;
  answered_at: Optional<Date>;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  secret_hash: string;
  created_at: CreatedAt;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface ProviderCredentialsTable {
  id: string;
  project_id: string;
  name: string;
  /** A provider registry name (services/clouds/src/providers), checked there rather than by the database. */
  provider: string;
  /** Non-secret facts shown in listings (region, masked key id). */
  summary: Json<Record<string, string>>;
  sealed_secret: string;
  created_at: CreatedAt;
}

export interface SeedsTable {
  id: string;
  name: string;
  provider: string | null;
  region: string | null;
  labels: Json<Record<string, string>>;
  sealed_kubeconfig: string;
  server_url: string;
  server_version: string | null;
  max_clusters: number;
  cordoned: boolean;
  health: 'Healthy' | 'Unreachable' | 'Unknown';
  health_message: string;
  health_checked_at: Date | null;
  /** Consecutive failed probes; reset by a success. */
  health_failures: Generated<number>;
  created_at: CreatedAt;
}

export interface ClustersTable {
  id: string;
  project_id: string;
  name: string;
  version: string;
  /** Null only for deleted clusters whose seed was removed later. */
  seed_id: string | null;
  expose_strategy: 'NodePort' | 'LoadBalancer';
  pod_cidr: string;
  service_cidr: string;
  etcd_replicas: number;
  /** The network plugin (core/addons CNI_PLUGINS); `none` = the user brings one. */
  cni: Generated<string>;
  /** The pod network MTU; null lets the plugin derive it. */
  network_mtu: number | null;
  /** Optional add-ons switched on, e.g. `{ "metricsServer": true }`. */
  addons: ColumnType<{ metricsServer?: boolean }, string | undefined, string>;
  phase: string;
  phase_reason: string;
  conditions: Json<unknown[]>;
  endpoint: string | null;
  generation: number;
  observed_generation: number;
  /** Sealed PKI and other per-cluster secrets, owned by the control-plane reconciler. */
  sealed_secrets: string | null;
  created_at: CreatedAt;
  updated_at: Date;
  deletion_requested_at: Date | null;
  deleted_at: Date | null;
}

export interface NodePoolsTable {
  id: string;
  cluster_id: string;
  project_id: string;
  name: string;
  credential_id: string;
  /** Copied from the pool's credential. */
  provider: string;
  region: string;
  size: string;
  image: string;
  replicas: number;
  labels: Json<Record<string, string>>;
  taints: Json<Array<{ key: string; value?: string; effect: string }>>;
  ssh_public_keys: Json<string[]>;
  health_check: Json<{ startupTimeoutSeconds: number; unhealthyTimeoutSeconds: number; maxUnhealthyPercent: number }>;
  conditions: Json<unknown[]>;
  generation: number;
  /** The pool's kubeadm bootstrap token (sealed), and when it expires in the tenant cluster. */
  sealed_bootstrap_token: Optional<string>;
  bootstrap_token_expires_at: Optional<Date>;
  /** The platform's own SSH key for this pool (sealed private key, OpenSSH public key). */
  sealed_ssh_private_key: Optional<string>;
  ssh_public_key: Optional<string>;
  created_at: CreatedAt;
  updated_at: Date;
  deletion_requested_at: Date | null;
}

export interface NodesTable {
  id: string;
  pool_id: string;
  cluster_id: string;
  name: string;
  cloud_id: string | null;
  private_ip: string | null;
  public_ip: string | null;
  phase: string;
  phase_reason: string;
  last_heartbeat_at: Date | null;
  ssh_probe: Json<{ ok: boolean; at: string; message: string } | null>;
  ssh_host_key: string | null;
  /** From the Node's status.nodeInfo once it registered; the upgrade skew check reads it. */
  kubelet_version: Optional<string>;
  /** The version (no "v") in the user data of the node's machine, recorded before the machine is requested. */
  provisioned_version: Optional<string>;
  /** The cloud's state word, as last seen (pending, running, terminated...). */
  instance_state: Optional<string>;
  phase_changed_at: Optional<Date>;
  /** When the health checker first saw this node unhealthy; cleared when it recovers. */
  unhealthy_since: Optional<Date>;
  /** Set on a replacement machine: the unhealthy node it takes over from. */
  replaces_node_id: Optional<string>;
  /** Health conditions (Ready, LeaseFresh, SshReachable) as the health checker last saw them. */
  conditions: ColumnType<unknown[], string | undefined, string>;
  created_at: CreatedAt;
  updated_at: Date;
  deleted_at: Date | null;
}

export interface OperationsTable {
  id: string;
  project_id: string;
  cluster_id: string;
  pool_id: string | null;
  kind: 'scale' | 'replace-node' | 'rollout-nodes' | 'delete-pool' | 'delete-cluster' | 'upgrade';
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'superseded';
  target: Json<Record<string, unknown>>;
  progress: Json<Record<string, unknown>>;
  message: string;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: Date;
  finished_at: Date | null;
}

export interface ClusterEventsTable {
  id: Generated<number>;
  cluster_id: string;
  project_id: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: CreatedAt;
  actor_user_id: string | null;
  actor_token_id: string | null;
  project_id: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  source_ip: string | null;
  user_agent: string | null;
  details: Json<Record<string, unknown>>;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface Database {
  users: UsersTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  project_invitations: ProjectInvitationsTable;
  api_tokens: ApiTokensTable;
  provider_credentials: ProviderCredentialsTable;
  seeds: SeedsTable;
  clusters: ClustersTable;
  node_pools: NodePoolsTable;
  nodes: NodesTable;
  operations: OperationsTable;
  cluster_events: ClusterEventsTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
}

export type UserRow = Selectable<UsersTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type MemberRow = Selectable<ProjectMembersTable>;
export type InvitationRow = Selectable<ProjectInvitationsTable>;
export type ApiTokenRow = Selectable<ApiTokensTable>;
export type CredentialRow = Selectable<ProviderCredentialsTable>;
export type SeedRow = Selectable<SeedsTable>;
export type ClusterRow = Selectable<ClustersTable>;
export type NewCluster = Insertable<ClustersTable>;
export type ClusterUpdate = Updateable<ClustersTable>;
export type NodePoolRow = Selectable<NodePoolsTable>;
export type NodeRow = Selectable<NodesTable>;
export type OperationRow = Selectable<OperationsTable>;
export type ClusterEventRow = Selectable<ClusterEventsTable>;
export type AuditRow = Selectable<AuditLogTable>;
