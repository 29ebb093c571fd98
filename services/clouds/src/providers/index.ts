// The registry: every cloud the product provisions on, in one table. The API validates and seals
// credentials through it, the worker opens them and builds drivers through it, the catalog (and
// so the portal) describes it. Adding a provider is a folder with its definition and a line here.
import { z } from 'zod';
import { credentialNameSchema } from '../../../core/src/model/schemas.js';
import { aws } from '../aws/provider.js';
import { digitalocean } from '../digitalocean/provider.js';
import { TransientCloudError } from '../retry.js';
import type { CredentialField, ProviderDefinition } from './definition.js';

export const PROVIDERS = { aws, digitalocean } as const;

type Registry = typeof PROVIDERS;
export type ProviderName = keyof Registry;

type PartsOf<D> = D extends ProviderDefinition<string, infer Shape, infer Sealed, infer Options> ? { shape: Shape; sealed: Sealed; options: Options } : never;
type SealedOf<D> = PartsOf<D>['sealed'];
type OptionsOf<D> = PartsOf<D>['options'];
type ShapeOf<D> = PartsOf<D>['shape'] extends infer Shape extends z.ZodRawShape ? Shape : never;

/** What a provider's credential holds once opened: the very object the API sealed. */
export type SealedCredential<P extends ProviderName = ProviderName> = SealedOf<Registry[P]>;
/** An opened credential tagged with its provider, the input of createCloudDriver. */
export type CloudCredentials = { [P in ProviderName]: { provider: P } & SealedCredential<P> }[ProviderName];
/** Provider-only driver settings, keyed by provider (`{ aws: { imageCacheTtlMs } }`). */
export type ProviderDriverOptions = { [P in ProviderName]?: OptionsOf<Registry[P]> };

export const PROVIDER_NAMES = Object.keys(PROVIDERS) as ProviderName[];

export function isProviderName(value: string): value is ProviderName {
  return Object.prototype.hasOwnProperty.call(PROVIDERS, value);
}

/** Loosely typed view of one entry, for code that works on any provider alike. */
export function providerDefinition(name: ProviderName): ProviderDefinition<ProviderName, z.ZodRawShape, SealedCredential> {
  return PROVIDERS[name] as unknown as ProviderDefinition<ProviderName, z.ZodRawShape, SealedCredential>;
}

type CredentialBody<P extends ProviderName> = z.ZodObject<
  { name: typeof credentialNameSchema; provider: z.ZodLiteral<P> } & ShapeOf<Registry[P]>,
  z.core.$strict
>;
type AnyCredentialBody = { [P in ProviderName]: CredentialBody<P> }[ProviderName];
const credentialBody = <P extends ProviderName>(name: P): CredentialBody<P> =>
  z.strictObject({ name: credentialNameSchema, provider: z.literal(name), ...PROVIDERS[name].credential.shape }) as unknown as CredentialBody<P>;

/** `POST /projects/{p}/credentials`: the common name and provider, then the provider's own fields. */
export const createCredentialSchema = z.discriminatedUnion('provider', PROVIDER_NAMES.map(credentialBody) as [AnyCredentialBody, ...AnyCredentialBody[]]);
export type CreateCredentialInput = z.infer<typeof createCredentialSchema>;

/** Splits a validated request into the sealed secret and the listing summary, through its provider. */
export function sealCredential(input: CreateCredentialInput): { secret: SealedCredential; summary: Record<string, string> } {
  const { name: _name, provider, ...fields } = input;
  return providerDefinition(provider).credential.seal(fields);
}

/**
 * The provider refused for rate (EC2 RequestLimitExceeded and kin, DigitalOcean 429) and the
 * driver's own retries did not outlast it. The worker backs the whole job off (see the README).
 */
export function isThrottlingCloudError(error: unknown): error is TransientCloudError {
  if (!(error instanceof TransientCloudError)) return false;
  return error.status === 429 || (isProviderName(error.provider) && providerDefinition(error.provider).isThrottling(error));
}

/** What the catalog serves about a provider: enough for the portal to build its forms. */
export interface ProviderCatalogEntry {
  name: ProviderName;
  label: string;
  credentialFields: readonly CredentialField[];
  /** Pools take their region from this summary property of the credential. */
  regionFrom: string | null;
}

export function providerCatalog(): ProviderCatalogEntry[] {
  return PROVIDER_NAMES.map((name) => {
    const definition = providerDefinition(name);
    return { name, label: definition.label, credentialFields: definition.credential.fields, regionFrom: definition.credential.regionFrom ?? null };
  });
}

export function nodePoolDefaultsByProvider(): Record<ProviderName, ProviderDefinition['nodePools']> {
  return Object.fromEntries(PROVIDER_NAMES.map((name) => [name, PROVIDERS[name].nodePools])) as Record<ProviderName, ProviderDefinition['nodePools']>;
}

/** What each provider sells: the values node pools are checked against (`GET /catalog`, `nodePoolChoices`). */
export function nodePoolCatalogByProvider(): Record<ProviderName, ProviderDefinition['nodePoolCatalog']> {
  return Object.fromEntries(PROVIDER_NAMES.map((name) => [name, PROVIDERS[name].nodePoolCatalog])) as Record<
    ProviderName,
    ProviderDefinition['nodePoolCatalog']
  >;
}

export type { CredentialField, DriverContext, ProviderDefinition } from './definition.js';
