// Strictness of the EC2 simulator: what real EC2 rejects, it rejects, with the same error codes.
// Requests are built by the real SDK; a middleware edits the form body before signing (so the
// signature stays valid and only the edited parameter is wrong) or after signing (tampering).
import {
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEc2Simulator, type Ec2Simulator } from '../../services/sandbox/src/clouds/ec2/index.js';

const ACCOUNT = { accessKeyId: 'AKIASTRICT0000000001', secretAccessKey: 'strict-secret' };
const OTHER = { accessKeyId: 'AKIASTRICT0000000002', secretAccessKey: 'other-secret' };
let simulator: Ec2Simulator;

interface MutableRequest {
  body?: unknown;
  headers: Record<string, string>;
}

function client(options: { credentials?: typeof ACCOUNT; edit?: (params: URLSearchParams) => void; tamper?: boolean } = {}): EC2Client {
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: simulator.url, credentials: options.credentials ?? ACCOUNT, maxAttempts: 1 });
  const { edit } = options;
  if (edit) {
    const editForm =
      <Input extends object, Output extends object>(next: (args: { request: unknown; input: Input }) => Promise<Output>) =>
      async (args: { request: unknown; input: Input }): Promise<Output> => {
        const request = args.request as MutableRequest;
        const params = new URLSearchParams(String(request.body));
        edit(params);
        request.body = params.toString();
        request.headers['content-length'] = String(Buffer.byteLength(params.toString()));
        return next(args);
      };
    // The build step runs after serialisation and before signing; deserialize runs after signing.
    if (options.tamper) ec2.middlewareStack.add(editForm, { step: 'deserialize', name: 'tamperForm' });
    else ec2.middlewareStack.add(editForm, { step: 'build', name: 'editForm' });
  }
  return ec2;
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const record = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: record.name, status: record.$metadata?.httpStatusCode, message: record.message };
  }
  throw new Error('expected the call to fail');
}

const launch = (overrides: Partial<ConstructorParameters<typeof RunInstancesCommand>[0]> = {}) =>
  new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', InstanceType: 't3.small', MinCount: 1, MaxCount: 1, ...overrides });

beforeAll(async () => {
  simulator = await startEc2Simulator({ accounts: [ACCOUNT, OTHER], timing: { bootMs: 20, shutdownMs: 20 } });
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  expect(simulator.internalErrors()).toEqual([]);
});

describe('EC2 simulator strictness', () => {
  it('rejects a missing required member', async () => {
    const error = await errorOf(client({ edit: (params) => params.delete('MinCount') }).send(launch()));
    expect(error).toMatchObject({ name: 'MissingParameter', status: 400 });
    expect(error.message).toContain('MinCount');
  });

  it('rejects a value of the wrong type', async () => {
    expect(await errorOf(client({ edit: (params) => params.set('MaxCount', 'three') }).send(launch()))).toMatchObject({
      name: 'InvalidParameterValue',
      status: 400,
    });
    expect(await errorOf(client({ edit: (params) => params.set('DisableApiTermination', 'yes') }).send(launch()))).toMatchObject({
      name: 'InvalidParameterValue',
    });
  });

  it('rejects a value outside an enum', async () => {
    const error = await errorOf(client().send(launch({ InstanceType: 't3.colossal' as _InstanceType })));
    expect(error).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    expect(error.message).toContain('t3.colossal');
  });

  it('rejects unknown parameters at the top level and inside lists and structures', async () => {
    expect(await errorOf(client({ edit: (params) => params.set('Colour', 'blue') }).send(launch()))).toMatchObject({ name: 'UnknownParameter' });
    const nested = await errorOf(
      client({ edit: (params) => params.set('TagSpecification.1.Colour', 'blue') }).send(
        launch({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] }),
      ),
    );
    expect(nested).toMatchObject({ name: 'UnknownParameter' });
    expect(nested.message).toContain('TagSpecification.1.Colour');
    expect(
      await errorOf(client({ edit: (params) => params.set('InstanceId.first', 'i-0123456789abcdef0') }).send(new DescribeInstancesCommand({}))),
    ).toMatchObject({
      name: 'UnknownParameter',
    });
  });

  it('rejects unknown actions and reports valid but unimplemented ones clearly', async () => {
    expect(await errorOf(client({ edit: (params) => params.set('Action', 'LaunchRocket') }).send(new DescribeInstancesCommand({})))).toMatchObject({
      name: 'InvalidAction',
      status: 400,
    });
    expect(await errorOf(client({ edit: (params) => params.set('Version', '2099-01-01') }).send(new DescribeInstancesCommand({})))).toMatchObject({
      name: 'NoSuchVersion',
    });
    const unimplemented = await errorOf(client().send(new DescribeVpcsCommand({})));
    expect(unimplemented.name).toBe('UnsupportedOperation');
    expect(unimplemented.message).toContain('DescribeVpcs');
  });

  it('verifies SigV4: unknown key, wrong secret, tampered body', async () => {
    expect(
      await errorOf(client({ credentials: { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' } }).send(new DescribeInstancesCommand({}))),
    ).toMatchObject({
      name: 'AuthFailure',
      status: 401,
    });
    expect(await errorOf(client({ credentials: { ...ACCOUNT, secretAccessKey: 'wrong' } }).send(new DescribeInstancesCommand({})))).toMatchObject({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    const tampered = client({ tamper: true, edit: (params) => params.set('MaxCount', '50') });
    expect(await errorOf(tampered.send(launch()))).toMatchObject({ name: 'SignatureDoesNotMatch' });
    expect(simulator.instances().filter((instance) => instance.state !== 'terminated')).toHaveLength(0);
  });

  it('enforces semantic rules: counts, user data encoding, reserved tags, dry run', async () => {
    expect(await errorOf(client().send(launch({ MinCount: 2, MaxCount: 1 })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await errorOf(client().send(launch({ UserData: 'not base64!' })))).toMatchObject({ name: 'InvalidParameterValue' });
    const reserved = launch({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'aws:owner', Value: 'me' }] }] });
    expect(await errorOf(client().send(reserved))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await errorOf(client().send(launch({ DryRun: true })))).toMatchObject({ name: 'DryRunOperation', status: 412 });
    expect(simulator.instances()).toHaveLength(0);
  });

  it('paginates DescribeInstances and validates MaxResults and NextToken', async () => {
    await client().send(launch({ MinCount: 7, MaxCount: 7, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'batch', Value: 'p' }] }] }));
    const filter = [{ Name: 'tag:batch', Values: ['p'] }];
    const first = await client().send(new DescribeInstancesCommand({ Filters: filter, MaxResults: 5 }));
    const firstIds = (first.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []).map((instance) => instance.InstanceId);
    expect(firstIds).toHaveLength(5);
    expect(first.NextToken).toBeTruthy();
    const second = await client().send(new DescribeInstancesCommand({ Filters: filter, MaxResults: 5, NextToken: first.NextToken }));
    const secondIds = (second.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []).map((instance) => instance.InstanceId);
    expect(secondIds).toHaveLength(2);
    expect(second.NextToken).toBeUndefined();
    expect(new Set([...firstIds, ...secondIds]).size).toBe(7);

    expect(await errorOf(client().send(new DescribeInstancesCommand({ MaxResults: 4 })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await errorOf(client().send(new DescribeInstancesCommand({ MaxResults: 5, InstanceIds: [firstIds[0] ?? ''] })))).toMatchObject({
      name: 'InvalidParameterCombination',
    });
    expect(await errorOf(client().send(new DescribeInstancesCommand({ Filters: filter, MaxResults: 5, NextToken: 'forged' })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
    expect(await errorOf(client().send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
  });

  it('filters by state, tag key and instance id, and keeps accounts apart', async () => {
    const launched = await client().send(launch({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'solo', Value: '1' }] }] }));
    const id = launched.Instances?.[0]?.InstanceId ?? '';
    const byKey = await client().send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag-key', Values: ['solo'] },
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
        ],
      }),
    );
    expect(byKey.Reservations?.flatMap((reservation) => reservation.Instances ?? []).map((instance) => instance.InstanceId)).toEqual([id]);
    const byWildcard = await client().send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [`${id.slice(0, 6)}*`] }] }));
    expect(byWildcard.Reservations?.flatMap((reservation) => reservation.Instances ?? []).some((instance) => instance.InstanceId === id)).toBe(true);

    const other = client({ credentials: OTHER });
    const seen = await other.send(new DescribeInstancesCommand({}));
    expect(seen.Reservations ?? []).toHaveLength(0);
    expect(await errorOf(other.send(new TerminateInstancesCommand({ InstanceIds: [id] })))).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    expect(await errorOf(client().send(new TerminateInstancesCommand({ InstanceIds: ['i-nothex'] })))).toMatchObject({ name: 'InvalidInstanceID.Malformed' });

    const status = await client().send(new DescribeInstanceStatusCommand({ InstanceIds: [id], IncludeAllInstances: true }));
    expect(status.InstanceStatuses?.[0]?.InstanceState?.Name).toMatch(/pending|running/);
  });

  it('answers injected faults with the EC2 error shape and status', async () => {
    simulator.faults.failNext('throttle', 1).failNext('server-error', 1);
    expect(await errorOf(client().send(new DescribeInstancesCommand({})))).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
    expect(await errorOf(client().send(new DescribeInstancesCommand({})))).toMatchObject({ name: 'InternalError', status: 500 });
    await client().send(new DescribeInstancesCommand({}));
  });
});
