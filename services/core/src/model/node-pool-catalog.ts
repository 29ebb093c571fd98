// What a provider sells, as far as the product knows it without asking the cloud: the regions, the
// machine sizes and, where known, which sizes a region offers. A pool is checked against it
// before anything is stored, so a size the cloud would certainly refuse is a 422 at the request
// instead of an event long after it. The core defines the rule; each provider definition
// (services/clouds) supplies the data, taken from the provider's own API specification.
import { DomainError } from './errors.js';

export interface NodePoolCatalog {
  /** Every region a pool may name. */
  regions: readonly string[];
  /** Every machine size (instance type) the provider sells. */
  sizes: readonly string[];
  /**
   * When set, a size of a family the list does not have (EC2 adds families every year, and its
   * API takes any string) is accepted if it matches this pattern (a RegExp source); the sizes of
   * a listed family stay closed. The family is the part before the first `.`.
   */
  unlistedFamilySizePattern?: string;
  /** Sizes offered in some regions only; a size missing here is offered in every region. */
  sizeRegions?: Readonly<Record<string, readonly string[]>>;
  /** Every image the provider accepts, when the catalogue can know them; absent when it cannot. */
  images?: readonly string[];
}

export interface NodePoolPlacement {
  region: string;
  size: string;
  image: string;
}

/** How many valid values a problem lists in full; longer lists name the nearest ones and point at the catalog. */
const LISTED_CHOICES = 40;

/**
 * The first reason the provider would refuse this pool's machines, as a 422 whose `errors` carry
 * the field, a machine-readable code and the valid choices. `fixedRegion` is the region a
 * regional credential binds every pool to.
 */
export function nodePoolPlacementProblem(
  providerLabel: string,
  catalog: NodePoolCatalog,
  pool: NodePoolPlacement,
  options: { fixedRegion?: string; pathPrefix?: string } = {},
): DomainError | undefined {
  const path = (field: string) => `${options.pathPrefix ?? ''}${field}`;
  const refuse = (code: string, field: string, message: string, choices: readonly string[]) => {
    const listed = choicesText(choices, field === 'size' ? pool.size : field === 'image' ? pool.image : pool.region);
    return new DomainError('validation', code, `${message}; valid ${field}s: ${listed}`, [{ path: path(field), message, code }]);
  };
  if (!catalog.regions.includes(pool.region)) {
    return refuse('unknown_region', 'region', `${providerLabel} has no region ${pool.region}`, catalog.regions);
  }
  if (options.fixedRegion !== undefined && pool.region !== options.fixedRegion) {
    return refuse(
      'region_mismatch',
      'region',
      `the credential is bound to ${options.fixedRegion}, so the pool must be in ${options.fixedRegion}, not ${pool.region}`,
      [options.fixedRegion],
    );
  }
  if (!catalog.sizes.includes(pool.size) && !isUnlistedFamilySize(catalog, pool.size)) {
    return refuse('unknown_size', 'size', `${providerLabel} has no machine size ${pool.size}`, catalog.sizes);
  }
  const offeredIn = catalog.sizeRegions?.[pool.size];
  if (offeredIn && !offeredIn.includes(pool.region)) {
    return refuse('size_not_in_region', 'region', `${providerLabel} offers ${pool.size} only in ${offeredIn.join(', ')}, not in ${pool.region}`, offeredIn);
  }
  if (catalog.images && !catalog.images.includes(pool.image)) {
    return refuse('unknown_image', 'image', `${providerLabel} has no image ${pool.image}`, catalog.images);
  }
  return undefined;
}

function isUnlistedFamilySize(catalog: NodePoolCatalog, size: string): boolean {
  if (!catalog.unlistedFamilySizePattern || !new RegExp(catalog.unlistedFamilySizePattern).test(size)) return false;
  const family = `${size.split('.')[0]}.`;
  return !catalog.sizes.some((listed) => listed.startsWith(family));
}

/**
 * A short list stays whole; a long one (EC2 has hundreds of instance types) lists the entries
 * sharing the refused value's prefix (its family: `t3.` for `t3.gigantic`) and points at the catalog.
 */
function choicesText(choices: readonly string[], refused: string): string {
  if (choices.length <= LISTED_CHOICES) return choices.join(', ');
  const family = /^[^.-]+[.-]/.exec(refused)?.[0];
  const related = family ? choices.filter((choice) => choice.startsWith(family)) : [];
  const shown = (related.length > 0 ? related : choices).slice(0, LISTED_CHOICES);
  return `${shown.join(', ')}${shown.length < choices.length ? ` (${choices.length} in all: GET /api/v1/catalog, nodePoolChoices)` : ''}`;
}
