import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { conflict, isUuid, notFound, parseInput, registerSeedSchema, required, sealingContext, type SecretBox } from '../../../core/src/index.js';
import { AuditRepository, ClusterRepository, SeedRepository, UnitOfWork, type SeedWithUsage } from '../../../db/src/index.js';
import { parseKubeconfig, probeApiServer } from '../../../kube/src/index.js';
import { QueueService, SECRET_BOX } from '../../../platform/src/index.js';
import { auditBase, type Actor } from '../auth/principal.js';
import { IdentityService } from '../identity/identity.service.js';

export const presentSeed = (row: SeedWithUsage) => ({
  id: row.id,
  name: row.name,
  provider: row.provider,
  region: row.region,
  labels: row.labels,
  serverUrl: row.server_url,
  serverVersion: row.server_version,
  capacity: { used: row.used_clusters, max: row.max_clusters },
  cordoned: row.cordoned,
  schedulable: !row.cordoned && row.health !== 'Unreachable' && row.used_clusters < row.max_clusters,
  health: { status: row.health, message: row.health_message, checkedAt: row.health_checked_at?.toISOString() ?? null },
  createdAt: row.created_at.toISOString(),
});

@Injectable()
export class SeedsService {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    private readonly seeds: SeedRepository,
    private readonly clusters: ClusterRepository,
    private readonly audit: AuditRepository,
    private readonly identity: IdentityService,
    private readonly queues: QueueService,
  ) {}

  async register(actor: Actor, body: unknown) {
    this.identity.requireAdmin(actor);
    const input = parseInput(registerSeedSchema, body);
    if (await this.seeds.findByName(input.name)) throw conflict('seed_exists', `a seed named ${input.name} already exists`);
    const kubeconfig = parseKubeconfig(input.kubeconfig);
    const version = await probeApiServer(kubeconfig);
    const id = randomUUID();
    await this.unitOfWork.run(async (trx) => {
      await this.seeds.insert(
        {
          id,
          name: input.name,
          provider: input.provider ?? null,
          region: input.region ?? null,
          labels: input.labels,
          sealed_kubeconfig: this.secrets.seal(input.kubeconfig, sealingContext.seedKubeconfig(id)),
          server_url: version.serverUrl,
          server_version: version.gitVersion,
          max_clusters: input.maxClusters,
          cordoned: false,
          health: 'Healthy',
          health_message: 'answered /version at registration',
          health_checked_at: new Date(),
        },
        trx,
      );
      await this.audit.append(
        {
          ...auditBase(actor, null),
          action: 'seed.register',
          resourceType: 'seed',
          resourceId: id,
          details: { name: input.name, serverUrl: version.serverUrl },
        },
        trx,
      );
    });
    return presentSeed(required(await this.seeds.findById(id), 'seed just registered'));
  }

  async list(actor: Actor) {
    this.identity.requireAdmin(actor);
    return (await this.seeds.list()).map(presentSeed);
  }

  async get(actor: Actor, seedId: string) {
    this.identity.requireAdmin(actor);
    return presentSeed(await this.find(seedId));
  }

  async setCordoned(actor: Actor, seedId: string, cordoned: boolean) {
    this.identity.requireAdmin(actor);
    await this.find(seedId);
    await this.unitOfWork.run(async (trx) => {
      await this.seeds.setCordoned(seedId, cordoned, trx);
      await this.audit.append({ ...auditBase(actor, null), action: cordoned ? 'seed.cordon' : 'seed.uncordon', resourceType: 'seed', resourceId: seedId }, trx);
    });
    return presentSeed(await this.find(seedId));
  }

  async delete(actor: Actor, seedId: string): Promise<void> {
    this.identity.requireAdmin(actor);
    await this.find(seedId);
    await this.unitOfWork.run(async (trx) => {
      const live = await this.clusters.lockLiveOnSeed(seedId, trx);
      if (live.length > 0) throw conflict('seed_has_clusters', `${live.length} cluster(s) still live on this seed`);
      await this.seeds.delete(seedId, trx);
      await this.audit.append({ ...auditBase(actor, null), action: 'seed.delete', resourceType: 'seed', resourceId: seedId }, trx);
    });
  }

  /** Regions and seeds a user may ask for when creating a cluster (no secrets, no URLs). */
  async placementOptions() {
    return (await this.seeds.list()).map((row) => ({
      seed: row.name,
      provider: row.provider,
      region: row.region,
      schedulable: !row.cordoned && row.health !== 'Unreachable' && row.used_clusters < row.max_clusters,
    }));
  }

  async checkNow(actor: Actor, seedId: string) {
    this.identity.requireAdmin(actor);
    await this.find(seedId);
    await this.queues.checkSeed(seedId);
    return presentSeed(await this.find(seedId));
  }

  private async find(seedId: string): Promise<SeedWithUsage> {
    const seed = isUuid(seedId) ? await this.seeds.findById(seedId) : undefined;
    if (!seed) throw notFound('seed');
    return seed;
  }
}
