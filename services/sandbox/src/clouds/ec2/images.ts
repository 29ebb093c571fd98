// The AMIs the simulated EC2 knows: a small per-region catalog shaped like Canonical's real
// publications (owner 099720109477; noble under `hvm-ssd-gp3`, jammy under `hvm-ssd`; dated
// serials for amd64 and arm64), plus what a careless lookup would trip over: a newer serial still
// `pending`, and a look-alike name registered by another account (the reason a lookup must pin the
// owner). AMI ids are regional, so every region gets its own ids, derived from region and name.
import { createHash } from 'node:crypto';
import { Ec2Error } from './errors.js';
import { globToRegExp } from './filters.js';
import type { InputObject } from './query-input.js';
import type { OutputObject } from './xml.js';

export const CANONICAL_OWNER_ID = '099720109477';
/** Owns the AMI ids that tests and fixtures have always used (`ami-0123456789abcdef0`...). */
export const FIXTURE_OWNER_ID = '123456789012';
const SQUATTER_OWNER_ID = '111122223333';

export type ImageArchitecture = 'x86_64' | 'arm64';
export type ImageState = 'available' | 'pending';

export interface Ec2Image {
  imageId: string;
  region: string;
  ownerId: string;
  name: string;
  description: string;
  architecture: ImageArchitecture;
  /** ISO 8601, as EC2 reports it. */
  creationDate: string;
  state: ImageState;
  rootVolumeType: 'gp2' | 'gp3';
}

export type PublishedImage = Omit<Ec2Image, 'imageId' | 'state' | 'rootVolumeType' | 'description'> &
  Partial<Pick<Ec2Image, 'state' | 'rootVolumeType' | 'description'>>;

/** The commercial regions. GovCloud and China are absent: Canonical publishes there under other accounts. */
export const CATALOG_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'ca-west-1',
  'mx-central-1',
  'sa-east-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'af-south-1',
  'ap-south-1',
  'ap-south-2',
  'ap-east-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
];

const RELEASES = [
  { codename: 'noble', version: '24.04', volume: 'hvm-ssd-gp3', rootVolumeType: 'gp3', serials: ['20240423', '20240801', '20241109', '20250305'] },
  { codename: 'jammy', version: '22.04', volume: 'hvm-ssd', rootVolumeType: 'gp2', serials: ['20240207', '20240701', '20241002', '20250305'] },
] as const;
const ARCHITECTURES = [
  { arch: 'amd64', architecture: 'x86_64' },
  { arch: 'arm64', architecture: 'arm64' },
] as const;
const FIXTURE_IMAGE_IDS = ['ami-0123456789abcdef0', 'ami-0fedcba9876543210'];

export const AMI_ID_PATTERN = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

export function canonicalImageName(codename: string, version: string, volume: string, arch: string, serial: string): string {
  return `ubuntu/images/${volume}/ubuntu-${codename}-${version}-${arch}-server-${serial}`;
}

function serialDate(serial: string): string {
  return `${serial.slice(0, 4)}-${serial.slice(4, 6)}-${serial.slice(6, 8)}T09:14:27.000Z`;
}

function regionalImageId(region: string, ownerId: string, name: string): string {
  return `ami-${createHash('sha256').update(`${region}/${ownerId}/${name}`).digest('hex').slice(0, 17)}`;
}

function catalogFor(region: string): Ec2Image[] {
  const images: Ec2Image[] = [];
  const add = (image: Omit<Ec2Image, 'imageId' | 'region'>, imageId = regionalImageId(region, image.ownerId, image.name)) =>
    images.push({ ...image, imageId, region });
  for (const release of RELEASES) {
    for (const { arch, architecture } of ARCHITECTURES) {
      for (const serial of release.serials) {
        add({
          ownerId: CANONICAL_OWNER_ID,
          name: canonicalImageName(release.codename, release.version, release.volume, arch, serial),
          description: `Canonical, Ubuntu, ${release.version}, ${arch} ${release.codename} image`,
          architecture,
          creationDate: serialDate(serial),
          state: 'available',
          rootVolumeType: release.rootVolumeType,
        });
      }
    }
  }
  // Being registered right now: newest of all, not launchable yet.
  add({
    ownerId: CANONICAL_OWNER_ID,
    name: canonicalImageName('noble', '24.04', 'hvm-ssd-gp3', 'amd64', '20250410'),
    description: 'Canonical, Ubuntu, 24.04, amd64 noble image',
    architecture: 'x86_64',
    creationDate: serialDate('20250410'),
    state: 'pending',
    rootVolumeType: 'gp3',
  });
  // Anyone can register any name: a lookup by name alone would launch this.
  add({
    ownerId: SQUATTER_OWNER_ID,
    name: canonicalImageName('noble', '24.04', 'hvm-ssd-gp3', 'amd64', '20991231'),
    description: 'Canonical, Ubuntu, 24.04, amd64 noble image',
    architecture: 'x86_64',
    creationDate: serialDate('20991231'),
    state: 'available',
    rootVolumeType: 'gp3',
  });
  FIXTURE_IMAGE_IDS.forEach((imageId, index) =>
    add(
      {
        ownerId: FIXTURE_OWNER_ID,
        name: `harbormaster-fixtures/ubuntu-noble-24.04-amd64-${index + 1}`,
        description: 'Test fixture image (the fixed AMI id tests launch)',
        architecture: 'x86_64',
        creationDate: serialDate('20240501'),
        state: 'available',
        rootVolumeType: 'gp3',
      },
      imageId,
    ),
  );
  return images;
}

/** The architecture an instance type runs: Graviton families carry a `g` after the generation (t4g, m7gd, c6gn, a1). */
export function instanceTypeArchitecture(instanceType: string): ImageArchitecture {
  const family = instanceType.split('.')[0] ?? '';
  return family === 'a1' || /^[a-z]+\d+g[a-z]*$/.test(family) ? 'arm64' : 'x86_64';
}

export class ImageCatalog {
  private readonly images = new Map<string, Ec2Image>();

  constructor(regions: readonly string[] = CATALOG_REGIONS) {
    for (const region of regions) for (const image of catalogFor(region)) this.images.set(key(region, image.imageId), image);
  }

  /** Registers another image (a newer serial, say); returns it with its regional id. */
  publish(image: PublishedImage): Ec2Image {
    const record: Ec2Image = {
      state: 'available',
      rootVolumeType: 'gp3',
      description: '',
      ...image,
      imageId: regionalImageId(image.region, image.ownerId, image.name),
    };
    this.images.set(key(record.region, record.imageId), record);
    return { ...record };
  }

  list(region?: string): Ec2Image[] {
    return [...this.images.values()].filter((image) => !region || image.region === region).map((image) => ({ ...image }));
  }

  /** The image RunInstances would launch, or the error EC2 gives instead. */
  launchable(region: string, imageId: string, instanceType: string): Ec2Image {
    if (!AMI_ID_PATTERN.test(imageId)) throw new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
    const image = this.images.get(key(region, imageId));
    if (!image) throw new Ec2Error('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
    if (image.state !== 'available') throw new Ec2Error('InvalidAMIID.Unavailable', `The image id '[${imageId}]' is not available (state: ${image.state})`);
    const wanted = instanceTypeArchitecture(instanceType);
    if (wanted !== image.architecture) {
      throw new Ec2Error(
        'InvalidParameterValue',
        `The architecture '${wanted}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.`,
      );
    }
    return image;
  }

  describe(input: InputObject, region: string, callerAccountId: string): OutputObject {
    if (Array.isArray(input.ExecutableUsers) && input.ExecutableUsers.length > 0) {
      throw new Ec2Error('UnsupportedOperation', 'The simulator does not model launch permissions (ExecutableBy).');
    }
    let candidates = [...this.images.values()].filter((image) => image.region === region);
    const ids = Array.isArray(input.ImageIds) ? input.ImageIds.map(String) : [];
    if (ids.length > 0) {
      const missing = ids.filter((id) => {
        if (!AMI_ID_PATTERN.test(id)) throw new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
        return !candidates.some((image) => image.imageId === id);
      });
      if (missing.length > 0) throw new Ec2Error('InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`);
      candidates = candidates.filter((image) => ids.includes(image.imageId));
    }
    const owners = Array.isArray(input.Owners) ? input.Owners.map(String) : [];
    if (owners.length > 0) {
      const ownerIds = new Set<string>();
      for (const owner of owners) {
        if (owner === 'self') ownerIds.add(callerAccountId);
        else if (/^\d{12}$/.test(owner)) ownerIds.add(owner);
        // No catalog image belongs to an Amazon-maintained alias, so these select nothing.
        else if (!['amazon', 'aws-marketplace', 'aws-backup-vault'].includes(owner))
          throw new Ec2Error('InvalidUserID.Malformed', `Invalid user id: "${owner}"`);
      }
      candidates = candidates.filter((image) => ownerIds.has(image.ownerId));
    }
    const matches = imageFilter(asFilterObjects(input.Filters));
    // EC2 promises no order; sorting by id (unrelated to age) keeps callers from relying on one.
    const images = candidates.filter(matches).sort((a, b) => a.imageId.localeCompare(b.imageId));
    return { Images: images.map(imageOutput) };
  }
}

function key(region: string, imageId: string): string {
  return `${region}/${imageId}`;
}

function imageOutput(image: Ec2Image): OutputObject {
  const snapshot = `snap-${createHash('sha256').update(`${image.region}/${image.imageId}`).digest('hex').slice(0, 17)}`;
  return {
    Architecture: image.architecture,
    CreationDate: image.creationDate,
    ImageId: image.imageId,
    ImageLocation: `${image.ownerId}/${image.name}`,
    ImageType: 'machine',
    Public: true,
    OwnerId: image.ownerId,
    PlatformDetails: 'Linux/UNIX',
    UsageOperation: 'RunInstances',
    State: image.state,
    BlockDeviceMappings: [
      { DeviceName: '/dev/sda1', Ebs: { DeleteOnTermination: true, SnapshotId: snapshot, VolumeSize: 8, VolumeType: image.rootVolumeType, Encrypted: false } },
      { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
    ],
    Description: image.description,
    EnaSupport: true,
    Hypervisor: 'xen',
    Name: image.name,
    RootDeviceName: '/dev/sda1',
    RootDeviceType: 'ebs',
    SriovNetSupport: 'simple',
    VirtualizationType: 'hvm',
  };
}

/** Filters the simulator evaluates, by name, to the image's value(s). */
const IMAGE_FILTERS: Record<string, (image: Ec2Image) => string | undefined> = {
  architecture: (image) => image.architecture,
  'creation-date': (image) => image.creationDate,
  description: (image) => image.description,
  'ena-support': () => 'true',
  hypervisor: () => 'xen',
  'image-id': (image) => image.imageId,
  'image-type': () => 'machine',
  'is-public': () => 'true',
  name: (image) => image.name,
  'owner-alias': () => undefined,
  'owner-id': (image) => image.ownerId,
  platform: () => undefined,
  'root-device-name': () => '/dev/sda1',
  'root-device-type': () => 'ebs',
  'sriov-net-support': () => 'simple',
  state: (image) => image.state,
  'virtualization-type': () => 'hvm',
  // Catalog images carry no tags.
  'tag-key': () => undefined,
};
/** Valid for DescribeImages in EC2, not evaluated here: refused rather than silently ignored. */
const UNIMPLEMENTED_FILTERS = new Set([
  'block-device-mapping.delete-on-termination',
  'block-device-mapping.device-name',
  'block-device-mapping.snapshot-id',
  'block-device-mapping.volume-size',
  'block-device-mapping.volume-type',
  'block-device-mapping.encrypted',
  'kernel-id',
  'manifest-location',
  'product-code',
  'product-code.type',
  'ramdisk-id',
  'state-reason-code',
  'state-reason-message',
]);

function imageFilter(filters: InputObject[]): (image: Ec2Image) => boolean {
  const compiled = filters.map((filter) => {
    const name = typeof filter.Name === 'string' ? filter.Name : '';
    const values = Array.isArray(filter.Values) ? filter.Values.map(String) : [];
    if (!name) throw new Ec2Error('MissingParameter', 'The request must contain the parameter Filter.N.Name');
    if (UNIMPLEMENTED_FILTERS.has(name)) throw new Ec2Error('UnsupportedOperation', `The simulator does not implement the DescribeImages filter '${name}'.`);
    const read = name.startsWith('tag:') ? () => undefined : IMAGE_FILTERS[name];
    if (!read) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    if (values.length === 0) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' requires at least one value`);
    const patterns = values.map(globToRegExp);
    return (image: Ec2Image): boolean => {
      const value = read(image);
      return value !== undefined && patterns.some((pattern) => pattern.test(value));
    };
  });
  return (image) => compiled.every((predicate) => predicate(image));
}

function asFilterObjects(value: InputObject[keyof InputObject] | undefined): InputObject[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error('simulator bug: expected a decoded filter list');
  return value.filter(
    (item): item is InputObject => typeof item === 'object' && item !== null && !Array.isArray(item) && !(item instanceof Date) && !Buffer.isBuffer(item),
  );
}
