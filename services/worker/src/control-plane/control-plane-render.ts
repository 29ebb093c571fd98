// The PKI a pass needs (issued and stored sealed before any Secret refers to it) and the seed
// objects rendered from it, reused by waiting passes while nothing they depend on changed.
import { buildControlPlane, pkiSpecFor, type ApplyGroup, type ControlPlaneSpec } from '../../../core/src/controlplane/index.js';
import { ensureClusterPki } from '../../../core/src/pki/index.js';
import type { SecretBox } from '../../../core/src/index.js';
import type { ClusterRepository, ClusterRow } from '../../../db/src/index.js';
import { openClusterSecrets, sealClusterSecrets, type ClusterSecrets } from '../../../kube/src/index.js';
import type { ClusterStatus } from './cluster-status.js';
import { TRUST_APPLIED_MS } from './pass-backoff.js';

export interface RenderedControlPlane {
  key: string;
  checkedAt: number;
  secrets: ClusterSecrets;
  groups: ApplyGroup[];
}

export class ControlPlaneRenderer {
  private readonly rendered = new Map<string, RenderedControlPlane>();

  constructor(
    private readonly box: SecretBox,
    private readonly clusters: ClusterRepository,
  ) {}

  forget(clusterId: string): void {
    this.rendered.delete(clusterId);
  }

  /**
   * Checks the PKI and renders the seed objects, or reuses what a recent waiting pass produced
   * from the same stored secrets and spec. Throws a PkiError when the stored PKI is unusable.
   */
  async render(cluster: ClusterRow, spec: ControlPlaneSpec, status: ClusterStatus, resuming: boolean): Promise<RenderedControlPlane> {
    const key = JSON.stringify([cluster.generation, cluster.sealed_secrets, spec]);
    const cached = this.rendered.get(cluster.id);
    if (resuming && cached?.key === key && Date.now() - cached.checkedAt < TRUST_APPLIED_MS) return cached;
    const { secrets, sealed } = await this.ensurePki(cluster, spec, status);
    const controlPlane: RenderedControlPlane = {
      // The next pass reads the row this one wrote.
      key: JSON.stringify([cluster.generation, sealed, spec]),
      checkedAt: Date.now(),
      secrets,
      groups: buildControlPlane(spec, secrets.pki).groups,
    };
    this.rendered.set(cluster.id, controlPlane);
    return controlPlane;
  }

  private async ensurePki(cluster: ClusterRow, spec: ControlPlaneSpec, status: ClusterStatus): Promise<{ secrets: ClusterSecrets; sealed: string | null }> {
    const stored = openClusterSecrets(this.box, cluster.id, cluster.sealed_secrets);
    const { pki, changed, reasons } = await ensureClusterPki(stored?.pki, pkiSpecFor(spec), new Date());
    const secrets: ClusterSecrets = { formatVersion: 1, pki };
    if (changed.length === 0) return { secrets, sealed: cluster.sealed_secrets };
    // Stored before anything in the seed refers to it, so a crash cannot orphan a certificate.
    const sealed = sealClusterSecrets(this.box, cluster.id, secrets);
    await this.clusters.update(cluster.id, { sealed_secrets: sealed });
    const summary = stored ? changed.map((item) => `${item} (${reasons[item]})`).join(', ') : 'CAs, service-account key and leaf certificates created';
    status.event('PKIIssued', summary);
    return { secrets, sealed };
  }
}
