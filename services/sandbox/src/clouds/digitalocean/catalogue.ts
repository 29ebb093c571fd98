// The slugs the simulated DigitalOcean accepts. Unknown slugs get the same 422 the real API gives.

export interface SizeEntry {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  priceMonthly: number;
  description: string;
}

export interface ImageEntry {
  id: number;
  slug: string;
  name: string;
  distribution: string;
  minDiskSize: number;
}

/** Every region the product's catalogue accepts (services/clouds/src/digitalocean/catalog.ts). */
export const REGIONS: Record<string, string> = {
  nyc1: 'New York 1',
  nyc2: 'New York 2',
  nyc3: 'New York 3',
  sfo1: 'San Francisco 1',
  sfo2: 'San Francisco 2',
  sfo3: 'San Francisco 3',
  ams1: 'Amsterdam 1',
  ams2: 'Amsterdam 2',
  ams3: 'Amsterdam 3',
  fra1: 'Frankfurt 1',
  lon1: 'London 1',
  sgp1: 'Singapore 1',
  tor1: 'Toronto 1',
  blr1: 'Bangalore 1',
  syd1: 'Sydney 1',
  atl1: 'Atlanta 1',
  ric1: 'Richmond 1',
};

export const SIZES: SizeEntry[] = [
  { slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 25, transfer: 1, priceMonthly: 6, description: 'Basic' },
  { slug: 's-1vcpu-2gb', memory: 2048, vcpus: 1, disk: 50, transfer: 2, priceMonthly: 12, description: 'Basic' },
  { slug: 's-2vcpu-2gb', memory: 2048, vcpus: 2, disk: 60, transfer: 3, priceMonthly: 18, description: 'Basic' },
  { slug: 's-2vcpu-4gb', memory: 4096, vcpus: 2, disk: 80, transfer: 4, priceMonthly: 24, description: 'Basic' },
  { slug: 's-4vcpu-8gb', memory: 8192, vcpus: 4, disk: 160, transfer: 5, priceMonthly: 48, description: 'Basic' },
  { slug: 'g-2vcpu-8gb', memory: 8192, vcpus: 2, disk: 25, transfer: 4, priceMonthly: 63, description: 'General Purpose' },
];

export const IMAGES: ImageEntry[] = [
  { id: 129211873, slug: 'ubuntu-22-04-x64', name: '22.04 (LTS) x64', distribution: 'Ubuntu', minDiskSize: 7 },
  { id: 160232537, slug: 'ubuntu-24-04-x64', name: '24.04 (LTS) x64', distribution: 'Ubuntu', minDiskSize: 7 },
  { id: 139368917, slug: 'debian-12-x64', name: '12 x64', distribution: 'Debian', minDiskSize: 7 },
];
