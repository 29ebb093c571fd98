// The reference cluster the add-on golden files and schema checks render.
import { fileURLToPath } from 'node:url';
import { resolveAddonSpec, type AddonSelection, type AddonSpec, type AddonSpecInput } from '../../../services/core/src/addons/index.js';

export const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));

export function referenceInput(selection: Partial<AddonSelection> = {}, overrides: Partial<AddonSpecInput> = {}): AddonSpecInput {
  return {
    clusterId: 'k7x2m9',
    version: '1.36.3',
    podCidr: '10.244.0.0/16',
    serviceCidr: '10.96.0.0/12',
    apiserver: { host: '192.0.2.10', port: 30443 },
    konnectivity: { host: 'k7x2m9-tunnel.seed-1.harbormaster.example', port: 8132 },
    selection: { cni: 'cilium', metricsServer: false, ...selection },
    ...overrides,
  };
}

export function referenceAddonSpec(selection: Partial<AddonSelection> = {}, overrides: Partial<AddonSpecInput> = {}): AddonSpec {
  return resolveAddonSpec(referenceInput(selection, overrides));
}
