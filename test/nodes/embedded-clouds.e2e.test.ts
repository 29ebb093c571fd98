// The embedded default with its simulated clouds: nothing but `HM_SANDBOX=true` (no endpoint
// overrides, no pre-registered accounts). Credentials made up on the spot and stored in a
// project work against the in-process EC2 and DigitalOcean simulators, and a pool of 1 on each
// gets a Node that joins the tenant and turns Ready.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshPublicKey } from '../support/fixtures.js';
import { TestServer } from '../support/server.js';
import { eventually, scaled } from '../support/time.js';
import { ensureBuilt } from '../support/build.js';

interface PoolNode {
  id: string;
  name: string;
  phase: string;
  cloudId: string | null;
}

const alphanumeric = (length: number) => randomBytes(length).toString('hex').toUpperCase().slice(0, length);

describe('embedded default with simulated clouds', () => {
  let server: TestServer;

  beforeAll(async () => {
    ensureBuilt();
    server = await TestServer.start({
      backend: 'pglite',
      env: { HM_SANDBOX: 'true', HM_CLUSTER_HEALTH_INTERVAL_SECONDS: '2', HM_RESYNC_INTERVAL_SECONDS: '5', HM_NODE_HEALTH_INTERVAL_SECONDS: '3' },
    });
  }, scaled(180_000));

  afterAll(async () => {
    await server?.destroy();
  }, scaled(60_000));

  it(
    'provisions a Ready node on each simulated cloud with credentials nobody registered beforehand',
    async () => {
      expect(server.log).toMatch(/simulated clouds running/);
      const project = (await server.request<{ id: string }>('POST', '/api/v1/projects', { body: { name: 'embedded-clouds' } })).body;
      const aws = await server.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/credentials`, {
        body: {
          name: 'aws',
          provider: 'aws',
          accessKeyId: `AKIA${alphanumeric(16)}`,
          secretAccessKey: randomBytes(30).toString('base64'),
          region: 'eu-west-1',
        },
      });
      const digitalOcean = await server.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/credentials`, {
        body: { name: 'do', provider: 'digitalocean', token: `dop_v1_${randomBytes(32).toString('hex')}` },
      });
      expect([aws.status, digitalOcean.status]).toEqual([201, 201]);

      const cluster = await server.request<{ id: string }>('POST', `/api/v1/projects/${project.id}/clusters`, {
        body: {
          name: 'embedded-nodes',
          etcdReplicas: 1,
          nodePool: {
            name: 'ec2',
            credentialId: aws.body.id,
            replicas: 1,
            region: 'eu-west-1',
            size: 't3.medium',
            image: 'ami-0123456789abcdef0',
            sshPublicKeys: [sshPublicKey()],
          },
        },
      });
      expect(cluster.status).toBe(201);
      const clusterPath = `/api/v1/projects/${project.id}/clusters/${cluster.body.id}`;
      const dropletPool = await server.request<{ id: string }>('POST', `${clusterPath}/nodepools`, {
        body: {
          name: 'droplets',
          credentialId: digitalOcean.body.id,
          replicas: 1,
          region: 'fra1',
          size: 's-2vcpu-4gb',
          image: 'ubuntu-24-04-x64',
          sshPublicKeys: [sshPublicKey()],
        },
      });
      expect(dropletPool.status).toBe(201);

      const pools = (await server.request<{ items: Array<{ id: string; name: string }> }>('GET', `${clusterPath}/nodepools`)).body.items;
      expect(pools.map((pool) => pool.name).sort()).toEqual(['droplets', 'ec2']);
      const readyNodes = await eventually(
        async () => {
          const nodes: PoolNode[] = [];
          for (const pool of pools) nodes.push(...(await server.request<{ items: PoolNode[] }>('GET', `${clusterPath}/nodepools/${pool.id}/nodes`)).body.items);
          return nodes.length === 2 && nodes.every((node) => node.phase === 'Ready') ? nodes : undefined;
        },
        'a Ready node in each pool',
        300_000,
        1_000,
      );
      // An EC2 instance id and a droplet id: each pool's machine came from its own simulated cloud.
      expect(readyNodes.map((node) => node.cloudId).sort()).toEqual([expect.stringMatching(/^\d+$/), expect.stringMatching(/^i-[0-9a-f]{17}$/)]);

      const kubeconfig = await server.request<string>('GET', `${clusterPath}/kubeconfig`);
      expect(kubeconfig.status).toBe(200);
      const config = new KubeConfig();
      config.loadFromString(kubeconfig.text);
      const tenantNodes = (await config.makeApiClient(CoreV1Api).listNode()).items;
      const ready = tenantNodes.filter((node) => node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
      expect(ready.map((node) => node.metadata?.name).sort()).toEqual(readyNodes.map((node) => node.name).sort());
      // The secrets stayed out of the log.
      expect(server.log).not.toContain('dop_v1_');
    },
    scaled(360_000),
  );

  it('stops the simulated clouds and their nodes on shutdown and exits cleanly', async () => {
    expect(await server.stop()).toBe(0);
  });
});
