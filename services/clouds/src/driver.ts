// The provider-neutral contract the worker uses to manage worker-node machines. Every call is
// idempotent and keyed by the product's own ids, so a BullMQ job that carries only ids can be
// retried or run twice without creating a second machine.

// Type-only: the registry's keys, so a driver's provider is always a registered one.
import type { ProviderName } from './providers/index.js';

export type CloudProvider = ProviderName;

/** Provider states collapsed to what node provisioning decides on. */
export type CloudInstanceState = 'pending' | 'running' | 'stopping' | 'terminated';

export interface CloudInstance {
  provider: CloudProvider;
  /** EC2 instance id or DigitalOcean droplet id (as a string). */
  id: string;
  name?: string;
  state: CloudInstanceState;
  /** The provider's own state word (`stopped`, `off`, `shutting-down`...), for logs and finer decisions. */
  providerState: string;
  privateIp?: string;
  publicIp?: string;
  /** Provider tags. DigitalOcean tags are flat strings, reported here as `{ [tag]: '' }`. */
  tags: Record<string, string>;
  nodeId?: string;
  clusterId?: string;
  poolId?: string;
  createdAt?: Date;
}

export interface EnsureInstanceRequest {
  /** Identifies the machine: one node id is one machine for its whole life (ids are never reused). */
  nodeId: string;
  clusterId: string;
  poolId: string;
  name: string;
  region: string;
  /** EC2 instance type or DigitalOcean size slug. */
  size: string;
  /** EC2 AMI id or DigitalOcean image slug. */
  image: string;
  /** Cloud-init user data, plain text (the driver encodes it as the provider needs). */
  userData: string;
  /**
   * OpenSSH public keys. DigitalOcean: registered on the account (idempotently) and attached.
   * EC2: not imported as key pairs; deliver them in the cloud-init user data.
   */
  sshPublicKeys: string[];
  /** Extra tags. EC2: key/value. DigitalOcean: rendered as `key:value` (must fit DO's tag alphabet). */
  tags?: Record<string, string>;
}

export interface InstanceSelector {
  clusterId: string;
  poolId?: string;
}

/** Delete by provider id, or by node id (every machine tagged with that node). */
export type InstanceRef = { id: string; nodeId?: undefined } | { nodeId: string; id?: undefined };

export interface CloudDriver {
  readonly provider: CloudProvider;
  /** Creates the machine for `nodeId` unless it exists already; returns it either way. */
  ensureInstance(request: EnsureInstanceRequest): Promise<CloudInstance>;
  /** The machine for `nodeId`, preferring a live one over a terminated one; undefined when none. */
  findInstance(nodeId: string): Promise<CloudInstance | undefined>;
  /** Every machine of a cluster (optionally one pool), terminated ones included while the provider shows them. */
  listInstances(selector: InstanceSelector): Promise<CloudInstance[]>;
  /** Idempotent: deleting something already gone succeeds. */
  deleteInstance(ref: InstanceRef): Promise<void>;
}
