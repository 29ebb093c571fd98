// The EC2 driver against the strict EC2 simulator, through the real @aws-sdk/client-ec2.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AWS_TAG_KEYS,
  createCloudDriver,
  EC2_USER_DATA_LIMIT_BYTES,
  TransientCloudError,
  UnrecoverableCloudError,
  isUnrecoverableCloudError,
  type CloudDriver,
} from '../../services/clouds/src/index.js';
import { startEc2Simulator, type Ec2SimulatedInstance, type Ec2Simulator } from '../../services/sandbox/src/clouds/ec2/index.js';
import { fastRetry, nodeRequest } from './support.js';
import { eventually } from '../support/time.js';

const ACCOUNT = { accessKeyId: 'AKIAHARBORMASTER0001', secretAccessKey: 'ec2-secret-one' };
const booted: Array<{ instance: Ec2SimulatedInstance; userData: string }> = [];
let simulator: Ec2Simulator;
let counter = 0;

function driver(retry = fastRetry()): CloudDriver {
  return createCloudDriver({ provider: 'aws', region: 'us-east-1', ...ACCOUNT }, { endpoint: simulator.url, retry });
}

function freshNode(overrides: Parameters<typeof nodeRequest>[0] = {}) {
  counter += 1;
  return nodeRequest({ nodeId: `node-${counter}`, name: `worker-${counter}`, ...overrides });
}

function callsTo(action: string): number {
  return simulator.requests().filter((request) => request.operation === action).length;
}

beforeAll(async () => {
  simulator = await startEc2Simulator({
    accounts: [ACCOUNT],
    timing: { bootMs: 40, shutdownMs: 40, stopMs: 40, terminatedRetentionMs: 60_000 },
    onInstanceRunning: (instance, userData) => {
      booted.push({ instance, userData });
    },
  });
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  simulator.faults.reset();
  expect(simulator.internalErrors()).toEqual([]);
  expect(simulator.bootErrors().size).toBe(0);
});

describe('EC2 driver', () => {
  it('creates a tagged instance whose user data reaches the boot hook, and it comes up running', async () => {
    const request = freshNode({ tags: { team: 'platform' } });
    const created = await driver().ensureInstance(request);
    expect(created).toMatchObject({ provider: 'aws', state: 'pending', nodeId: request.nodeId, clusterId: 'cluster-a', poolId: 'pool-1' });
    expect(created.id).toMatch(/^i-[0-9a-f]{17}$/);
    expect(created.tags).toMatchObject({ Name: request.name, team: 'platform', [AWS_TAG_KEYS.node]: request.nodeId });

    const running = await eventually(
      async () => {
        const found = await driver().findInstance(request.nodeId);
        return found?.state === 'running' ? found : undefined;
      },
      'the instance to run',
      5_000,
      20,
    );
    expect(running.id).toBe(created.id);
    expect(running.privateIp).toMatch(/^127\.100\.\d+\.\d+$/);
    const hook = await eventually(() => booted.find((entry) => entry.instance.instanceId === created.id), 'the boot hook of the instance', 5_000, 20);
    expect(hook.userData).toBe(request.userData);
  });

  it('returns the same instance when the same node is ensured twice', async () => {
    const request = freshNode();
    const first = await driver().ensureInstance(request);
    const second = await driver().ensureInstance(request);
    expect(second.id).toBe(first.id);
    expect(simulator.instances().filter((instance) => instance.tags[AWS_TAG_KEYS.node] === request.nodeId)).toHaveLength(1);
  });

  it('makes one instance when two jobs ensure the same node at the same time', async () => {
    const request = freshNode();
    const [first, second] = await Promise.all([driver().ensureInstance(request), driver().ensureInstance(request)]);
    expect(second.id).toBe(first.id);
    expect(simulator.instances().filter((instance) => instance.tags[AWS_TAG_KEYS.node] === request.nodeId)).toHaveLength(1);
  });

  it('makes exactly one instance when the create response is lost after the launch happened', async () => {
    const request = freshNode();
    const before = callsTo('RunInstances');
    simulator.faults.failNext('server-error', 1, { operation: 'RunInstances', phase: 'after' });
    const retry = fastRetry();
    const created = await driver(retry).ensureInstance(request);
    expect(callsTo('RunInstances') - before).toBe(2);
    expect(retry.retries).toEqual(['RunInstances:InternalError']);
    const mine = simulator.instances().filter((instance) => instance.tags[AWS_TAG_KEYS.node] === request.nodeId);
    expect(mine.map((instance) => instance.instanceId)).toEqual([created.id]);
  });

  it('refuses a different launch under the same node id (IdempotentParameterMismatch) without retrying', async () => {
    const request = freshNode();
    await driver().ensureInstance(request);
    const before = callsTo('RunInstances');
    const error = await driver()
      .ensureInstance({ ...request, image: 'ami-0fedcba9876543210' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnrecoverableCloudError);
    expect(error).toMatchObject({ code: 'IdempotentParameterMismatch' });
    expect(callsTo('RunInstances') - before).toBe(1);
  });

  it('lists a cluster and a pool by tag', async () => {
    const clusterId = `cluster-list-${counter}`;
    await driver().ensureInstance(freshNode({ clusterId, poolId: 'p1' }));
    await driver().ensureInstance(freshNode({ clusterId, poolId: 'p1' }));
    await driver().ensureInstance(freshNode({ clusterId, poolId: 'p2' }));
    await driver().ensureInstance(freshNode({ clusterId: `${clusterId}-other`, poolId: 'p1' }));
    const all = await driver().listInstances({ clusterId });
    const pool = await driver().listInstances({ clusterId, poolId: 'p1' });
    expect(all).toHaveLength(3);
    expect(pool).toHaveLength(2);
    expect(pool.every((instance) => instance.poolId === 'p1' && instance.clusterId === clusterId)).toBe(true);
  });

  it('deletes by id and by node id, idempotently, and terminated instances stay visible', async () => {
    const byId = await driver().ensureInstance(freshNode());
    await driver().deleteInstance({ id: byId.id });
    const terminated = await eventually(
      async () => {
        const found = await driver().findInstance(byId.nodeId ?? '');
        return found?.state === 'terminated' ? found : undefined;
      },
      'the instance to be terminated',
      5_000,
      20,
    );
    expect(terminated.id).toBe(byId.id);
    await driver().deleteInstance({ id: byId.id });

    const byNode = freshNode();
    const created = await driver().ensureInstance(byNode);
    await driver().deleteInstance({ nodeId: byNode.nodeId });
    expect(simulator.instances().find((instance) => instance.instanceId === created.id)?.state).toMatch(/shutting-down|terminated/);
    await driver().deleteInstance({ nodeId: 'node-that-never-existed' });
    await driver().deleteInstance({ id: 'i-0123456789abcdef0' });
  });

  it('refuses user data above 16 KB before calling EC2, and accepts exactly 16 KB', async () => {
    const before = simulator.requests().length;
    const error = await driver()
      .ensureInstance(freshNode({ userData: 'x'.repeat(EC2_USER_DATA_LIMIT_BYTES + 1) }))
      .catch((caught: unknown) => caught);
    expect(isUnrecoverableCloudError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'UserDataTooLarge' });
    expect(simulator.requests().length).toBe(before);

    const atLimit = await driver().ensureInstance(freshNode({ userData: 'y'.repeat(EC2_USER_DATA_LIMIT_BYTES) }));
    expect(simulator.instances().find((instance) => instance.instanceId === atLimit.id)?.userData).toHaveLength(EC2_USER_DATA_LIMIT_BYTES);
  });

  it('retries throttling and 5xx with backoff and then succeeds', async () => {
    simulator.faults.failNext('throttle', 2, { operation: 'RunInstances' }).failNext('unavailable', 1, { operation: 'RunInstances' });
    const retry = fastRetry();
    const request = freshNode();
    const created = await driver(retry).ensureInstance(request);
    expect(retry.retries).toEqual(['RunInstances:RequestLimitExceeded', 'RunInstances:RequestLimitExceeded', 'RunInstances:Unavailable']);
    const statuses = simulator
      .requests()
      .filter((entry) => entry.operation === 'RunInstances')
      .slice(-4)
      .map((entry) => entry.status);
    expect(statuses).toEqual([503, 503, 503, 200]);
    expect(created.nodeId).toBe(request.nodeId);
  });

  it('gives up with a TransientCloudError when throttling outlasts the retry budget', async () => {
    simulator.faults.failNext('throttle', 10, { operation: 'DescribeInstances' });
    const before = callsTo('DescribeInstances');
    const error = await driver(fastRetry({ maxAttempts: 3 }))
      .findInstance('node-x')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientCloudError);
    expect(isUnrecoverableCloudError(error)).toBe(false);
    expect(callsTo('DescribeInstances') - before).toBe(3);
  });

  it('fails fast on validation errors and bad credentials', async () => {
    const before = callsTo('RunInstances');
    const badType = await driver()
      .ensureInstance(freshNode({ size: 'x9.gigantic' }))
      .catch((caught: unknown) => caught);
    expect(badType).toBeInstanceOf(UnrecoverableCloudError);
    expect(badType).toMatchObject({ code: 'InvalidParameterValue', status: 400 });
    const badImage = await driver()
      .ensureInstance(freshNode({ image: 'ami-ubuntu' }))
      .catch((caught: unknown) => caught);
    expect(badImage).toMatchObject({ code: 'InvalidAMIID.Malformed' });
    expect(callsTo('RunInstances') - before).toBe(2);

    const impostor = createCloudDriver(
      { provider: 'aws', region: 'us-east-1', accessKeyId: ACCOUNT.accessKeyId, secretAccessKey: 'not-the-secret' },
      { endpoint: simulator.url, retry: fastRetry() },
    );
    const denied = await impostor.findInstance('node-1').catch((caught: unknown) => caught);
    expect(denied).toMatchObject({ name: 'UnrecoverableCloudError', code: 'SignatureDoesNotMatch', status: 403 });
  });

  it('models instances that never boot and instances that die later', async () => {
    simulator.faults.neverBootNext(1, 'stuck-pending');
    const stuck = await driver().ensureInstance(freshNode());
    simulator.faults.neverBootNext(1, 'node-fails');
    const noNode = await driver().ensureInstance(freshNode());
    simulator.faults.dieLaterNext(1, { afterMs: 60, finalState: 'terminated' });
    const doomed = await driver().ensureInstance(freshNode());

    await eventually(
      async () => ((await driver().findInstance(doomed.nodeId ?? ''))?.state === 'terminated' ? true : undefined),
      'the doomed instance to be terminated',
      5_000,
      20,
    );
    expect((await driver().findInstance(stuck.nodeId ?? ''))?.state).toBe('pending');
    expect((await driver().findInstance(noNode.nodeId ?? ''))?.state).toBe('running');
    expect(booted.some((entry) => entry.instance.instanceId === noNode.id)).toBe(false);
    expect(booted.some((entry) => entry.instance.instanceId === stuck.id)).toBe(false);
    expect(booted.some((entry) => entry.instance.instanceId === doomed.id)).toBe(true);
  });
});
