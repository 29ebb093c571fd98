// The pool's credentials for its machines: its own SSH key pair (made once) and the kubeadm
// bootstrap token, which lives only while nodes are joining.
import { Inject, Injectable } from '@nestjs/common';
import {
  decideTokenRefresh,
  formatBootstrapToken,
  generateBootstrapToken,
  parseBootstrapToken,
  type BootstrapToken,
} from '../../../core/src/bootstrap/bootstrap-token.js';
import { generateSshKeyPair } from '../../../core/src/crypto/ssh-keys.js';
import { sealingContext, type NodePhase, type SecretBox } from '../../../core/src/index.js';
import { NodePoolRepository, NodeRepository, type NodePoolRow } from '../../../db/src/index.js';
import { SECRET_BOX } from '../../../platform/src/index.js';
import { JOINING_PHASES, type PassContext } from './pool-pass.js';

@Injectable()
export class PoolCredentials {
  constructor(
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    private readonly pools: NodePoolRepository,
    private readonly nodes: NodeRepository,
  ) {}

  /** The pool's own SSH key pair, made once: the public key goes to every machine, the private key to the health checker's probe. */
  async ensureSshKey(pool: NodePoolRow): Promise<NodePoolRow> {
    if (pool.ssh_public_key && pool.sealed_ssh_private_key) return pool;
    const pair = generateSshKeyPair(`harbormaster-pool-${pool.id}`);
    await this.pools.storeSshKeyOnce(pool.id, pair.publicKey, this.box.seal(pair.privateKey, sealingContext.poolSshPrivateKey(pool.id)));
    return (await this.pools.find(pool.cluster_id, pool.id)) ?? pool;
  }

  /**
   * One bootstrap token per pool exists only while nodes are joining: created (row first, then
   * the tenant Secret), pushed out before it lapses, and deleted once no node needs it.
   */
  async reconcileToken(context: PassContext): Promise<BootstrapToken | undefined> {
    const { pool, cluster, tenant } = context;
    const rows = await this.nodes.listLive(pool.id);
    const joining = context.desired === 0 ? 0 : rows.filter((row) => JOINING_PHASES.includes(row.phase as NodePhase)).length;
    const current = await this.pools.find(cluster.id, pool.id);
    if (!current) return undefined;
    const stored = current.sealed_bootstrap_token
      ? parseBootstrapToken(this.box.open(current.sealed_bootstrap_token, sealingContext.poolBootstrapToken(pool.id)))
      : undefined;
    const now = new Date();
    const decision = decideTokenRefresh({ now, expiresAt: stored ? (current.bootstrap_token_expires_at ?? undefined) : undefined, joiningNodes: joining });
    switch (decision.action) {
      case 'none':
        return undefined;
      case 'delete':
        if (stored && !context.clusterGoing) {
          if (!tenant) {
            context.wait = true;
            return undefined;
          }
          await tenant.nodes.deleteBootstrapToken(stored.id);
        }
        await this.pools.clearBootstrapToken(pool.id, now);
        return undefined;
      case 'create': {
        if (!tenant) return undefined;
        const token = generateBootstrapToken();
        // Sealed in the row before the tenant holds it, so the token the tenant accepts is never unknown to us.
        await this.pools.storeBootstrapToken(
          pool.id,
          this.box.seal(formatBootstrapToken(token), sealingContext.poolBootstrapToken(pool.id)),
          decision.expiresAt,
          now,
        );
        if (stored) await tenant.nodes.deleteBootstrapToken(stored.id);
        await tenant.nodes.applyBootstrapToken(token, decision.expiresAt, pool.id);
        return token;
      }
      case 'extend':
        if (!tenant || !stored) return stored;
        await this.pools.extendBootstrapToken(pool.id, decision.expiresAt, now);
        await tenant.nodes.applyBootstrapToken(stored, decision.expiresAt, pool.id);
        return stored;
      case 'keep':
        // Applied again each pass while nodes join, so a Secret deleted behind our back comes back.
        if (tenant && stored && current.bootstrap_token_expires_at) await tenant.nodes.applyBootstrapToken(stored, current.bootstrap_token_expires_at, pool.id);
        return stored;
    }
  }
}
