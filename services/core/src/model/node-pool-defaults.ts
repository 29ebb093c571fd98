// What a node pool gets when the request leaves a field out, per provider, and the choices the
// portal offers. AWS takes the region from the credential, so it has no default region here.
import type { Provider } from './schemas.js';

export interface NodePoolDefaults {
  region: string | null;
  regions: readonly string[];
  size: string;
  sizes: readonly string[];
  image: string;
}

export const NODE_POOL_DEFAULTS: Readonly<Record<Provider, NodePoolDefaults>> = {
  aws: {
    region: null,
    regions: ['us-east-1', 'us-east-2', 'us-west-2', 'eu-central-1', 'eu-west-1', 'ap-southeast-1'],
    size: 't3.medium',
    sizes: ['t3.small', 't3.medium', 't3.large', 'm6i.large', 'm6i.xlarge'],
    image: 'ubuntu-24.04',
  },
  digitalocean: {
    region: 'fra1',
    regions: ['nyc1', 'nyc3', 'sfo3', 'ams3', 'fra1', 'lon1', 'sgp1'],
    size: 's-2vcpu-4gb',
    sizes: ['s-1vcpu-2gb', 's-2vcpu-2gb', 's-2vcpu-4gb', 's-4vcpu-8gb', 'g-2vcpu-8gb'],
    image: 'ubuntu-24-04-x64',
  },
};
