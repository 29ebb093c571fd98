// DigitalOcean as one provider definition: everything the API, the worker, the catalog and the
// portal need to know about it. A token reaches every region, so pools choose theirs.
import { z } from 'zod';
import { mask, type ProviderDefinition } from '../providers/definition.js';
import type { DigitalOceanCredentials } from './droplet-driver.js';
import { DIGITALOCEAN_REGIONS, DIGITALOCEAN_SIZE_REGIONS, DIGITALOCEAN_SIZES } from './catalog.js';
import { classifyDigitalOceanError, isDigitalOceanThrottling } from './errors.js';

/** DigitalOcean's user_data limit. */
export const DIGITALOCEAN_USER_DATA_LIMIT_BYTES = 64 * 1024;

export const digitalocean: ProviderDefinition<'digitalocean', { token: z.ZodString }, DigitalOceanCredentials, never> = {
  name: 'digitalocean',
  label: 'DigitalOcean',
  credential: {
    shape: {
      token: z
        .string()
        .min(16)
        .max(200)
        .regex(/^[A-Za-z0-9_]+$/, 'must be a DigitalOcean API token'),
    },
    fields: [{ name: 'token', label: 'API token', secret: true, required: true }],
    seal: (input) => ({ secret: { token: input.token }, summary: { token: mask(input.token) } }),
  },
  nodePools: {
    region: 'fra1',
    regions: ['nyc1', 'nyc3', 'sfo3', 'ams3', 'fra1', 'lon1', 'sgp1'],
    size: 's-2vcpu-4gb',
    sizes: ['s-1vcpu-2gb', 's-2vcpu-2gb', 's-2vcpu-4gb', 's-4vcpu-8gb', 'g-2vcpu-8gb'],
    image: 'ubuntu-24-04-x64',
  },
  // No image list: custom images and snapshots are account-private ids only the API can check.
  nodePoolCatalog: { regions: DIGITALOCEAN_REGIONS, sizes: DIGITALOCEAN_SIZES, sizeRegions: DIGITALOCEAN_SIZE_REGIONS },
  userDataLimitBytes: DIGITALOCEAN_USER_DATA_LIMIT_BYTES,
  // Slugs and numeric ids only DigitalOcean's API can check.
  imageReferenceProblem: () => undefined,
  classifyError: classifyDigitalOceanError,
  isThrottling: isDigitalOceanThrottling,
  endpointEnv: 'HM_DIGITALOCEAN_ENDPOINT',
  loadDriver: async () => {
    const { DropletDriver } = await import('./droplet-driver.js');
    return (secret, context) => new DropletDriver(secret, context);
  },
};
