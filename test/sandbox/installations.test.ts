// Two sandbox installations on one host (two data directories, here in one process) hand out
// disjoint machine addresses and ids, and a machine whose address someone else holds is logged
// by address, node and errno and fails as a machine, instead of running an sshd that never got
// its address while SSH probes reach the other listener (SshAuthFailed).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulatedClouds, type SimulatedClouds } from '../../services/sandbox/src/embedded/simulated-clouds.js';
import { markerAddress } from '../../services/sandbox/src/embedded/installation.js';
import { eventually, scaled } from '../support/time.js';

interface LogEntry {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

interface Installation {
  dir: string;
  clouds: SimulatedClouds;
  logs: LogEntry[];
  token: string;
}

const SSH_PORT = 20_000 + Math.floor(Math.random() * 20_000);
const CA_HASH = `sha256:${'a'.repeat(64)}`;
const joinUserData = (node: string) =>
  `#cloud-config\nhostname: ${node}\nruncmd:\n  - kubeadm join 127.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash ${CA_HASH}\n`;

const started: Installation[] = [];
const blockers: Server[] = [];

async function startInstallation(dir = mkdtempSync(join(tmpdir(), 'hm-installation-'))): Promise<Installation> {
  const logs: LogEntry[] = [];
  const clouds = await startSimulatedClouds({
    nodesDir: join(dir, 'sandbox', 'nodes'),
    installationDir: join(dir, 'sandbox'),
    sshPort: SSH_PORT,
    log: (level, message, fields = {}) => logs.push({ level, message, fields }),
  });
  const token = `dop_v1_${dir.replace(/[^a-z0-9]/gi, '').slice(-24)}${'0'.repeat(16)}`;
  await clouds.endpointFor({ provider: 'digitalocean', token });
  const installation = { dir, clouds, logs, token };
  started.push(installation);
  return installation;
}

async function createDroplet(installation: Installation, name: string, userData: string): Promise<{ id: number; privateIp: string }> {
  const response = await fetch(`${installation.clouds.digitalOcean.url}/v2/droplets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${installation.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, region: 'fra1', size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', user_data: userData }),
  });
  expect(response.status).toBe(202);
  const { droplet } = (await response.json()) as { droplet: { id: number } };
  // A new droplet lists no networks yet; the simulator's own record holds the address it got.
  const record = installation.clouds.digitalOcean.instances().find((candidate) => candidate.id === droplet.id);
  return { id: droplet.id, privateIp: record?.privateIp ?? '' };
}

async function dropletStatus(installation: Installation, id: number): Promise<string | undefined> {
  const response = await fetch(`${installation.clouds.digitalOcean.url}/v2/droplets/${id}`, { headers: { authorization: `Bearer ${installation.token}` } });
  return response.ok ? ((await response.json()) as { droplet: { status: string } }).droplet.status : undefined;
}

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end('SSH-2.0-SomeoneElse\r\n'));
    server.once('error', reject);
    server.listen({ host, port }, () => resolve(server));
  });
}

afterAll(async () => {
  for (const blocker of blockers) blocker.close();
  for (const installation of started) {
    await installation.clouds.stop();
    rmSync(installation.dir, { recursive: true, force: true });
  }
});

describe('sandbox installations on one host', () => {
  it(
    'take different machine blocks, so their machines get disjoint addresses and ids',
    async () => {
      const first = await startInstallation();
      const second = await startInstallation();
      expect(first.clouds.installation.block).not.toBe(second.clouds.installation.block);
      expect(first.clouds.installation.id).not.toBe(second.clouds.installation.id);
      // The id is the data directory's: it is what a restart will prefer again.
      expect(readFileSync(join(first.dir, 'sandbox', 'installation-id'), 'utf8').trim()).toBe(first.clouds.installation.id);
      expect(first.logs.some((entry) => entry.level === 'info' && entry.message === 'sandbox installation claimed its machine block')).toBe(true);

      // User data without a join line: the machines exist, no node boots on them.
      const machines = await Promise.all(
        [first, second].flatMap((installation) => [1, 2, 3].map((n) => createDroplet(installation, `m-${n}`, '#cloud-config\n'))),
      );
      const ids = machines.map((machine) => machine.id);
      const addresses = machines.map((machine) => machine.privateIp);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(addresses).size).toBe(addresses.length);
      const thirdOctets = (installation: Installation) => {
        const block = installation.clouds.installation.block;
        return [16 * block, 16 * block + 15];
      };
      for (const [index, machine] of machines.entries()) {
        const [low, high] = thirdOctets(index < 3 ? first : second);
        const third = Number(machine.privateIp.split('.')[2]);
        expect(third, machine.privateIp).toBeGreaterThanOrEqual(low);
        expect(third, machine.privateIp).toBeLessThanOrEqual(high);
      }
    },
    scaled(60_000),
  );

  it(
    'skips a block another live installation holds, even when its own id prefers it',
    async () => {
      const first = started[0];
      await first.clouds.stop();
      started.splice(0, 1);
      // Someone else (here: a plain listener) holds the marker of the block this data directory prefers.
      const preferredBlock = first.clouds.installation.block;
      blockers.push(await listen(markerAddress(preferredBlock), 47_999));
      const restarted = await startInstallation(first.dir);
      expect(restarted.clouds.installation.id).toBe(first.clouds.installation.id);
      expect(restarted.clouds.installation.skipped).toContain(preferredBlock);
      expect(restarted.clouds.installation.block).not.toBe(preferredBlock);
      expect(restarted.clouds.installation.block).not.toBe(started[0].clouds.installation.block);
    },
    scaled(60_000),
  );

  it(
    'logs a machine whose address is taken, with address, node and errno, and fails the machine instead of running its node',
    async () => {
      const installation = started[0];
      const block = installation.clouds.installation.block;
      // Six machines came before in this block (three in the first test, from .10): the next one gets .13 or later;
      // hold every address the next few could get.
      const nextAddresses = [13, 14, 15, 16].map((host) => `127.110.${16 * block}.${host}`);
      for (const address of nextAddresses) blockers.push(await listen(address, SSH_PORT));
      const machine = await createDroplet(installation, 'contested', joinUserData('contested-node'));
      expect(nextAddresses).toContain(machine.privateIp);

      const logged = await eventually(
        () => installation.logs.find((entry) => entry.level === 'error' && entry.message === 'simulated machine cannot bind its address'),
        'the bind failure log line',
        scaled(30_000),
      );
      expect(logged.fields).toEqual({
        instanceId: String(machine.id),
        node: 'contested-node',
        address: machine.privateIp,
        port: SSH_PORT,
        errno: 'EADDRINUSE',
      });
      // The cloud reports the machine dead, which the product sees and replaces; no node runs on it.
      await eventually(async () => (await dropletStatus(installation, machine.id)) === 'off', 'the droplet to be off', scaled(15_000));
      expect(installation.clouds.fleet.get(String(machine.id))).toBeUndefined();
    },
    scaled(60_000),
  );
});
