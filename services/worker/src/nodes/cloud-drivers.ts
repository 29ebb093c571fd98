// The one place the worker gets a CloudDriver: it opens the pool's sealed provider credential,
// asks CloudAccess which endpoint answers for that account (the real cloud, a configured
// override, or the sandbox's simulators) and keeps one driver per credential.
import { Inject, Injectable } from '@nestjs/common';
import { sealingContext, type SecretBox } from '../../../core/src/index.js';
import { createCloudDriver, isProviderName, type CloudCredentials, type CloudDriver, type SealedCredential } from '../../../clouds/src/index.js';
import { ProjectRepository, type NodePoolRow } from '../../../db/src/index.js';
import { CloudAccess, SECRET_BOX } from '../../../platform/src/index.js';

/** The pool's credential is deleted, belongs to another provider, or names no provider this build knows. */
export class CredentialGoneError extends Error {
  override readonly name = 'CredentialGoneError';
}

@Injectable()
export class CloudDrivers {
  private readonly cache = new Map<string, { sealed: string; endpoint: string | undefined; driver: CloudDriver }>();

  constructor(
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly projects: ProjectRepository,
    private readonly access: CloudAccess,
  ) {}

  async forPool(pool: Pick<NodePoolRow, 'project_id' | 'credential_id' | 'provider'>): Promise<CloudDriver> {
    const row = await this.projects.findCredential(pool.project_id, pool.credential_id);
    if (!row) throw new CredentialGoneError(`credential ${pool.credential_id} of the node pool no longer exists`);
    if (row.provider !== pool.provider) throw new CredentialGoneError(`credential ${row.id} is for ${row.provider}, the pool for ${pool.provider}`);
    if (!isProviderName(row.provider)) throw new CredentialGoneError(`credential ${row.id} is for ${row.provider}, a provider this worker does not know`);
    // The sealed object is the one the API's provider definition produced (SealedCredential).
    const secret = this.box.openJson<SealedCredential>(row.sealed_secret, sealingContext.providerCredential(row.id));
    const account = { ...secret, provider: row.provider } as CloudCredentials;
    const endpoint = await this.access.endpointFor(account);
    const cached = this.cache.get(row.id);
    if (cached?.sealed === row.sealed_secret && cached.endpoint === endpoint) return cached.driver;
    // One budget per provider account, shared by every worker replica (HM_CLOUD_RATE_LIMIT_PER_SECOND).
    const driver = createCloudDriver(account, { endpoint, requestTimeoutMs: 30_000, rateLimiter: { limiter: this.access.requestLimiter, accountKey: row.id } });
    this.cache.set(row.id, { sealed: row.sealed_secret, endpoint, driver });
    return driver;
  }
}
