// Seed API clients, built from each seed's sealed kubeconfig and reused while it is unchanged.
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, sealingContext, type SecretBox } from '../../../core/src/index.js';
import { SeedRepository, type ClusterRow } from '../../../db/src/index.js';
import { KubeClient } from '../../../kube/src/index.js';
import { SECRET_BOX } from '../../../platform/src/index.js';

@Injectable()
export class SeedClients {
  private readonly cache = new Map<string, { sealed: string; client: KubeClient }>();

  constructor(
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly seeds: SeedRepository,
  ) {}

  async clientFor(cluster: Pick<ClusterRow, 'id' | 'seed_id'>): Promise<KubeClient> {
    // 'precondition'/'not_found', never 'validation': the job runner keeps retrying these as before.
    if (!cluster.seed_id) throw new DomainError('precondition', 'cluster_has_no_seed', `cluster ${cluster.id} has no seed`);
    const seed = await this.seeds.findById(cluster.seed_id);
    if (!seed) throw new DomainError('not_found', 'seed_not_found', `seed ${cluster.seed_id} of cluster ${cluster.id} no longer exists`);
    const cached = this.cache.get(seed.id);
    if (cached?.sealed === seed.sealed_kubeconfig) return cached.client;
    // One client per seed keeps one pool of connections; a replaced kubeconfig drops the old pool.
    cached?.client.close();
    const client = KubeClient.fromYaml(this.box.open(seed.sealed_kubeconfig, sealingContext.seedKubeconfig(seed.id)));
    this.cache.set(seed.id, { sealed: seed.sealed_kubeconfig, client });
    return client;
  }
}
