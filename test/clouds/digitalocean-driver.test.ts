// The DigitalOcean driver against the strict DigitalOcean simulator, through dots-wrapper.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createCloudDriver,
  DIGITALOCEAN_USER_DATA_LIMIT_BYTES,
  isUnrecoverableCloudError,
  openSshMd5Fingerprint,
  TransientCloudError,
  UnrecoverableCloudError,
  type CloudDriver,
} from '../../services/clouds/src/index.js';
import { startDigitalOceanSimulator, type DigitalOceanSimulator, type SimulatedDroplet } from '../../services/sandbox/src/clouds/digitalocean/index.js';
import { fastRetry, nodeRequest, openSshPublicKey } from './support.js';
import { eventually } from '../support/time.js';

const TOKEN = 'dop_v1_project_one';
const booted: Array<{ droplet: SimulatedDroplet; userData: string }> = [];
let simulator: DigitalOceanSimulator;
let counter = 0;

function driver(retry = fastRetry(), token = TOKEN): CloudDriver {
  return createCloudDriver({ provider: 'digitalocean', token }, { endpoint: simulator.url, retry });
}

function freshNode(overrides: Parameters<typeof nodeRequest>[0] = {}) {
  counter += 1;
  return nodeRequest({ nodeId: `node-${counter}`, name: `worker-${counter}`, region: 'fra1', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64', ...overrides });
}

function calls(operation: string): number {
  return simulator.requests().filter((request) => request.operation === operation).length;
}

function dropletsOf(nodeId: string): SimulatedDroplet[] {
  return simulator.instances().filter((droplet) => droplet.tags.includes(`hm-node:${nodeId}`));
}

beforeAll(async () => {
  simulator = await startDigitalOceanSimulator({
    accounts: [{ name: 'project-one', tokens: [TOKEN] }],
    // Deleted droplets stay visible as `off` for shutdownMs; long enough to observe on a loaded machine.
    timing: { bootMs: 40, shutdownMs: 400 },
    onInstanceRunning: (droplet, userData) => {
      booted.push({ droplet, userData });
    },
  });
});

afterAll(async () => {
  await simulator.close();
});

afterEach(() => {
  simulator.faults.reset();
  expect(simulator.specViolations()).toEqual([]);
});

describe('DigitalOcean driver', () => {
  it('creates a tagged droplet with user data and the pool key, which boots to running', async () => {
    const key = openSshPublicKey();
    const request = freshNode({ sshPublicKeys: [key], tags: { team: 'platform' } });
    const created = await driver().ensureInstance(request);
    // The droplet may already be active when the driver re-lists it after the create on a busy machine.
    expect(['pending', 'running']).toContain(created.state);
    expect(created).toMatchObject({ provider: 'digitalocean', nodeId: request.nodeId, clusterId: 'cluster-a', poolId: 'pool-1', name: request.name });
    expect(Object.keys(created.tags)).toEqual(expect.arrayContaining(['team:platform', 'hm-cluster:cluster-a', 'hm-pool:pool-1', `hm-node:${request.nodeId}`]));

    const [droplet] = dropletsOf(request.nodeId);
    expect(droplet.userData).toBe(request.userData);
    expect(droplet.sshKeyIds).toHaveLength(1);

    const running = await eventually(
      async () => {
        const found = await driver().findInstance(request.nodeId);
        return found?.state === 'running' ? found : undefined;
      },
      'the droplet to run',
      5_000,
      20,
    );
    expect(running.privateIp).toMatch(/^127\.110\.\d+\.\d+$/);
    expect((await eventually(() => booted.find((entry) => entry.droplet.id === droplet.id), 'the boot hook of the droplet', 5_000, 20)).userData).toBe(
      request.userData,
    );
  });

  it('registers an SSH key once per account, looked up by fingerprint', async () => {
    const key = openSshPublicKey('shared-pool-key');
    const before = calls('sshKeys_create');
    await driver().ensureInstance(freshNode({ sshPublicKeys: [key] }));
    await driver().ensureInstance(freshNode({ sshPublicKeys: [key] }));
    expect(calls('sshKeys_create') - before).toBe(1);
    const fingerprint = openSshMd5Fingerprint(key);
    const dropletKeys = simulator
      .instances()
      .slice(-2)
      .map((droplet) => droplet.sshKeyIds);
    expect(dropletKeys[0]).toEqual(dropletKeys[1]);
    expect(simulator.requests().some((request) => request.path === `/v2/account/keys/${fingerprint}`)).toBe(true);
  });

  it('looks a pool key up once per driver, and registers it again when it vanished from the account', async () => {
    const key = openSshPublicKey('cached-pool-key');
    const fingerprint = openSshMd5Fingerprint(key);
    const lookups = () => simulator.requests().filter((request) => request.path === `/v2/account/keys/${fingerprint}` && request.method === 'GET').length;
    const shared = driver();
    const [lookupsBefore, createsBefore] = [lookups(), calls('sshKeys_create')];
    // Eight machines at once with the same key: one lookup, one registration between them.
    await Promise.all(Array.from({ length: 8 }, () => shared.ensureInstance(freshNode({ sshPublicKeys: [key] }))));
    expect(lookups() - lookupsBefore).toBe(1);
    expect(calls('sshKeys_create') - createsBefore).toBe(1);

    // Someone deletes the key from the account: the next create is refused, the driver registers the key again and succeeds.
    const deleted = await fetch(`${simulator.url}/v2/account/keys/${fingerprint}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(deleted.status).toBe(204);
    const request = freshNode({ sshPublicKeys: [key] });
    const droplet = await shared.ensureInstance(request);
    expect(calls('sshKeys_create') - createsBefore).toBe(2);
    expect(dropletsOf(request.nodeId).map((entry) => String(entry.id))).toEqual([droplet.id]);
  });

  it('returns the same droplet when the same node is ensured twice', async () => {
    const request = freshNode();
    const first = await driver().ensureInstance(request);
    const second = await driver().ensureInstance(request);
    expect(second.id).toBe(first.id);
    expect(dropletsOf(request.nodeId)).toHaveLength(1);
  });

  it('makes exactly one droplet when the create response is lost after the droplet was created', async () => {
    const request = freshNode();
    const before = calls('droplets_create');
    simulator.faults.failNext('server-error', 1, { operation: 'droplets_create', phase: 'after' });
    const retry = fastRetry();
    const created = await driver(retry).ensureInstance(request);
    expect(retry.retries).toEqual(['droplets_create:server_error']);
    expect(calls('droplets_create') - before).toBe(1);
    expect(dropletsOf(request.nodeId).map((droplet) => String(droplet.id))).toEqual([created.id]);
  });

  it('converges to one droplet when two jobs ensure the same node at the same time', async () => {
    const request = freshNode();
    const [first, second] = await Promise.all([driver().ensureInstance(request), driver().ensureInstance(request)]);
    expect(second.id).toBe(first.id);
    const live = dropletsOf(request.nodeId).filter((droplet) => !droplet.deleted);
    expect(live.map((droplet) => String(droplet.id))).toEqual([first.id]);
  });

  it('lists a cluster and a pool by tag, across pages', async () => {
    const clusterId = `list-${counter}`;
    for (let index = 0; index < 3; index++) await driver().ensureInstance(freshNode({ clusterId, poolId: 'p1' }));
    await driver().ensureInstance(freshNode({ clusterId, poolId: 'p2' }));
    await driver().ensureInstance(freshNode({ clusterId: `${clusterId}-other`, poolId: 'p1' }));
    expect(await driver().listInstances({ clusterId })).toHaveLength(4);
    const pool = await driver().listInstances({ clusterId, poolId: 'p1' });
    expect(pool).toHaveLength(3);
    expect(pool.every((instance) => instance.poolId === 'p1')).toBe(true);
  });

  it('deletes by id and by node tag, idempotently', async () => {
    const byId = await driver().ensureInstance(freshNode());
    await driver().deleteInstance({ id: byId.id });
    expect((await driver().findInstance(byId.nodeId ?? ''))?.state).toBe('stopping');
    await eventually(async () => ((await driver().findInstance(byId.nodeId ?? '')) === undefined ? true : undefined), 'the droplet to be gone', 5_000, 20);
    await driver().deleteInstance({ id: byId.id });

    const node = freshNode();
    await driver().ensureInstance(node);
    const before = calls('droplets_destroy_byTag');
    await driver().deleteInstance({ nodeId: node.nodeId });
    expect(calls('droplets_destroy_byTag') - before).toBe(1);
    expect(dropletsOf(node.nodeId).every((droplet) => droplet.deleted)).toBe(true);
  });

  it('refuses oversized user data before any call', async () => {
    const before = simulator.requests().length;
    const error = await driver()
      .ensureInstance(freshNode({ userData: 'x'.repeat(DIGITALOCEAN_USER_DATA_LIMIT_BYTES + 1) }))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'UnrecoverableCloudError', code: 'UserDataTooLarge' });
    expect(simulator.requests().length).toBe(before);
  });

  it('retries 429 and 5xx and then succeeds', async () => {
    simulator.faults.failNext('throttle', 2, { operation: 'droplets_create' }).failNext('unavailable', 1, { operation: 'droplets_list' });
    const retry = fastRetry();
    const request = freshNode();
    const created = await driver(retry).ensureInstance(request);
    expect(retry.retries).toEqual(['droplets_create:service_unavailable', 'droplets_create:too_many_requests', 'droplets_create:too_many_requests']);
    expect(dropletsOf(request.nodeId).map((droplet) => String(droplet.id))).toEqual([created.id]);
    const throttled = simulator.requests().filter((entry) => entry.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(2);
  });

  it('gives up with a TransientCloudError when the budget runs out', async () => {
    simulator.faults.failNext('server-error', 10, { operation: 'droplets_list' });
    const before = calls('droplets_list');
    const error = await driver(fastRetry({ maxAttempts: 2 }))
      .findInstance('node-x')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientCloudError);
    expect(calls('droplets_list') - before).toBe(2);
  });

  it('fails fast on 422 (bad slugs), 401 (bad token) and invalid tags', async () => {
    const before = calls('droplets_create');
    const badSize = await driver()
      .ensureInstance(freshNode({ size: 's-64vcpu-1tb' }))
      .catch((caught: unknown) => caught);
    expect(badSize).toBeInstanceOf(UnrecoverableCloudError);
    expect(badSize).toMatchObject({ status: 422, code: 'unprocessable_entity' });
    expect(calls('droplets_create') - before).toBe(1);

    const denied = await driver(fastRetry(), 'dop_v1_nobody')
      .findInstance('node-1')
      .catch((caught: unknown) => caught);
    expect(isUnrecoverableCloudError(denied)).toBe(true);
    expect(denied).toMatchObject({ status: 401 });

    const badTag = await driver()
      .ensureInstance(freshNode({ tags: { 'has space': 'x' } }))
      .catch((caught: unknown) => caught);
    expect(badTag).toMatchObject({ code: 'InvalidTag' });
  });

  it('models droplets that never boot and droplets that die later', async () => {
    simulator.faults.neverBootNext(1, 'stuck-pending');
    const stuck = await driver().ensureInstance(freshNode());
    simulator.faults.dieLaterNext(1, { afterMs: 50, finalState: 'stopped' });
    const doomed = await driver().ensureInstance(freshNode());
    await eventually(
      async () => ((await driver().findInstance(doomed.nodeId ?? ''))?.providerState === 'off' ? true : undefined),
      'the doomed droplet to be off',
      5_000,
      20,
    );
    expect((await driver().findInstance(stuck.nodeId ?? ''))?.state).toBe('pending');
  });
});
