// Two projects, two DigitalOcean tokens, two API endpoints, provisioning at the same time: no
// request may ever carry the other project's token or reach the other project's endpoint.
//
// This is the test digitalocean-js would fail: it keeps one module-global axios instance and each
// new client writes its token and base URL onto that shared instance, so once project B's driver
// is constructed, project A's in-flight and later calls go to B's base URL with B's token. Here
// both simulators know both tokens on purpose, so a leaked request would succeed silently on the
// wrong account; only the recorded requests reveal it, which is exactly what is asserted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudDriver } from '../../services/clouds/src/index.js';
import { startDigitalOceanSimulator, type DigitalOceanSimulator } from '../../services/sandbox/src/clouds/digitalocean/index.js';
import { fastRetry, nodeRequest, openSshPublicKey } from './support.js';

const TOKEN_A = 'dop_v1_project_a_secret';
const TOKEN_B = 'dop_v1_project_b_secret';
let endpointA: DigitalOceanSimulator;
let endpointB: DigitalOceanSimulator;

beforeAll(async () => {
  const accounts = [
    { name: 'project-a', tokens: [TOKEN_A] },
    { name: 'project-b', tokens: [TOKEN_B] },
  ];
  [endpointA, endpointB] = await Promise.all([
    startDigitalOceanSimulator({ accounts, timing: { bootMs: 30, shutdownMs: 30 } }),
    startDigitalOceanSimulator({ accounts, timing: { bootMs: 30, shutdownMs: 30 } }),
  ]);
});

afterAll(async () => {
  await Promise.all([endpointA.close(), endpointB.close()]);
});

describe('DigitalOcean driver isolation', () => {
  it('keeps each driver on its own token and base URL under concurrent provisioning', async () => {
    // Latency makes the two projects' requests interleave on the wire.
    endpointA.faults.setLatency(3);
    endpointB.faults.setLatency(3);
    // A transient fault on each side exercises the retry path too, which must keep the same client.
    endpointA.faults.failNext('throttle', 1, { operation: 'droplets_create' });
    endpointB.faults.failNext('server-error', 1, { operation: 'droplets_list' });
    const driverA = createCloudDriver({ provider: 'digitalocean', token: TOKEN_A }, { endpoint: endpointA.url, retry: fastRetry() });
    const driverB = createCloudDriver({ provider: 'digitalocean', token: TOKEN_B }, { endpoint: endpointB.url, retry: fastRetry() });
    const keyA = openSshPublicKey('a');
    const keyB = openSshPublicKey('b');

    const work = [];
    for (let index = 0; index < 4; index++) {
      const common = { region: 'nyc3', size: 's-1vcpu-2gb', image: 'ubuntu-22-04-x64' };
      work.push(driverA.ensureInstance(nodeRequest({ ...common, nodeId: `a-${index}`, clusterId: 'cluster-a', name: `a-${index}`, sshPublicKeys: [keyA] })));
      work.push(driverB.ensureInstance(nodeRequest({ ...common, nodeId: `b-${index}`, clusterId: 'cluster-b', name: `b-${index}`, sshPublicKeys: [keyB] })));
      work.push(driverA.listInstances({ clusterId: 'cluster-a' }));
      work.push(driverB.listInstances({ clusterId: 'cluster-b' }));
    }
    await Promise.all(work);
    await Promise.all([driverA.deleteInstance({ nodeId: 'a-0' }), driverB.deleteInstance({ nodeId: 'b-0' })]);

    const hostA = new URL(endpointA.url).host;
    const hostB = new URL(endpointB.url).host;
    const seenByA = endpointA.requests();
    const seenByB = endpointB.requests();
    expect(seenByA.length).toBeGreaterThan(10);
    expect(seenByB.length).toBeGreaterThan(10);
    expect(new Set(seenByA.map((request) => request.credential))).toEqual(new Set([TOKEN_A]));
    expect(new Set(seenByB.map((request) => request.credential))).toEqual(new Set([TOKEN_B]));
    expect(new Set(seenByA.map((request) => request.host))).toEqual(new Set([hostA]));
    expect(new Set(seenByB.map((request) => request.host))).toEqual(new Set([hostB]));

    expect(endpointA.instances().every((droplet) => droplet.account === 'project-a')).toBe(true);
    expect(endpointB.instances().every((droplet) => droplet.account === 'project-b')).toBe(true);
    expect(endpointA.instances()).toHaveLength(4);
    expect(endpointB.instances()).toHaveLength(4);
    expect([...endpointA.specViolations(), ...endpointB.specViolations()]).toEqual([]);
  });

  it('shows one account nothing of another on the same endpoint', async () => {
    const intruder = createCloudDriver({ provider: 'digitalocean', token: TOKEN_B }, { endpoint: endpointA.url, retry: fastRetry() });
    expect(await intruder.listInstances({ clusterId: 'cluster-a' })).toEqual([]);
    expect(await intruder.findInstance('a-1')).toBeUndefined();
    const victim = endpointA.instances().find((droplet) => droplet.tags.includes('hm-node:a-1'));
    expect(victim).toBeDefined();
    await intruder.deleteInstance({ id: String(victim?.id) });
    expect(endpointA.instances().find((droplet) => droplet.id === victim?.id)?.deleted).toBe(false);
  });
});
