import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  DomainError,
  conflict,
  createClusterSchema,
  findVersion,
  generateClusterName,
  isUuid,
  kubeletSkewProblem,
  newestVersion,
  nodePoolPlacementProblem,
  notFound,
  parseInput,
  upgradeClusterSchema,
  required,
  type CreateNodePoolInput,
  type SecretBox,
} from '../../../core/src/index.js';
import {
  AuditRepository,
  ClusterRepository,
  NodePoolRepository,
  NodeRepository,
  OperationRepository,
  ProjectRepository,
  SeedRepository,
  UnitOfWork,
  type ClusterRow,
  type OperationRow,
  type Tx,
} from '../../../db/src/index.js';
import { APP_CONFIG, ClusterEvents, SECRET_BOX, type AppConfig } from '../../../platform/src/index.js';
import { clusterKubeconfig, openClusterSecrets } from '../../../kube/src/index.js';
import { isProviderName, providerDefinition } from '../../../clouds/src/providers/index.js';
import { auditBase, type Actor } from '../auth/principal.js';
import { OperationsService } from '../operations/operations.service.js';
import { ProjectAccess } from '../projects/project-access.js';
import { clusterSummary, poolSummaryInput, presentCluster, presentEvent, presentOperation, type SummaryNodeRow, type SummaryPoolRow } from './presenters.js';
import type { ClusterSummary } from '../../../core/src/state/cluster-summary.js';

@Injectable()
export class ClustersService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly unitOfWork: UnitOfWork,
    private readonly clusters: ClusterRepository,
    private readonly pools: NodePoolRepository,
    private readonly nodes: NodeRepository,
    private readonly operationRows: OperationRepository,
    private readonly seeds: SeedRepository,
    private readonly projects: ProjectRepository,
    private readonly audit: AuditRepository,
    private readonly events: ClusterEvents,
    private readonly operations: OperationsService,
    private readonly access: ProjectAccess,
  ) {}

  /** One-click create: everything but the project is optional. */
  async create(actor: Actor, projectId: string, body: unknown) {
    await this.access.require(actor, projectId, 'editor');
    const input = parseInput(createClusterSchema, body === undefined ? {} : body);
    const name = input.name ?? generateClusterName();
    const version = input.version ?? newestVersion().version;
    if ((await this.clusters.countLiveInProject(projectId)) >= this.config.quotas.clustersPerProject) {
      throw new DomainError('quota', 'quota_clusters_exceeded', `the project may have at most ${this.config.quotas.clustersPerProject} clusters`);
    }
    if (input.nodePool) await this.checkNewPool(projectId, input.nodePool, 'nodePool.');
    // A seed that does not exist is the caller's mistake (422), unlike a full one (503).
    if (input.seed && !(await this.seeds.findByName(input.seed))) {
      throw new DomainError('validation', 'seed_not_found', `there is no seed named ${input.seed}`, [{ path: 'seed', message: 'no such seed' }]);
    }
    // Likewise a region no seed serves at all (503 no_seed_capacity would tell the caller to retry).
    if (input.region && !(await this.seeds.list()).some((seed) => seed.region === input.region)) {
      throw new DomainError('validation', 'region_not_served', `no seed serves region ${input.region}`, [
        { path: 'region', message: 'no seed in this region' },
      ]);
    }
    const clusterId = randomUUID();
    const poolId = randomUUID();
    const now = new Date();
    const seedName = await this.unitOfWork.run(async (tx) => {
      if (await this.clusters.findLiveByName(projectId, name, tx)) throw conflict('cluster_exists', `a cluster named ${name} already exists in this project`);
      const [seed] = await this.seeds.lockSchedulable(tx, { name: input.seed, region: input.region });
      if (!seed) {
        const wanted = input.seed ? `seed ${input.seed}` : input.region ? `region ${input.region}` : 'any seed';
        throw new DomainError('unavailable', 'no_seed_capacity', `no schedulable seed with free capacity for ${wanted}`);
      }
      await this.clusters.insert(
        {
          id: clusterId,
          project_id: projectId,
          name,
          version,
          seed_id: seed.id,
          expose_strategy: input.exposeStrategy,
          pod_cidr: input.network.podCidr,
          service_cidr: input.network.serviceCidr,
          etcd_replicas: input.etcdReplicas,
          cni: input.cni,
          network_mtu: input.network.mtu ?? null,
          addons: JSON.stringify(input.addons),
          phase: 'Provisioning',
          phase_reason: 'Placed',
          conditions: JSON.stringify([]),
          endpoint: null,
          generation: 1,
          observed_generation: 0,
          sealed_secrets: null,
          updated_at: now,
          deletion_requested_at: null,
          deleted_at: null,
        },
        tx,
      );
      await this.events.record(
        { clusterId, projectId, reason: 'Placed', message: `placed on seed ${seed.name} (${seed.used_clusters + 1}/${seed.max_clusters})` },
        tx,
      );
      if (input.nodePool) await this.insertPool(tx, projectId, clusterId, poolId, input.nodePool, now);
      await this.audit.append(
        {
          ...auditBase(actor, projectId),
          action: 'cluster.create',
          resourceType: 'cluster',
          resourceId: clusterId,
          details: { name, version, seed: seed.name },
        },
        tx,
      );
      return seed.name;
    });
    await this.operations.announce(clusterId, input.nodePool ? [{ kind: 'cluster' }, { kind: 'pool', poolId }] : [{ kind: 'cluster' }]);
    const created = await this.clusters.findById(clusterId);
    if (!created) throw notFound('cluster');
    return presentCluster(created, seedName, await this.summaryFor(created, seedName));
  }

  async list(actor: Actor, projectId: string) {
    // Access and reads side by side: nothing read is shown unless access is granted.
    const [, seeds, rows] = await Promise.all([
      this.access.require(actor, projectId, 'viewer'),
      this.seeds.list(),
      isUuid(projectId) ? this.clusters.listLive(projectId) : [],
    ]);
    const seedNames = new Map(seeds.map((seed) => [seed.id, seed.name]));
    const withSeeds = rows.map((row) => ({ row, seedName: row.seed_id ? (seedNames.get(row.seed_id) ?? null) : null }));
    const summaries = await this.summariesFor(withSeeds);
    return withSeeds.map(({ row, seedName }, index) => presentCluster(row, seedName, summaries[index]));
  }

  async get(actor: Actor, projectId: string, clusterId: string) {
    // One round trip after authentication: access, the row and its summary's parts side by side
    // (nothing read is shown unless access is granted). A reader's latency is its round trips.
    const readable = isUuid(projectId) && isUuid(clusterId);
    const [, found, parts] = await Promise.all([
      this.access.require(actor, projectId, 'viewer'),
      readable ? this.clusters.findLivePublic(projectId, clusterId) : undefined,
      readable ? this.summaryParts([clusterId], [clusterId]) : undefined,
    ]);
    if (!found || !parts) throw notFound('cluster');
    return presentCluster(found.row, found.seedName, this.composeSummaries([found], parts)[0]);
  }

  /** The cluster's status model from its row, its pools and their nodes, and an open upgrade. */
  async summaryFor(row: Omit<ClusterRow, 'sealed_secrets'>, seedName: string | null): Promise<ClusterSummary> {
    return (await this.summariesFor([{ row, seedName }]))[0];
  }

  /**
   * The status models of several clusters in three concurrent queries whatever their number (pools,
   * nodes, open upgrades), not three per cluster and one per pool: a project listing's cost was
   * those round trips.
   */
  async summariesFor(clusters: readonly SummarySubject[]): Promise<ClusterSummary[]> {
    const upgrading = clusters.filter(({ row }) => isUpgrading(row)).map(({ row }) => row.id);
    return this.composeSummaries(
      clusters,
      await this.summaryParts(
        clusters.map(({ row }) => row.id),
        upgrading,
      ),
    );
  }

  private async summaryParts(clusterIds: readonly string[], upgradingIds: readonly string[]): Promise<SummaryParts> {
    const [pools, nodes, upgrades] = await Promise.all([
      this.pools.listSummariesOfClusters(clusterIds),
      this.nodes.listLiveInClusters(clusterIds),
      this.operationRows.listOpenOfClusters(upgradingIds, 'upgrade'),
    ]);
    return { pools, nodes, upgrades };
  }

  private composeSummaries(clusters: readonly SummarySubject[], { pools, nodes, upgrades }: SummaryParts): ClusterSummary[] {
    const nodesByPool = groupBy(nodes, (node) => node.pool_id);
    const poolsByCluster = groupBy(pools, (pool) => pool.cluster_id);
    // Oldest first: the first open upgrade of a cluster is the one its components may still run the start of.
    const oldestUpgrade = new Map<string, string | undefined>();
    for (const upgrade of upgrades) if (!oldestUpgrade.has(upgrade.cluster_id)) oldestUpgrade.set(upgrade.cluster_id, upgradeStartVersion(upgrade.target));
    return clusters.map(({ row, seedName }) =>
      clusterSummary(
        row,
        seedName,
        (poolsByCluster.get(row.id) ?? []).map((pool) => poolSummaryInput(pool, nodesByPool.get(pool.id) ?? [])),
        isUpgrading(row) ? oldestUpgrade.get(row.id) : undefined,
      ),
    );
  }

  async delete(actor: Actor, projectId: string, clusterId: string) {
    await this.access.require(actor, projectId, 'editor');
    const cluster = await this.find(projectId, clusterId);
    const existing = (await this.operationRows.listOpen({ clusterId, kind: 'delete-cluster' }))[0];
    if (existing) return presentOperation(existing);
    const operation = await this.operations.open({
      actor,
      projectId,
      clusterId,
      poolId: null,
      kind: 'delete-cluster',
      target: {},
      change: (tx, { now }) =>
        this.clusters.update(
          clusterId,
          { deletion_requested_at: now, phase: 'Deleting', phase_reason: 'DeletionRequested', generation: cluster.generation + 1 },
          tx,
        ),
      event: { reason: 'DeletionRequested', message: `deletion requested by ${actor.principal.email}` },
      audit: { action: 'cluster.delete', resourceType: 'cluster', resourceId: clusterId },
    });
    return presentOperation(operation);
  }

  /** Upgrades go one minor at a time and never down. */
  async upgrade(actor: Actor, projectId: string, clusterId: string, body: unknown) {
    await this.access.require(actor, projectId, 'editor');
    const input = parseInput(upgradeClusterSchema, body);
    const cluster = await this.find(projectId, clusterId);
    if (cluster.deletion_requested_at) throw conflict('cluster_deleting', 'the cluster is being deleted');
    const current = findVersion(cluster.version);
    if (input.version === cluster.version) return this.get(actor, projectId, clusterId);
    // upgradeClusterSchema only accepts listed versions.
    const target = required(findVersion(input.version), 'supported version');
    const [currentMinor, targetMinor] = [current?.minor ?? cluster.version, target.minor].map((minor) => Number(minor.split('.')[1]));
    if (targetMinor < currentMinor || (targetMinor === currentMinor && compareVersions(input.version, cluster.version) < 0)) {
      throw new DomainError('validation', 'downgrade_not_allowed', `cannot go from ${cluster.version} down to ${input.version}`);
    }
    if (targetMinor > currentMinor + 1) {
      throw new DomainError(
        'validation',
        'upgrade_skips_minor',
        `upgrade one minor version at a time: ${cluster.version} can go to 1.${currentMinor + 1}.x next`,
      );
    }
    // The components may still run the version an open upgrade started from: one minor at a
    // time counts from there, so 1.35 → 1.36 (rolling) → 1.37 waits for the first to finish.
    const rollingFrom = await this.versionBeforeOpenUpgrades(clusterId);
    if (rollingFrom) {
      const fromMinor = Number((findVersion(rollingFrom)?.minor ?? rollingFrom).split('.')[1]);
      if (targetMinor > fromMinor + 1) {
        throw conflict(
          'upgrade_in_progress',
          `the control plane is still being upgraded from ${rollingFrom} to ${cluster.version}; upgrade to 1.${targetMinor} once that has finished`,
        );
      }
    }
    await this.refuseNodeSkew(clusterId, cluster.version, input.version);
    const operation = await this.operations.open({
      actor,
      projectId,
      clusterId,
      poolId: null,
      kind: 'upgrade',
      target: { version: input.version, from: cluster.version },
      change: (tx) =>
        this.clusters.update(
          clusterId,
          { version: input.version, generation: cluster.generation + 1, phase: 'Updating', phase_reason: 'UpgradeRequested' },
          tx,
        ),
      event: { reason: 'UpgradeRequested', message: `upgrade from ${cluster.version} to ${input.version} requested` },
      audit: { action: 'cluster.upgrade', resourceType: 'cluster', resourceId: clusterId, details: { from: cluster.version, to: input.version } },
    });
    return { operation: presentOperation(operation), cluster: await this.get(actor, projectId, clusterId) };
  }

  /** The version the oldest still-open upgrade of the cluster started from, if one is open. */
  private async versionBeforeOpenUpgrades(clusterId: string): Promise<string | undefined> {
    const [oldest] = await this.operationRows.listOpen({ clusterId, kind: 'upgrade' });
    return oldest ? upgradeStartVersion(oldest.target) : undefined;
  }

  /**
   * Nodes keep their kubelet through a control-plane upgrade, so an upgrade that would leave any
   * of them outside the supported skew is refused. A node that has not registered yet runs the
   * version it was provisioned with, which is the cluster's current one.
   */
  private async refuseNodeSkew(clusterId: string, currentVersion: string, targetVersion: string): Promise<void> {
    const nodes = await this.nodes.listKubeletVersionsInCluster(clusterId);
    const problems = nodes.flatMap((node) => {
      const problem = kubeletSkewProblem(targetVersion, node.kubelet_version ?? currentVersion);
      return problem ? [{ path: `nodes.${node.name}`, message: problem }] : [];
    });
    if (problems.length > 0) {
      throw new DomainError(
        'conflict',
        'node_version_skew',
        `upgrading to ${targetVersion} would leave ${problems.length} node(s) outside the supported kubelet version skew; replace or upgrade them first`,
        problems.slice(0, 20),
      );
    }
  }

  async listEvents(actor: Actor, projectId: string, clusterId: string, afterId: number) {
    await this.access.require(actor, projectId, 'viewer');
    await this.findIncludingDeleted(projectId, clusterId);
    return (await this.events.since(clusterId, afterId)).map(presentEvent);
  }

  /** Authorises an event stream; the controller then streams with ClusterEvents. */
  async authorizeEventStream(actor: Actor, projectId: string, clusterId: string): Promise<ClusterRow> {
    await this.access.require(actor, projectId, 'viewer');
    return this.findIncludingDeleted(projectId, clusterId);
  }

  async listOperations(actor: Actor, projectId: string, clusterId: string) {
    await this.access.require(actor, projectId, 'viewer');
    await this.findIncludingDeleted(projectId, clusterId);
    return (await this.operationRows.listForCluster(clusterId)).map(presentOperation);
  }

  async getOperation(actor: Actor, projectId: string, operationId: string) {
    await this.access.require(actor, projectId, 'viewer');
    const operation = isUuid(operationId) ? await this.operationRows.find(projectId, operationId) : undefined;
    if (!operation) throw notFound('operation');
    return presentOperation(operation);
  }

  /** Editors and owners get an admin kubeconfig, viewers a read-only one. */
  async kubeconfig(actor: Actor, projectId: string, clusterId: string): Promise<{ filename: string; content: string }> {
    const { role } = await this.access.require(actor, projectId, 'viewer');
    const cluster = await this.find(projectId, clusterId);
    if (!cluster.endpoint || !cluster.sealed_secrets) {
      throw new DomainError('precondition', 'kubeconfig_unavailable', `the control plane has no endpoint yet (phase ${cluster.phase})`);
    }
    const secrets = openClusterSecrets(this.box, cluster.id, cluster.sealed_secrets);
    if (!secrets) throw new DomainError('precondition', 'kubeconfig_unavailable', 'the control plane has no credentials yet');
    const kubeconfigRole = role === 'viewer' ? 'viewer' : 'admin';
    const content = clusterKubeconfig({ clusterName: cluster.name, endpoint: cluster.endpoint, pki: secrets.pki, role: kubeconfigRole });
    await this.audit.append({
      ...auditBase(actor, projectId),
      action: 'cluster.kubeconfig',
      resourceType: 'cluster',
      resourceId: clusterId,
      details: { role: kubeconfigRole },
    });
    return { filename: `${cluster.name}-${kubeconfigRole}.kubeconfig`, content };
  }

  /**
   * A pool about to be created: its credential, then whether its provider sells what it names
   * (region, size, image: refused here rather than by the cloud after it is stored), then quota.
   * `pathPrefix` is where the pool sits in the request body (`nodePool.` in a one-click create).
   */
  async checkNewPool(projectId: string, pool: CreateNodePoolInput, pathPrefix: string): Promise<void> {
    const credential = await this.projects.findCredential(projectId, pool.credentialId);
    if (!credential)
      throw new DomainError('validation', 'credential_not_found', `${pathPrefix}credentialId does not name a credential of this project`, [
        { path: `${pathPrefix}credentialId`, message: 'unknown credential' },
      ]);
    if (!isProviderName(credential.provider))
      throw new DomainError(
        'validation',
        'unknown_provider',
        `credential ${credential.name} is for ${credential.provider}, which this installation does not provide`,
      );
    const provider = providerDefinition(credential.provider);
    const image = pool.image ?? provider.nodePools.image;
    const imageProblem = provider.imageReferenceProblem(image);
    if (imageProblem)
      throw new DomainError('validation', 'unknown_image', imageProblem, [{ path: `${pathPrefix}image`, message: imageProblem, code: 'unknown_image' }]);
    const fixedRegion = provider.credential.regionFrom ? credential.summary[provider.credential.regionFrom] : undefined;
    const placementProblem = nodePoolPlacementProblem(
      provider.label,
      provider.nodePoolCatalog,
      { region: pool.region, size: pool.size, image },
      { fixedRegion, pathPrefix },
    );
    if (placementProblem) throw placementProblem;
    await this.checkPoolInput(projectId, pool, undefined);
  }

  async checkPoolInput(projectId: string, pool: CreateNodePoolInput, excludePoolId: string | undefined): Promise<void> {
    const credential = await this.projects.findCredential(projectId, pool.credentialId);
    if (!credential)
      throw new DomainError('validation', 'credential_not_found', 'nodePool.credentialId does not name a credential of this project', [
        { path: 'credentialId', message: 'unknown credential' },
      ]);
    const used = await this.pools.sumReplicasInProject(projectId, excludePoolId);
    if (used + pool.replicas > this.config.quotas.nodesPerProject) {
      throw new DomainError('quota', 'quota_nodes_exceeded', `the project may have at most ${this.config.quotas.nodesPerProject} nodes; ${used} are in use`);
    }
  }

  async insertPool(tx: Tx, projectId: string, clusterId: string, poolId: string, pool: CreateNodePoolInput, now: Date): Promise<void> {
    const credential = await this.projects.findCredential(projectId, pool.credentialId, tx);
    if (!credential) throw new DomainError('validation', 'credential_not_found', 'credentialId does not name a credential of this project');
    if (!isProviderName(credential.provider))
      throw new DomainError(
        'validation',
        'unknown_provider',
        `credential ${credential.name} is for ${credential.provider}, which this installation does not provide`,
      );
    // checkNewPool has vetted the image and what the pool names before this transaction.
    const image = pool.image ?? providerDefinition(credential.provider).nodePools.image;
    await this.pools.insert(
      {
        id: poolId,
        cluster_id: clusterId,
        project_id: projectId,
        name: pool.name,
        credential_id: credential.id,
        provider: credential.provider,
        region: pool.region,
        size: pool.size,
        image,
        replicas: pool.replicas,
        labels: pool.labels,
        taints: pool.taints,
        ssh_public_keys: pool.sshPublicKeys,
        health_check: pool.healthCheck,
        conditions: [],
        generation: 1,
        updated_at: now,
        deletion_requested_at: null,
      },
      tx,
    );
    await this.events.record(
      { clusterId, projectId, reason: 'NodePoolCreated', message: `node pool ${pool.name} created with ${pool.replicas} replica(s)` },
      tx,
    );
  }

  async find(projectId: string, clusterId: string): Promise<ClusterRow> {
    const cluster = isUuid(clusterId) ? await this.clusters.findLive(projectId, clusterId) : undefined;
    if (!cluster) throw notFound('cluster');
    return cluster;
  }

  private async findIncludingDeleted(projectId: string, clusterId: string): Promise<ClusterRow> {
    const cluster = isUuid(clusterId) ? await this.clusters.findById(clusterId) : undefined;
    if (cluster?.project_id !== projectId) throw notFound('cluster');
    return cluster;
  }

  async seedName(cluster: ClusterRow): Promise<string | null> {
    return cluster.seed_id ? ((await this.seeds.findById(cluster.seed_id))?.name ?? null) : null;
  }
}

interface SummarySubject {
  row: Omit<ClusterRow, 'sealed_secrets'>;
  seedName: string | null;
}

interface SummaryParts {
  pools: SummaryPoolRow[];
  nodes: SummaryNodeRow[];
  upgrades: OperationRow[];
}

/** Once the control plane observed the newest generation it runs the target, whatever the operation row says yet. */
const isUpgrading = (row: Pick<ClusterRow, 'generation' | 'observed_generation'>): boolean => row.observed_generation < row.generation;

/** The version an upgrade operation started from, as its target recorded it. */
function upgradeStartVersion(target: Record<string, unknown>): string | undefined {
  return typeof target.from === 'string' ? target.from : undefined;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((version) => version.split('.').map(Number));
  for (let i = 0; i < 3; i += 1) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}
