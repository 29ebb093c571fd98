// Turns a pool's image into an AMI id. AMI ids are regional and every distribution release gets
// new serials, so a portable default like `ubuntu-24.04` must be looked up: DescribeImages with the
// publisher pinned as owner (anyone can register an AMI under any name), its name pattern, state
// available and the instance type's architecture; the newest CreationDate wins. This is the lookup
// Ubuntu documents for EC2 and what Kubermatic's machine controller does for its Ubuntu default.
import type { Filter, Image } from '@aws-sdk/client-ec2';
import { UnrecoverableCloudError } from '../retry.js';

/** Canonical's AWS account, the publisher of the official Ubuntu AMIs. */
export const CANONICAL_OWNER_ID = '099720109477';

export type ImageArchitecture = 'x86_64' | 'arm64';

interface ImageAlias {
  owner: string;
  /** DescribeImages name filter for one architecture (Canonical: `amd64`/`arm64` in the name). */
  namePattern: (architecture: ImageArchitecture) => string;
}

const ubuntuArch = (architecture: ImageArchitecture): string => (architecture === 'arm64' ? 'arm64' : 'amd64');

export const IMAGE_ALIASES: Readonly<Record<string, ImageAlias>> = {
  'ubuntu-24.04': {
    owner: CANONICAL_OWNER_ID,
    namePattern: (architecture) => `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${ubuntuArch(architecture)}-server-*`,
  },
  'ubuntu-22.04': {
    owner: CANONICAL_OWNER_ID,
    namePattern: (architecture) => `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-${ubuntuArch(architecture)}-server-*`,
  },
};

/** An explicit AMI id goes to EC2 as given; EC2 itself answers a malformed or unknown one. */
export const isAmiId = (image: string): boolean => image.startsWith('ami-');

const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * What can be told about an image reference without asking EC2: an AMI id must be well formed
 * and anything else must be a known alias. Whether the AMI exists in the region only EC2 knows.
 */
export function awsImageReferenceProblem(image: string): string | undefined {
  if (isAmiId(image)) return AMI_ID.test(image) ? undefined : `"${image}" is not a well-formed AMI id (ami- and 8 or 17 hex digits)`;
  if (IMAGE_ALIASES[image]) return undefined;
  return `image "${image}" is neither an AMI id (ami-…) nor a known alias (${Object.keys(IMAGE_ALIASES).join(', ')})`;
}

/** Graviton instance families carry a `g` after the generation digit (t4g, m7gd, c6gn), and a1. */
export function instanceTypeArchitecture(instanceType: string): ImageArchitecture {
  const family = instanceType.split('.')[0] ?? '';
  return family === 'a1' || /^[a-z]+\d+g[a-z]*$/.test(family) ? 'arm64' : 'x86_64';
}

export interface ResolvedImage {
  imageId: string;
  /** Set when the id came from an alias lookup (the id may differ between lookups). */
  alias?: string;
}

export interface ImageResolverOptions {
  region: string;
  /** A new serial is picked up at most this long after it is published. */
  ttlMs: number;
  describeImages: (input: { Owners: string[]; Filters: Filter[] }) => Promise<Image[]>;
  now?: () => number;
}

export const DEFAULT_IMAGE_CACHE_TTL_MS = 60 * 60 * 1000;

export class ImageResolver {
  /** Lookups in flight and answers, by region, alias and architecture; concurrent misses share one call. */
  private readonly cache = new Map<string, { expiresAt: number; imageId: Promise<string> }>();
  private readonly now: () => number;

  constructor(private readonly options: ImageResolverOptions) {
    this.now = options.now ?? Date.now;
  }

  async resolve(image: string, instanceType: string): Promise<ResolvedImage> {
    if (isAmiId(image)) return { imageId: image };
    const alias = IMAGE_ALIASES[image];
    if (!alias) {
      throw new UnrecoverableCloudError(
        'aws',
        'UnknownImageAlias',
        `image "${image}" is neither an AMI id (ami-…) nor a known alias (${Object.keys(IMAGE_ALIASES).join(', ')})`,
        400,
      );
    }
    const architecture = instanceTypeArchitecture(instanceType);
    const key = `${this.options.region}|${image}|${architecture}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > this.now()) return { imageId: await cached.imageId, alias: image };
    const lookup = this.lookUp(image, alias, architecture);
    const entry = { expiresAt: this.now() + this.options.ttlMs, imageId: lookup };
    this.cache.set(key, entry);
    try {
      return { imageId: await lookup, alias: image };
    } catch (error) {
      if (this.cache.get(key) === entry) this.cache.delete(key);
      throw error;
    }
  }

  private async lookUp(aliasName: string, alias: ImageAlias, architecture: ImageArchitecture): Promise<string> {
    const namePattern = alias.namePattern(architecture);
    const images = await this.options.describeImages({
      Owners: [alias.owner],
      Filters: [
        { Name: 'name', Values: [namePattern] },
        { Name: 'state', Values: ['available'] },
        { Name: 'architecture', Values: [architecture] },
      ],
    });
    let newest: { imageId: string; created: number } | undefined;
    for (const candidate of images) {
      const created = Date.parse(candidate.CreationDate ?? '');
      if (!candidate.ImageId || Number.isNaN(created)) continue;
      if (!newest || created > newest.created) newest = { imageId: candidate.ImageId, created };
    }
    if (!newest) {
      throw new UnrecoverableCloudError(
        'aws',
        'ImageAliasUnresolved',
        `image "${aliasName}" has no available ${architecture} AMI in ${this.options.region} (owner ${alias.owner}, name ${namePattern})`,
        400,
      );
    }
    return newest.imageId;
  }
}
