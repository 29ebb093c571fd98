// What DigitalOcean sells, as the product checks pools against it before anything is stored.
// Regions: every slug the OpenAPI document (../shared/specs/digitalocean) enumerates as a region,
// plus atl1 and ric1, which its examples use; test/api/pool-catalog.test.ts fails when the
// document names a region or a droplet size this table lacks. Sizes: the droplet plans of
// `GET /v2/sizes`, class by class (the `-intel`/`-amd` variants are premium CPUs of the same plan).

const SIZES_BY_CLASS: Record<string, string> = {
  basic:
    's-1vcpu-512mb-10gb s-1vcpu-1gb s-1vcpu-1gb-amd s-1vcpu-1gb-intel s-1vcpu-1gb-35gb-intel s-1vcpu-2gb s-1vcpu-2gb-amd s-1vcpu-2gb-intel ' +
    's-1vcpu-2gb-70gb-intel s-1vcpu-3gb s-2vcpu-2gb s-2vcpu-2gb-amd s-2vcpu-2gb-intel s-2vcpu-2gb-90gb-intel s-2vcpu-4gb s-2vcpu-4gb-amd ' +
    's-2vcpu-4gb-intel s-2vcpu-4gb-120gb-intel s-2vcpu-8gb-amd s-2vcpu-8gb-160gb-intel s-3vcpu-1gb s-4vcpu-8gb s-4vcpu-8gb-amd s-4vcpu-8gb-intel ' +
    's-4vcpu-8gb-240gb-intel s-4vcpu-16gb-amd s-4vcpu-16gb-320gb-intel s-6vcpu-16gb s-8vcpu-16gb s-8vcpu-16gb-amd s-8vcpu-16gb-intel ' +
    's-8vcpu-16gb-480gb-intel s-8vcpu-32gb s-8vcpu-32gb-amd s-8vcpu-32gb-640gb-intel s-12vcpu-48gb s-16vcpu-64gb s-20vcpu-96gb s-24vcpu-128gb ' +
    's-32vcpu-192gb',
  generalPurpose:
    'g-2vcpu-8gb g-4vcpu-16gb g-8vcpu-32gb g-16vcpu-64gb g-32vcpu-128gb g-40vcpu-160gb g-2vcpu-8gb-intel g-4vcpu-16gb-intel g-8vcpu-32gb-intel ' +
    'g-16vcpu-64gb-intel g-32vcpu-128gb-intel g-48vcpu-192gb-intel gd-2vcpu-8gb gd-4vcpu-16gb gd-8vcpu-32gb gd-16vcpu-64gb gd-32vcpu-128gb ' +
    'gd-40vcpu-160gb gd-2vcpu-8gb-intel gd-4vcpu-16gb-intel gd-8vcpu-32gb-intel gd-16vcpu-64gb-intel gd-32vcpu-128gb-intel gd-48vcpu-192gb-intel',
  cpuOptimized:
    'c-2 c-4 c-8 c-16 c-32 c-48 c-2-intel c-4-intel c-8-intel c-16-intel c-32-intel c-48-intel c2-2vcpu-4gb c2-4vcpu-8gb c2-8vcpu-16gb ' +
    'c2-16vcpu-32gb c2-32vcpu-64gb c2-48vcpu-96gb c2-2vcpu-4gb-intel c2-4vcpu-8gb-intel c2-8vcpu-16gb-intel c2-16vcpu-32gb-intel ' +
    'c2-32vcpu-64gb-intel c2-48vcpu-96gb-intel',
  memoryOptimized:
    'm-2vcpu-16gb m-4vcpu-32gb m-8vcpu-64gb m-16vcpu-128gb m-24vcpu-192gb m-32vcpu-256gb m-2vcpu-16gb-intel m-4vcpu-32gb-intel ' +
    'm-8vcpu-64gb-intel m-16vcpu-128gb-intel m-24vcpu-192gb-intel m-32vcpu-256gb-intel m-48vcpu-384gb-intel m3-2vcpu-16gb m3-4vcpu-32gb ' +
    'm3-8vcpu-64gb m3-16vcpu-128gb m3-24vcpu-192gb m3-32vcpu-256gb m3-2vcpu-16gb-intel m3-4vcpu-32gb-intel m3-8vcpu-64gb-intel ' +
    'm3-16vcpu-128gb-intel m3-24vcpu-192gb-intel m3-32vcpu-256gb-intel m6-2vcpu-16gb m6-4vcpu-32gb m6-8vcpu-64gb m6-16vcpu-128gb ' +
    'm6-24vcpu-192gb m6-32vcpu-256gb',
  storageOptimized:
    'so-2vcpu-16gb so-4vcpu-32gb so-8vcpu-64gb so-16vcpu-128gb so-24vcpu-192gb so-32vcpu-256gb so-2vcpu-16gb-intel so-4vcpu-32gb-intel ' +
    'so-8vcpu-64gb-intel so-16vcpu-128gb-intel so-24vcpu-192gb-intel so-32vcpu-256gb-intel so-48vcpu-384gb-intel so1_5-2vcpu-16gb ' +
    'so1_5-4vcpu-32gb so1_5-8vcpu-64gb so1_5-16vcpu-128gb so1_5-24vcpu-192gb so1_5-32vcpu-256gb so1_5-2vcpu-16gb-intel so1_5-4vcpu-32gb-intel ' +
    'so1_5-8vcpu-64gb-intel so1_5-16vcpu-128gb-intel so1_5-24vcpu-192gb-intel so1_5-32vcpu-256gb-intel so1_5-48vcpu-384gb-intel',
  gpu: 'gpu-h100x1-80gb gpu-h100x8-640gb gpu-mi300x1-192gb gpu-mi300x8-1536gb gpu-l40sx1-48gb gpu-4000adax1-20gb gpu-6000adax1-48gb',
};

export const DIGITALOCEAN_SIZES: readonly string[] = Object.values(SIZES_BY_CLASS).flatMap((sizes) => sizes.split(' '));

export const DIGITALOCEAN_REGIONS: readonly string[] = [
  'nyc1',
  'nyc2',
  'nyc3',
  'sfo1',
  'sfo2',
  'sfo3',
  'ams1',
  'ams2',
  'ams3',
  'sgp1',
  'lon1',
  'fra1',
  'tor1',
  'blr1',
  'syd1',
  'atl1',
  'ric1',
];

/** GPU droplets run in a few data centres only; every other plan is offered wherever droplets are. */
const GPU_REGIONS = ['nyc2', 'tor1', 'atl1'];
export const DIGITALOCEAN_SIZE_REGIONS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  SIZES_BY_CLASS.gpu.split(' ').map((size) => [size, size.startsWith('gpu-mi300x') ? ['atl1'] : GPU_REGIONS]),
);
