// What one cloud provider is to the product. Each provider folder exports one of these and the
// registry (./index.ts) lists them, so the API, the worker, the catalog and the portal all learn
// a provider from the same place instead of each keeping its own switch.
import { z } from 'zod';
import type { NodePoolCatalog } from '../../../core/src/model/node-pool-catalog.js';
import type { NodePoolDefaults } from '../../../core/src/model/node-pool-defaults.js';
import type { CloudDriver } from '../driver.js';
import type { CloudRequestBudget } from '../request-budget.js';
import type { CloudError, RetryPolicy } from '../retry.js';

/** One input of the credentials form, as the catalog describes it to the portal. */
export interface CredentialField {
  /** The request body property. */
  name: string;
  label: string;
  /** Typed into a password field and never shown again. */
  secret: boolean;
  required: boolean;
  /** Pre-filled value of the form field. */
  default?: string;
}

/** What every driver gets whatever its provider: the settings the worker owns. */
export interface DriverContext {
  /** Overrides the provider endpoint (the simulators stand in here). */
  endpoint?: string;
  retry: RetryPolicy;
  requestTimeoutMs?: number;
  /** Every HTTP request the driver sends (each retry included) waits for this account's budget first. */
  rateLimiter?: CloudRequestBudget;
}

export interface ProviderDefinition<Name extends string = string, Shape extends z.ZodRawShape = z.ZodRawShape, Sealed = unknown, Options = unknown> {
  readonly name: Name;
  /** How people call it (portal, listings). */
  readonly label: string;
  readonly credential: {
    /** The provider's own properties of `POST …/credentials` (`name` and `provider` are common to all). */
    readonly shape: Shape;
    readonly fields: readonly CredentialField[];
    /**
     * Splits a validated request into what is sealed at rest and what listings may show. The
     * sealed shape is the contract between the API that seals and the worker that opens.
     */
    seal(input: z.infer<z.ZodObject<Shape>>): { secret: Sealed; summary: Record<string, string> };
    /** The summary property that fixes every pool's region (credentials bound to one region). */
    readonly regionFrom?: string;
  };
  /** What a pool gets when the request leaves a field out, and the choices the catalog offers. */
  readonly nodePools: NodePoolDefaults;
  /** Every region and size the provider sells (and where): pools naming anything else are refused before they are stored. */
  readonly nodePoolCatalog: NodePoolCatalog;
  /** The provider's cap on user data, in bytes before any encoding. */
  readonly userDataLimitBytes: number;
  /** A problem the provider would certainly refuse, told before anything is stored; undefined when fine or unknowable. */
  imageReferenceProblem(image: string): string | undefined;
  /** Retryable (throttling, 5xx, network) or not, from whatever the provider's client threw. */
  classifyError(error: unknown): CloudError;
  /** The provider refused for rate: the worker backs the whole job off instead of failing it. */
  isThrottling(error: CloudError): boolean;
  /** The environment variable pointing the driver at another endpoint (an API-compatible simulator). */
  readonly endpointEnv: string;
  /**
   * Loads the driver module (and its SDK) on first use, so whatever reads only the facts above
   * (the API, the catalog, the configuration) never loads a cloud SDK.
   */
  loadDriver(): Promise<DriverFactory<Sealed, Options>>;
}

export type DriverFactory<Sealed, Options> = (secret: Sealed, context: DriverContext, options: Options | undefined) => CloudDriver;

/** The value listings show for a secret: enough to tell two apart, not enough to use. */
export const mask = (value: string): string => `${value.slice(0, 4)}…${value.slice(-4)}`;
