// Typed, validated environment configuration. Every default here is the embedded default:
// with nothing set, the system runs on PGlite in ./.data, local Redis, the sandbox seed and
// the simulated clouds, with api and worker in one process.
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_SSH_USER } from '../../core/src/bootstrap/cloud-init.js';
import { PROVIDER_NAMES, PROVIDERS, type ProviderName } from '../../clouds/src/providers/index.js';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((value) => value === 'true' || value === '1' || value === 'yes');

const envSchema = z.object({
  HM_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HM_DATA_DIR: z.string().default('./.data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  HM_MASTER_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  HM_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/)
    .default('hm'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HM_BULL_BOARD: bool.default(false),
  HM_SANDBOX: bool.optional(),
  HM_RESYNC_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  HM_SCHEDULE_CHECK_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  HM_SEED_HEALTH_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  HM_SEED_UNREACHABLE_AFTER_FAILURES: z.coerce.number().int().min(1).max(100).default(3),
  HM_CLUSTER_HEALTH_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(15),
  HM_QUOTA_CLUSTERS_PER_PROJECT: z.coerce.number().int().min(0).default(20),
  HM_QUOTA_NODES_PER_PROJECT: z.coerce.number().int().min(0).default(200),
  HM_SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  HM_CLOUD_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0.1).max(10_000).default(10),
  HM_NODE_HEALTH_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(15),
  HM_NODE_SSH_USER: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a Unix user name')
    .optional(),
  HM_NODE_SSH_PORT: z.coerce.number().int().min(1).max(65535).default(22),
  HM_NODE_SSH_TIMEOUT_SECONDS: z.coerce.number().min(1).max(120).default(10),
  HM_NODE_DRAIN_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(86_400).default(600),
  HM_PROGRESS_DEADLINE_SECONDS: z.coerce.number().int().min(10).max(86_400).default(1_200),
  HM_WATCHED_WAIT_POLL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(30),
  // Fractions allowed (0.5 is 30 minutes); at most a year.
  HM_INVITATION_TTL_HOURS: z.coerce.number().positive().max(8_760).default(168),
});

export interface AppConfig {
  role: 'all' | 'api' | 'worker';
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string;
  masterKey: Buffer | undefined;
  queuePrefix: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  bullBoard: boolean;
  /** Start the local sandbox seed and simulated clouds inside this process. */
  sandbox: boolean;
  resyncIntervalSeconds: number;
  /** How often the worker makes sure its job schedulers still exist in Redis. */
  scheduleCheckSeconds: number;
  seedHealthIntervalSeconds: number;
  seedUnreachableAfterFailures: number;
  /** How often Running clusters are probed (and so re-reconciled for drift). */
  clusterHealthIntervalSeconds: number;
  quotas: { clustersPerProject: number; nodesPerProject: number };
  shutdownTimeoutSeconds: number;
  clouds: {
    /** Endpoint overrides per provider (each definition names its variable, e.g. HM_AWS_ENDPOINT); unset means the real cloud. */
    endpoints: Partial<Record<ProviderName, string>>;
    /** Cloud API requests per second per provider account, shared by every worker replica. */
    rateLimitPerSecond: number;
  };
  /** How often each cluster's nodes are health-checked (Node Ready, Lease, SSH). */
  nodeHealthIntervalSeconds: number;
  /** Who the SSH health probe logs in as, and where: the user cloud-init creates; the sandbox's sshd only admits the local account. */
  nodeSsh: { user: string; port: number; timeoutMs: number };
  /**
   * How long a removal waits for evictions a PodDisruptionBudget refuses before it deletes the
   * Node anyway (Gardener's machineDrainTimeout, Cluster API's nodeDrainTimeout): a budget with
   * nowhere left to reschedule, such as CoreDNS on a pool scaled to zero, never allows it.
   */
  nodeDrainTimeoutSeconds: number;
  /** A control plane still not converged this long after its create or upgrade request is Failed (and still reconciled). */
  progressDeadlineSeconds: number;
  /** A pass waiting on a seed object its watches follow runs again after this long even without a change. */
  watchedWaitPollSeconds: number;
  /** How long a project invitation can be accepted after it was sent. */
  invitationTtlMs: number;
}

export class ConfigError extends Error {}

// Each provider definition names the variable that points its driver at a compatible API.
const endpointSchema = z.object(Object.fromEntries(PROVIDER_NAMES.map((name) => [PROVIDERS[name].endpointEnv, z.url().optional()])));

function endpointOverrides(values: Record<string, string | undefined>): Partial<Record<ProviderName, string>> {
  const endpoints: Partial<Record<ProviderName, string>> = {};
  for (const name of PROVIDER_NAMES) {
    const value = values[PROVIDERS[name].endpointEnv];
    if (value !== undefined) endpoints[name] = value;
  }
  return endpoints;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  const endpoints = endpointSchema.safeParse(env);
  const issues = [...(parsed.error?.issues ?? []), ...(endpoints.error?.issues ?? [])];
  if (!parsed.success || !endpoints.success) {
    const problems = issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new ConfigError(`invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  if (e.HM_ROLE !== 'all' && !e.DATABASE_URL) {
    throw new ConfigError('invalid configuration:\n  DATABASE_URL: required when HM_ROLE is api or worker (PGlite allows one process only)');
  }
  const sandbox = e.HM_SANDBOX ?? (e.HM_ROLE === 'all' && !e.DATABASE_URL);
  return {
    role: e.HM_ROLE,
    host: e.HOST,
    port: e.PORT,
    dataDir: resolve(e.HM_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    masterKey: e.HM_MASTER_KEY ? Buffer.from(e.HM_MASTER_KEY, 'base64') : undefined,
    queuePrefix: e.HM_QUEUE_PREFIX,
    logLevel: e.LOG_LEVEL,
    bullBoard: e.HM_BULL_BOARD,
    sandbox,
    resyncIntervalSeconds: e.HM_RESYNC_INTERVAL_SECONDS,
    scheduleCheckSeconds: e.HM_SCHEDULE_CHECK_SECONDS,
    seedHealthIntervalSeconds: e.HM_SEED_HEALTH_INTERVAL_SECONDS,
    seedUnreachableAfterFailures: e.HM_SEED_UNREACHABLE_AFTER_FAILURES,
    clusterHealthIntervalSeconds: e.HM_CLUSTER_HEALTH_INTERVAL_SECONDS,
    quotas: { clustersPerProject: e.HM_QUOTA_CLUSTERS_PER_PROJECT, nodesPerProject: e.HM_QUOTA_NODES_PER_PROJECT },
    shutdownTimeoutSeconds: e.HM_SHUTDOWN_TIMEOUT_SECONDS,
    clouds: { endpoints: endpointOverrides(endpoints.data), rateLimitPerSecond: e.HM_CLOUD_RATE_LIMIT_PER_SECOND },
    nodeHealthIntervalSeconds: e.HM_NODE_HEALTH_INTERVAL_SECONDS,
    nodeSsh: { user: e.HM_NODE_SSH_USER ?? DEFAULT_SSH_USER, port: e.HM_NODE_SSH_PORT, timeoutMs: Math.round(e.HM_NODE_SSH_TIMEOUT_SECONDS * 1000) },
    nodeDrainTimeoutSeconds: e.HM_NODE_DRAIN_TIMEOUT_SECONDS,
    progressDeadlineSeconds: e.HM_PROGRESS_DEADLINE_SECONDS,
    watchedWaitPollSeconds: e.HM_WATCHED_WAIT_POLL_SECONDS,
    invitationTtlMs: Math.round(e.HM_INVITATION_TTL_HOURS * 3_600_000),
  };
}
