// The simulators' lifecycle hooks and account sign-up, which the embedded sandbox builds on:
// onInstanceTerminated fires once when a machine is gone (terminated, deleted, killed or dead
// of a fault), and addAccount admits exactly the credentials it was given.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudDriver, UnrecoverableCloudError } from '../../services/clouds/src/index.js';
import { startDigitalOceanSimulator, type DigitalOceanSimulator, type SimulatedDroplet } from '../../services/sandbox/src/clouds/digitalocean/index.js';
import { startEc2Simulator, type Ec2SimulatedInstance, type Ec2Simulator } from '../../services/sandbox/src/clouds/ec2/index.js';
import { fastRetry, nodeRequest } from './support.js';
import { eventually } from '../support/time.js';

const EC2_ACCOUNT = { accessKeyId: 'AKIAHARBORMASTERHOOK', secretAccessKey: 'hook-secret' };
const DO_TOKEN = 'dop_v1_hooks';
const ec2Running: string[] = [];
const ec2Gone: Ec2SimulatedInstance[] = [];
const dropletsRunning: number[] = [];
const dropletsGone: SimulatedDroplet[] = [];
let ec2: Ec2Simulator;
let digitalOcean: DigitalOceanSimulator;
let counter = 0;

function awsDriver(account = EC2_ACCOUNT) {
  return createCloudDriver({ provider: 'aws', region: 'us-east-1', ...account }, { endpoint: ec2.url, retry: fastRetry() });
}

function doDriver(token = DO_TOKEN) {
  return createCloudDriver({ provider: 'digitalocean', token }, { endpoint: digitalOcean.url, retry: fastRetry() });
}

function awsNode() {
  counter += 1;
  return nodeRequest({ nodeId: `hook-${counter}`, name: `hook-${counter}` });
}

function doNode() {
  counter += 1;
  return nodeRequest({ nodeId: `hook-${counter}`, name: `hook-${counter}`, region: 'fra1', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64' });
}

const goneEc2 = (id: string) => ec2Gone.filter((instance) => instance.instanceId === id);
const goneDroplets = (id: string) => dropletsGone.filter((droplet) => String(droplet.id) === id);
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

beforeAll(async () => {
  ec2 = await startEc2Simulator({
    accounts: [EC2_ACCOUNT],
    timing: { bootMs: 30, shutdownMs: 30, stopMs: 30 },
    onInstanceRunning: (instance) => {
      ec2Running.push(instance.instanceId);
    },
    onInstanceTerminated: (instance) => {
      ec2Gone.push(instance);
    },
  });
  digitalOcean = await startDigitalOceanSimulator({
    accounts: [{ name: 'hooks', tokens: [DO_TOKEN] }],
    timing: { bootMs: 30, shutdownMs: 30 },
    onInstanceRunning: (droplet) => {
      dropletsRunning.push(droplet.id);
    },
    onInstanceTerminated: (droplet) => {
      dropletsGone.push(droplet);
    },
  });
});

afterAll(async () => {
  expect(ec2.bootErrors().size).toBe(0);
  expect(digitalOcean.bootErrors().size).toBe(0);
  expect(ec2.internalErrors()).toEqual([]);
  expect(digitalOcean.specViolations()).toEqual([]);
  await ec2.close();
  await digitalOcean.close();
});

describe('EC2 simulator onInstanceTerminated', () => {
  it('fires once, with the instance terminated, after TerminateInstances', async () => {
    const driver = awsDriver();
    const request = awsNode();
    const instance = await driver.ensureInstance(request);
    await eventually(() => (ec2Running.includes(instance.id) ? true : undefined), 'running', 5_000, 20);
    expect(goneEc2(instance.id)).toHaveLength(0);
    await driver.deleteInstance({ nodeId: request.nodeId });
    const [gone] = await eventually(() => (goneEc2(instance.id).length > 0 ? goneEc2(instance.id) : undefined), 'termination hook', 5_000, 20);
    expect(gone).toMatchObject({ instanceId: instance.id, state: 'terminated' });
    expect(gone.tags['harbormaster.io/node-id']).toBe(request.nodeId);
    // Terminating again changes nothing and does not fire again.
    await driver.deleteInstance({ id: instance.id });
    await settle();
    expect(goneEc2(instance.id)).toHaveLength(1);
  });

  it('fires for killInstance, terminated or stopped, and for an instance terminated before it booted', async () => {
    const driver = awsDriver();
    const killed = await driver.ensureInstance(awsNode());
    const stopped = await driver.ensureInstance(awsNode());
    await eventually(() => (ec2Running.includes(killed.id) && ec2Running.includes(stopped.id) ? true : undefined), 'running', 5_000, 20);
    ec2.killInstance(killed.id);
    ec2.killInstance(stopped.id, 'stopped');
    await eventually(() => (goneEc2(killed.id).length > 0 && goneEc2(stopped.id).length > 0 ? true : undefined), 'kill hooks', 5_000, 20);
    expect(goneEc2(killed.id)[0].state).toBe('terminated');
    expect(goneEc2(stopped.id)[0].state).toBe('stopped');
    // A stopped instance terminated later was already reported gone.
    await driver.deleteInstance({ id: stopped.id });
    await settle();
    expect(goneEc2(stopped.id)).toHaveLength(1);

    ec2.faults.neverBootNext(1);
    const stuck = await driver.ensureInstance(awsNode());
    await driver.deleteInstance({ id: stuck.id });
    await eventually(() => (goneEc2(stuck.id).length > 0 ? true : undefined), 'hook for a never-booted instance', 5_000, 20);
    expect(ec2Running).not.toContain(stuck.id);
  });

  it('fires when a death fault kills a running instance', async () => {
    ec2.faults.dieLaterNext(1, { afterMs: 20, finalState: 'terminated' });
    const instance = await awsDriver().ensureInstance(awsNode());
    await eventually(() => (goneEc2(instance.id).length > 0 ? true : undefined), 'death hook', 5_000, 20);
    expect(ec2Running).toContain(instance.id);
  });
});

describe('EC2 simulator addAccount', () => {
  it('admits a signed-up key, still refuses unknown keys, and refuses a key claimed with another secret', async () => {
    const newcomer = { accessKeyId: 'AKIANEWCOMER00000001', secretAccessKey: 'newcomer-secret' };
    const refused = await awsDriver(newcomer)
      .listInstances({ clusterId: 'c' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnrecoverableCloudError);
    expect((refused as UnrecoverableCloudError).code).toBe('AuthFailure');

    ec2.addAccount(newcomer);
    ec2.addAccount(newcomer);
    const created = await awsDriver(newcomer).ensureInstance(awsNode());
    expect(ec2.instances({ accessKeyId: newcomer.accessKeyId }).map((instance) => instance.instanceId)).toEqual([created.id]);
    // A different account: it cannot see the first account's machines.
    expect(await awsDriver().listInstances({ clusterId: 'cluster-a' })).not.toContainEqual(expect.objectContaining({ id: created.id }));

    expect(() => ec2.addAccount({ accessKeyId: newcomer.accessKeyId, secretAccessKey: 'someone-else' })).toThrow(/another account/);
    const stranger = await awsDriver({ accessKeyId: 'AKIASTRANGER00000001', secretAccessKey: 'x' })
      .listInstances({ clusterId: 'c' })
      .catch((error: unknown) => error);
    expect((stranger as UnrecoverableCloudError).code).toBe('AuthFailure');
    // The right key with the wrong secret is still a bad signature.
    const forged = await awsDriver({ accessKeyId: newcomer.accessKeyId, secretAccessKey: 'forged' })
      .listInstances({ clusterId: 'c' })
      .catch((error: unknown) => error);
    expect(forged).toBeInstanceOf(UnrecoverableCloudError);
  });
});

describe('DigitalOcean simulator onInstanceTerminated', () => {
  it('fires once when a droplet is deleted, by id or by tag', async () => {
    const driver = doDriver();
    const byId = await driver.ensureInstance(doNode());
    const byTagRequest = doNode();
    const byTag = await driver.ensureInstance(byTagRequest);
    await eventually(() => (dropletsRunning.includes(Number(byId.id)) && dropletsRunning.includes(Number(byTag.id)) ? true : undefined), 'active', 5_000, 20);
    await driver.deleteInstance({ id: byId.id });
    await driver.deleteInstance({ nodeId: byTagRequest.nodeId });
    await eventually(() => (goneDroplets(byId.id).length > 0 && goneDroplets(byTag.id).length > 0 ? true : undefined), 'deletion hooks', 5_000, 20);
    expect(goneDroplets(byId.id)[0]).toMatchObject({ deleted: true });
    expect(goneDroplets(byTag.id)[0].tags).toContain(`hm-node:${byTagRequest.nodeId}`);
    await driver.deleteInstance({ nodeId: byTagRequest.nodeId });
    await settle();
    expect(goneDroplets(byTag.id)).toHaveLength(1);
  });

  it('fires for killInstance and for a death fault', async () => {
    const driver = doDriver();
    const killed = await driver.ensureInstance(doNode());
    await eventually(() => (dropletsRunning.includes(Number(killed.id)) ? true : undefined), 'active', 5_000, 20);
    digitalOcean.killInstance(Number(killed.id));
    await eventually(() => (goneDroplets(killed.id).length > 0 ? true : undefined), 'kill hook', 5_000, 20);
    expect(goneDroplets(killed.id)[0].status).toBe('off');
    // Deleting the dead droplet afterwards does not report it twice.
    await driver.deleteInstance({ id: killed.id });
    await settle();
    expect(goneDroplets(killed.id)).toHaveLength(1);

    digitalOcean.faults.dieLaterNext(1, { afterMs: 20, finalState: 'terminated' });
    const dying = await driver.ensureInstance(doNode());
    await eventually(() => (goneDroplets(dying.id).length > 0 ? true : undefined), 'death hook', 5_000, 20);
    expect(goneDroplets(dying.id)[0].status).toBe('archive');
  });
});

describe('DigitalOcean simulator addAccount', () => {
  it('admits a signed-up token, still refuses unknown tokens, and never lets a token change accounts', async () => {
    const token = 'dop_v1_newcomer';
    const refused = await doDriver(token)
      .listInstances({ clusterId: 'c' })
      .catch((error: unknown) => error);
    expect((refused as UnrecoverableCloudError).status).toBe(401);
    digitalOcean.addAccount({ name: 'newcomer', tokens: [token] });
    digitalOcean.addAccount({ name: 'newcomer', tokens: [token] });
    const created = await doDriver(token).ensureInstance(doNode());
    expect(digitalOcean.instances({ account: 'newcomer' }).map((droplet) => String(droplet.id))).toEqual([created.id]);
    expect(() => digitalOcean.addAccount({ name: 'thief', tokens: [token] })).toThrow(/one account only/);
    expect(() => digitalOcean.addAccount({ name: 'thief', tokens: [DO_TOKEN] })).toThrow(/one account only/);
    const stranger = await doDriver('dop_v1_stranger')
      .listInstances({ clusterId: 'c' })
      .catch((error: unknown) => error);
    expect((stranger as UnrecoverableCloudError).status).toBe(401);
  });
});
