// AMI lookup: the EC2 simulator's DescribeImages and image catalog (through the real SDK), and the
// EC2 driver resolving image aliases such as `ubuntu-24.04` to the newest Canonical AMI of its region.
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand, type _InstanceType, type Image } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCloudDriver, IMAGE_ALIASES, isUnrecoverableCloudError, UnrecoverableCloudError, type CloudDriver } from '../../services/clouds/src/index.js';
import { CANONICAL_OWNER_ID, startEc2Simulator, type Ec2Image, type Ec2Simulator } from '../../services/sandbox/src/clouds/ec2/index.js';
import { fastRetry, nodeRequest } from './support.js';

const ACCOUNT = { accessKeyId: 'AKIAIMAGES0000000001', secretAccessKey: 'images-secret' };
const NOBLE_AMD64 = 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-';
let simulator: Ec2Simulator;
let counter = 0;

function client(region = 'us-east-1'): EC2Client {
  return new EC2Client({ region, endpoint: simulator.url, credentials: ACCOUNT, maxAttempts: 1 });
}

function driver(region = 'us-east-1', options: { imageCacheTtlMs?: number; retry?: ReturnType<typeof fastRetry> } = {}): CloudDriver {
  return createCloudDriver(
    { provider: 'aws', region, ...ACCOUNT },
    { endpoint: simulator.url, retry: options.retry ?? fastRetry(), aws: { imageCacheTtlMs: options.imageCacheTtlMs } },
  );
}

function freshNode(overrides: Parameters<typeof nodeRequest>[0] = {}) {
  counter += 1;
  return nodeRequest({ nodeId: `image-node-${counter}`, name: `image-worker-${counter}`, ...overrides });
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; code?: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const record = error as { name: string; code?: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: record.name, code: record.code, status: record.$metadata?.httpStatusCode, message: record.message };
  }
  throw new Error('expected the call to fail');
}

const callsTo = (action: string): number => simulator.requests().filter((request) => request.operation === action).length;
const launch = (ImageId: string, InstanceType = 't3.medium') =>
  new RunInstancesCommand({ ImageId, InstanceType: InstanceType as _InstanceType, MinCount: 1, MaxCount: 1 });

/** What the lookup must find, computed from the catalog rather than written down. */
function newestCanonical(region: string, namePrefix: string, architecture: 'x86_64' | 'arm64'): Ec2Image {
  const candidates = simulator
    .images(region)
    .filter(
      (image) =>
        image.ownerId === CANONICAL_OWNER_ID && image.name.startsWith(namePrefix) && image.state === 'available' && image.architecture === architecture,
    );
  const newest = candidates.sort((a, b) => Date.parse(b.creationDate) - Date.parse(a.creationDate))[0];
  if (!newest) throw new Error(`catalog has no ${namePrefix} ${architecture} image in ${region}`);
  return newest;
}

beforeAll(async () => {
  simulator = await startEc2Simulator({ accounts: [ACCOUNT], timing: { bootMs: 20, shutdownMs: 20 } });
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  simulator.faults.reset();
  expect(simulator.internalErrors()).toEqual([]);
});

describe('EC2 simulator images', () => {
  it('describes Canonical images by owner, name, state and architecture, with regional ids', async () => {
    const query = {
      Owners: [CANONICAL_OWNER_ID],
      Filters: [
        { Name: 'name', Values: [`${NOBLE_AMD64}*`] },
        { Name: 'state', Values: ['available'] },
        { Name: 'architecture', Values: ['x86_64'] },
      ],
    };
    const east = (await client('us-east-1').send(new DescribeImagesCommand(query))).Images ?? [];
    expect(east.map((image) => image.Name?.slice(NOBLE_AMD64.length)).sort()).toEqual(['20240423', '20240801', '20241109', '20250305']);
    for (const image of east) {
      expect(image).toMatchObject({
        OwnerId: CANONICAL_OWNER_ID,
        State: 'available',
        Architecture: 'x86_64',
        RootDeviceType: 'ebs',
        VirtualizationType: 'hvm',
        Public: true,
      });
      expect(image.ImageId).toMatch(/^ami-[0-9a-f]{17}$/);
      expect(Number.isNaN(Date.parse(image.CreationDate ?? ''))).toBe(false);
    }
    const west = (await client('eu-west-1').send(new DescribeImagesCommand(query))).Images ?? [];
    expect(west).toHaveLength(4);
    const eastIds = new Set(east.map((image) => image.ImageId));
    expect(west.some((image) => eastIds.has(image.ImageId))).toBe(false);

    const jammyArm = await client().send(
      new DescribeImagesCommand({
        Owners: [CANONICAL_OWNER_ID],
        Filters: [{ Name: 'name', Values: ['ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-arm64-server-*'] }],
      }),
    );
    expect(jammyArm.Images?.length).toBeGreaterThanOrEqual(3);
    expect(jammyArm.Images?.every((image) => image.Architecture === 'arm64')).toBe(true);
  });

  it('shows why a lookup pins the owner and the state: a look-alike from another account and a pending serial', async () => {
    const byNameOnly = (await client().send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [`${NOBLE_AMD64}*`] }] }))).Images ?? [];
    const newest = (images: Image[]) => [...images].sort((a, b) => Date.parse(b.CreationDate ?? '') - Date.parse(a.CreationDate ?? ''))[0];
    expect(newest(byNameOnly)?.OwnerId).not.toBe(CANONICAL_OWNER_ID);
    const canonicalAnyState = byNameOnly.filter((image) => image.OwnerId === CANONICAL_OWNER_ID);
    expect(newest(canonicalAnyState)?.State).toBe('pending');
    const self = await client().send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(self.Images ?? []).toHaveLength(0);
  });

  it('is strict about what it does not support, and answers ids like EC2', async () => {
    const [image] = simulator.images('us-east-1');
    expect(await errorOf(client().send(new DescribeImagesCommand({ Filters: [{ Name: 'block-device-mapping.volume-size', Values: ['8'] }] })))).toMatchObject({
      name: 'UnsupportedOperation',
    });
    expect(await errorOf(client().send(new DescribeImagesCommand({ Filters: [{ Name: 'colour', Values: ['blue'] }] })))).toMatchObject({
      name: 'InvalidParameterValue',
      status: 400,
    });
    expect(await errorOf(client().send(new DescribeImagesCommand({ ExecutableUsers: ['all'] })))).toMatchObject({ name: 'UnsupportedOperation' });
    expect(await errorOf(client().send(new DescribeImagesCommand({ Owners: ['canonical'] })))).toMatchObject({ name: 'InvalidUserID.Malformed' });
    expect(await errorOf(client().send(new DescribeImagesCommand({ ImageIds: ['ami-xyz'] })))).toMatchObject({ name: 'InvalidAMIID.Malformed' });
    expect(await errorOf(client().send(new DescribeImagesCommand({ ImageIds: ['ami-00000000000000000'] })))).toMatchObject({ name: 'InvalidAMIID.NotFound' });
    const byId = await client().send(new DescribeImagesCommand({ ImageIds: [image.imageId] }));
    expect(byId.Images?.map((found) => found.ImageId)).toEqual([image.imageId]);
  });

  it('launches only images of the caller region that are available and match the instance architecture', async () => {
    const west = newestCanonical('eu-west-1', NOBLE_AMD64, 'x86_64');
    expect(await errorOf(client('us-east-1').send(launch(west.imageId)))).toMatchObject({ name: 'InvalidAMIID.NotFound', status: 400 });
    expect(await errorOf(client().send(launch('ami-00000000000000000')))).toMatchObject({ name: 'InvalidAMIID.NotFound' });
    expect(await errorOf(client().send(launch('ubuntu-24.04')))).toMatchObject({ name: 'InvalidAMIID.Malformed' });
    const pending = simulator.images('us-east-1').find((image) => image.state === 'pending');
    expect(await errorOf(client().send(launch(pending!.imageId)))).toMatchObject({ name: 'InvalidAMIID.Unavailable' });

    const arm = newestCanonical('us-east-1', 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-', 'arm64');
    const mismatch = await errorOf(client().send(launch(arm.imageId, 't3.medium')));
    expect(mismatch).toMatchObject({ name: 'InvalidParameterValue' });
    expect(mismatch.message).toContain("architecture 'arm64' of the specified AMI");
    expect(simulator.instances().filter((instance) => instance.imageId === arm.imageId)).toHaveLength(0);

    const launched = await client().send(launch(arm.imageId, 't4g.medium'));
    const id = launched.Instances?.[0]?.InstanceId ?? '';
    const described = await client().send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(described.Reservations?.[0]?.Instances?.[0]).toMatchObject({ ImageId: arm.imageId, Architecture: 'arm64' });
  });
});

describe('EC2 driver image aliases', () => {
  it('launches the newest available Canonical noble amd64 AMI of its region for ubuntu-24.04, looked up once', async () => {
    const expected = newestCanonical('us-east-1', NOBLE_AMD64, 'x86_64');
    expect(expected.name).toBe(`${NOBLE_AMD64}20250305`);
    const ec2 = driver('us-east-1');
    const describesBefore = callsTo('DescribeImages');
    const first = await ec2.ensureInstance(freshNode({ image: 'ubuntu-24.04' }));
    const second = await ec2.ensureInstance(freshNode({ image: 'ubuntu-24.04' }));
    const launched = simulator.instances().filter((instance) => instance.instanceId === first.id || instance.instanceId === second.id);
    expect(launched.map((instance) => instance.imageId)).toEqual([expected.imageId, expected.imageId]);
    expect(callsTo('DescribeImages') - describesBefore).toBe(1);
  });

  it('picks the architecture from the instance type and the release from the alias, per region', async () => {
    const armNode = freshNode({ image: 'ubuntu-24.04', size: 't4g.medium' });
    const arm = await driver('us-east-1').ensureInstance(armNode);
    expect(simulator.instances().find((instance) => instance.instanceId === arm.id)?.imageId).toBe(
      newestCanonical('us-east-1', 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-', 'arm64').imageId,
    );
    const jammy = await driver('eu-central-1').ensureInstance(freshNode({ image: 'ubuntu-22.04', region: 'eu-central-1' }));
    expect(simulator.instances().find((instance) => instance.instanceId === jammy.id)?.imageId).toBe(
      newestCanonical('eu-central-1', 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-', 'x86_64').imageId,
    );
  });

  it('passes an AMI id straight through, and refuses an unknown alias before calling EC2', async () => {
    const requestsBefore = simulator.requests().length;
    const unknown = await driver()
      .ensureInstance(freshNode({ image: 'ubuntu-20.04' }))
      .catch((caught: unknown) => caught);
    expect(isUnrecoverableCloudError(unknown)).toBe(true);
    expect(unknown).toMatchObject({ code: 'UnknownImageAlias' });
    expect((unknown as Error).message).toContain('ubuntu-20.04');
    for (const alias of Object.keys(IMAGE_ALIASES)) expect((unknown as Error).message).toContain(alias);
    expect(simulator.requests().length).toBe(requestsBefore);

    const describesBefore = callsTo('DescribeImages');
    const explicit = await driver().ensureInstance(freshNode({ image: 'ami-0123456789abcdef0' }));
    expect(simulator.instances().find((instance) => instance.instanceId === explicit.id)?.imageId).toBe('ami-0123456789abcdef0');
    expect(callsTo('DescribeImages')).toBe(describesBefore);
  });

  it('fails unrecoverably where the alias has no image (GovCloud: Canonical publishes there as another account), and looks again next time', async () => {
    const describesBefore = callsTo('DescribeImages');
    const runsBefore = callsTo('RunInstances');
    const ec2 = driver('us-gov-west-1');
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await ec2.ensureInstance(freshNode({ image: 'ubuntu-24.04', region: 'us-gov-west-1' })).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnrecoverableCloudError);
      expect(error).toMatchObject({ code: 'ImageAliasUnresolved' });
      expect((error as Error).message).toContain('us-gov-west-1');
    }
    expect(callsTo('DescribeImages') - describesBefore).toBe(2);
    expect(callsTo('RunInstances')).toBe(runsBefore);
  });

  it('retries a throttled lookup like any other call', async () => {
    simulator.faults.failNext('throttle', 1, { operation: 'DescribeImages' });
    const retry = fastRetry();
    const created = await driver('ap-south-1', { retry }).ensureInstance(freshNode({ image: 'ubuntu-24.04', region: 'ap-south-1' }));
    expect(retry.retries).toEqual(['DescribeImages:RequestLimitExceeded']);
    expect(simulator.instances().find((instance) => instance.instanceId === created.id)?.imageId).toBe(
      newestCanonical('ap-south-1', NOBLE_AMD64, 'x86_64').imageId,
    );
  });

  it('follows a newer serial after the cache expires, without a second machine for a node launched on the old one', async () => {
    const region = 'eu-north-1';
    const old = newestCanonical(region, NOBLE_AMD64, 'x86_64');
    const cached = driver(region);
    const uncached = driver(region, { imageCacheTtlMs: 0 });
    const early = freshNode({ image: 'ubuntu-24.04', region });
    const first = await uncached.ensureInstance(early);
    await cached.ensureInstance(freshNode({ image: 'ubuntu-24.04', region }));

    const released = simulator.publishImage({
      region,
      ownerId: CANONICAL_OWNER_ID,
      name: `${NOBLE_AMD64}20250420`,
      architecture: 'x86_64',
      creationDate: '2025-04-20T09:14:27.000Z',
    });
    const later = await uncached.ensureInstance(freshNode({ image: 'ubuntu-24.04', region }));
    expect(simulator.instances().find((instance) => instance.instanceId === later.id)?.imageId).toBe(released.imageId);
    const stillCached = await cached.ensureInstance(freshNode({ image: 'ubuntu-24.04', region }));
    expect(simulator.instances().find((instance) => instance.instanceId === stillCached.id)?.imageId).toBe(old.imageId);

    // A retry for the early node now resolves to the new AMI; EC2 refuses the changed launch under
    // the same ClientToken, and the driver answers with the machine the node already has.
    const again = await uncached.ensureInstance(early);
    expect(again.id).toBe(first.id);
    expect(simulator.instances().filter((instance) => instance.tags['harbormaster.io/node-id'] === early.nodeId)).toHaveLength(1);
  });
});
