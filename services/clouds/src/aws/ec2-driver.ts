// CloudDriver for AWS EC2. Idempotency comes from EC2 itself: RunInstances carries a ClientToken
// derived from the node id, so a retried or duplicated job gets the original reservation back.
import { createHash } from 'node:crypto';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandOutput,
  TerminateInstancesCommand,
  type Filter,
  type Instance,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-ec2';
// Types only (erased at runtime); @smithy/types is the AWS SDK's own type package.
import type { FinalizeRequestMiddleware } from '@smithy/types';
import {
  type CloudDriver,
  type CloudInstance,
  type CloudInstanceState,
  type EnsureInstanceRequest,
  type InstanceRef,
  type InstanceSelector,
} from '../driver.js';
import { DEFAULT_IMAGE_CACHE_TTL_MS, ImageResolver } from './image-resolver.js';
import { acquireRequestSlot, type CloudRequestBudget } from '../request-budget.js';
import { classifyAwsError } from './errors.js';
import { EC2_USER_DATA_LIMIT_BYTES } from './provider.js';
import { UnrecoverableCloudError, withRetry, type RetryPolicy } from '../retry.js';

/** EC2 tag keys the product owns. */
export const AWS_TAG_KEYS = {
  cluster: 'harbormaster.io/cluster-id',
  pool: 'harbormaster.io/pool-id',
  node: 'harbormaster.io/node-id',
} as const;

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

export interface Ec2DriverOptions {
  endpoint?: string;
  retry: RetryPolicy;
  subnetId?: string;
  securityGroupIds?: string[];
  requestTimeoutMs?: number;
  rateLimiter?: CloudRequestBudget;
  /** How long an image alias keeps resolving to the AMI it was looked up as (default one hour). */
  imageCacheTtlMs?: number;
}

export function clientTokenFor(nodeId: string): string {
  // Deterministic per node, ASCII and within EC2's 64-character limit whatever the node id looks like.
  return `hm-${createHash('sha256').update(nodeId).digest('hex').slice(0, 48)}`;
}

export class Ec2Driver implements CloudDriver {
  readonly provider = 'aws' as const;
  private readonly client: EC2Client;
  private readonly images: ImageResolver;

  constructor(
    private readonly credentials: AwsCredentials,
    private readonly options: Ec2DriverOptions,
  ) {
    this.client = new EC2Client({
      region: credentials.region,
      endpoint: options.endpoint,
      credentials: {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
      },
      // Our own retry loop is the only one, so attempts and backoff are counted in one place.
      maxAttempts: 1,
      requestHandler: options.requestTimeoutMs ? { requestTimeout: options.requestTimeoutMs } : undefined,
    });
    this.images = new ImageResolver({
      region: credentials.region,
      ttlMs: options.imageCacheTtlMs ?? DEFAULT_IMAGE_CACHE_TTL_MS,
      describeImages: async (input) => (await this.call('DescribeImages', () => this.client.send(new DescribeImagesCommand(input)))).Images ?? [],
    });
    const budget = options.rateLimiter;
    if (budget) {
      // Per attempt (after the SDK's retry step) and before signing, so a long wait for the
      // budget never sends a stale SigV4 signature.
      const waitForBudget: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
        await acquireRequestSlot('aws', budget);
        return next(args);
      };
      this.client.middlewareStack.addRelativeTo(waitForBudget, {
        name: 'harbormasterRequestBudget',
        relation: 'before',
        toMiddleware: 'httpSigningMiddleware',
      });
    }
  }

  async ensureInstance(request: EnsureInstanceRequest): Promise<CloudInstance> {
    const userData = Buffer.from(request.userData, 'utf8');
    if (userData.length > EC2_USER_DATA_LIMIT_BYTES) {
      throw new UnrecoverableCloudError('aws', 'UserDataTooLarge', `user data is ${userData.length} bytes; EC2 accepts at most ${EC2_USER_DATA_LIMIT_BYTES}`);
    }
    if (request.region !== this.credentials.region) {
      throw new UnrecoverableCloudError('aws', 'RegionMismatch', `this driver manages ${this.credentials.region}, not ${request.region}`);
    }
    const tags = [
      { Key: 'Name', Value: request.name },
      ...Object.entries(request.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      { Key: AWS_TAG_KEYS.cluster, Value: request.clusterId },
      { Key: AWS_TAG_KEYS.pool, Value: request.poolId },
      { Key: AWS_TAG_KEYS.node, Value: request.nodeId },
    ];
    const image = await this.images.resolve(request.image, request.size);
    const command = new RunInstancesCommand({
      ImageId: image.imageId,
      InstanceType: request.size as RunInstancesInstanceType,
      MinCount: 1,
      MaxCount: 1,
      ClientToken: clientTokenFor(request.nodeId),
      UserData: userData.toString('base64'),
      SubnetId: this.options.subnetId,
      SecurityGroupIds: this.options.securityGroupIds,
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
    });
    let reservation: RunInstancesCommandOutput;
    try {
      reservation = await this.call('RunInstances', () => this.client.send(command));
    } catch (error) {
      // The alias moved to a newer AMI since this node's machine was launched under its token;
      // that machine is still the node's one machine.
      if (image.alias && error instanceof UnrecoverableCloudError && error.code === 'IdempotentParameterMismatch') {
        const launched = await this.findInstance(request.nodeId);
        if (launched) return launched;
      }
      throw error;
    }
    const instance = reservation.Instances?.[0];
    if (!instance) throw new UnrecoverableCloudError('aws', 'EmptyReservation', 'RunInstances returned no instance');
    return toCloudInstance(instance);
  }

  async findInstance(nodeId: string): Promise<CloudInstance | undefined> {
    const instances = await this.describe([{ Name: `tag:${AWS_TAG_KEYS.node}`, Values: [nodeId] }]);
    return preferLive(instances);
  }

  async listInstances(selector: InstanceSelector): Promise<CloudInstance[]> {
    const filters: Filter[] = [{ Name: `tag:${AWS_TAG_KEYS.cluster}`, Values: [selector.clusterId] }];
    if (selector.poolId) filters.push({ Name: `tag:${AWS_TAG_KEYS.pool}`, Values: [selector.poolId] });
    return this.describe(filters);
  }

  async deleteInstance(ref: InstanceRef): Promise<void> {
    let ids: string[];
    if (ref.id !== undefined) {
      ids = [ref.id];
    } else {
      const instances = await this.describe([
        { Name: `tag:${AWS_TAG_KEYS.node}`, Values: [ref.nodeId] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ]);
      ids = instances.map((instance) => instance.id);
    }
    if (ids.length === 0) return;
    try {
      await this.call('TerminateInstances', () => this.client.send(new TerminateInstancesCommand({ InstanceIds: ids })));
    } catch (error) {
      if (error instanceof UnrecoverableCloudError && error.code === 'InvalidInstanceID.NotFound') return;
      throw error;
    }
  }

  private async describe(filters: Filter[]): Promise<CloudInstance[]> {
    const out: CloudInstance[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call('DescribeInstances', () =>
        this.client.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 100, NextToken: nextToken })),
      );
      for (const reservation of page.Reservations ?? []) for (const instance of reservation.Instances ?? []) out.push(toCloudInstance(instance));
      nextToken = page.NextToken;
    } while (nextToken);
    return out;
  }

  private call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    return withRetry(operation, send, classifyAwsError, this.options.retry);
  }
}

type RunInstancesInstanceType = NonNullable<ConstructorParameters<typeof RunInstancesCommand>[0]['InstanceType']>;

const STATES: Record<string, CloudInstanceState> = {
  pending: 'pending',
  running: 'running',
  'shutting-down': 'stopping',
  stopping: 'stopping',
  stopped: 'stopping',
  terminated: 'terminated',
};

function toCloudInstance(instance: Instance): CloudInstance {
  const tags: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
  const providerState = instance.State?.Name ?? 'pending';
  return {
    provider: 'aws',
    id: instance.InstanceId ?? '',
    name: tags.Name,
    state: STATES[providerState] ?? 'pending',
    providerState,
    // EC2 reports a missing address as '' as well as leaving it out: both mean none.
    privateIp: instance.PrivateIpAddress === '' ? undefined : instance.PrivateIpAddress,
    publicIp: instance.PublicIpAddress === '' ? undefined : instance.PublicIpAddress,
    tags,
    nodeId: tags[AWS_TAG_KEYS.node],
    clusterId: tags[AWS_TAG_KEYS.cluster],
    poolId: tags[AWS_TAG_KEYS.pool],
    createdAt: instance.LaunchTime,
  };
}

export function preferLive(instances: CloudInstance[]): CloudInstance | undefined {
  return instances.find((instance) => instance.state !== 'terminated') ?? instances[0];
}
