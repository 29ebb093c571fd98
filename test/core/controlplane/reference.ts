// The reference cluster the golden files and schema checks render, with a PKI fixture stored
// next to the golden files so rendered Secrets are byte-stable between runs.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureClusterPki, type ClusterPki } from '../../../services/core/src/pki/index.js';
import { pkiSpecFor, type ControlPlaneSpec } from '../../../services/core/src/controlplane/index.js';
import type { ExposeStrategy } from '../../../services/core/src/model/schemas.js';

export const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));
const PKI_FIXTURE = `${GOLDEN_DIR}reference-pki.json`;
export const REFERENCE_NOW = new Date('2026-01-15T00:00:00Z');

export function referenceSpec(strategy: ExposeStrategy, overrides: Partial<ControlPlaneSpec> = {}): ControlPlaneSpec {
  return {
    clusterId: 'k7x2m9',
    clusterName: 'brisk-harbor-7kq2',
    version: '1.36.3',
    serviceCidr: '10.96.0.0/12',
    podCidr: '10.244.0.0/16',
    expose: strategy === 'NodePort' ? { strategy, nodePort: 30443 } : { strategy },
    endpoint: strategy === 'NodePort' ? { host: '192.0.2.10', port: 30443 } : { host: 'k7x2m9.seed-1.harbormaster.example', port: 6443 },
    etcd: { members: 3 },
    ...overrides,
  };
}

function isClusterPki(value: unknown): value is ClusterPki {
  return typeof value === 'object' && value !== null && (value as { formatVersion?: unknown }).formatVersion === 1;
}

/**
 * One PKI valid for both reference endpoints (a hostname and an IP). Created on first use, or
 * again with REGENERATE_PKI_FIXTURE=1; the golden files then change and must be re-accepted.
 */
export async function referencePki(): Promise<ClusterPki> {
  if (existsSync(PKI_FIXTURE) && process.env.REGENERATE_PKI_FIXTURE !== '1') {
    const stored: unknown = JSON.parse(readFileSync(PKI_FIXTURE, 'utf8'));
    if (!isClusterPki(stored)) throw new Error(`${PKI_FIXTURE} is not a ClusterPki`);
    return stored;
  }
  const base = pkiSpecFor(referenceSpec('LoadBalancer'));
  const { pki } = await ensureClusterPki(undefined, { ...base, externalIps: ['192.0.2.10'] }, REFERENCE_NOW);
  try {
    // Test files run in parallel workers: the first writer wins, the others read its fixture.
    writeFileSync(PKI_FIXTURE, JSON.stringify(pki, null, 2) + '\n', { flag: process.env.REGENERATE_PKI_FIXTURE === '1' ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return referencePki();
  }
  return pki;
}
