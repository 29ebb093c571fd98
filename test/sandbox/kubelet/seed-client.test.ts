// The kubelet's wire path (client-node against kubesim's HTTPS API), independent of workloads.
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createSeed } from '../../../services/sandbox/src/kubesim/index.js';
import { KubernetesSeedClient } from '../../../services/sandbox/src/kubelet/index.js';
import { buildDist } from './support/harness.js';
import { eventually } from '../../support/time.js';

describe('KubernetesSeedClient against kubesim', () => {
  let seed: Awaited<ReturnType<typeof createSeed>>;
  let client: KubernetesSeedClient;
  const namespace = `kl-wire-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    seed = await createSeed();
    const config = new KubeConfig();
    config.loadFromString(seed.adminKubeconfig);
    await config.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    client = KubernetesSeedClient.fromYaml(seed.adminKubeconfig);
  });

  afterAll(async () => {
    await seed?.close();
  });

  it('creates, lists, writes status, replaces and deletes through the public API', async () => {
    const pod = await client.create('Pod', {
      metadata: { name: 'wire', namespace, labels: { app: 'wire' } },
      spec: { nodeName: 'sandbox-node', containers: [{ name: 'main', image: 'etcd' }] },
    });
    expect(pod.metadata?.uid).toBeTruthy();
    expect(pod.status?.phase).toBe('Pending');
    const updated = await client.replaceStatus('Pod', {
      ...pod,
      status: { phase: 'Running', podIP: '127.64.0.2', podIPs: [{ ip: '127.64.0.2' }], conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(updated.status?.podIP).toBe('127.64.0.2');
    const listed = await client.list('Pod', namespace);
    expect(listed.map((item) => [item.kind, item.metadata?.name, item.status?.phase])).toEqual([['Pod', 'wire', 'Running']]);
    // A stale resourceVersion is a conflict, which the kubelet retries on.
    await expect(client.replaceStatus('Pod', { ...pod, status: { phase: 'Failed' } })).rejects.toMatchObject({ code: 409 });

    const endpoints = await client.create('Endpoints', {
      metadata: { name: 'wire', namespace },
      subsets: [{ addresses: [{ ip: '127.64.0.2' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
    });
    const replaced = await client.replace('Endpoints', { ...endpoints, subsets: [] });
    expect(replaced.subsets ?? []).toEqual([]);

    const service = await client.create('Service', {
      metadata: { name: 'lb', namespace },
      spec: { type: 'LoadBalancer', selector: { app: 'wire' }, ports: [{ port: 443, targetPort: 8443 }] },
    });
    expect(service.spec?.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30_000);
    const withIngress = await client.replaceStatus('Service', { ...service, status: { loadBalancer: { ingress: [{ ip: '127.32.0.1' }] } } });
    expect(withIngress.status?.loadBalancer?.ingress?.[0]?.ip).toBe('127.32.0.1');

    await client.delete('Pod', namespace, 'wire');
    expect(await client.get('Pod', namespace, 'wire')).toBeUndefined();
    await expect(client.delete('Pod', namespace, 'wire')).resolves.toBeUndefined();
  });

  it('reports changes through watches', async () => {
    let changes = 0;
    const stop = client.watch([namespace], () => {
      changes++;
    });
    try {
      // Give the watches a moment to connect before the change they must report.
      await new Promise((done) => setTimeout(done, 500));
      const before = changes;
      await client.create('ConfigMap', { metadata: { name: 'watched', namespace }, data: { a: 'b' } });
      await eventually(() => (changes > before ? true : undefined), 'a watch event', 10_000, 100);
    } finally {
      stop();
    }
  });

  it('runs as a CLI process that publishes Service names and cleans up on SIGTERM', async () => {
    await buildDist();
    const directory = mkdtempSync(join(tmpdir(), 'kubelet-cli-'));
    try {
      writeFileSync(join(directory, 'kubeconfig'), seed.adminKubeconfig);
      await client.create('Service', { metadata: { name: 'named', namespace }, spec: { selector: { app: 'named' }, ports: [{ port: 80 }] } });
      const child = spawn(
        process.execPath,
        [
          'dist/services/sandbox/src/kubelet/cli.js',
          '--kubeconfig',
          join(directory, 'kubeconfig'),
          '--state-dir',
          join(directory, 'state'),
          '--namespace',
          namespace,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      try {
        await eventually(() => (output.includes('running') ? true : undefined), `the CLI to start (${output})`, 20_000, 100);
        await eventually(
          () => (readFileSync('/etc/hosts', 'utf8').includes(`named.${namespace}.svc.cluster.local`) ? true : undefined),
          'the Service name in /etc/hosts',
          20_000,
          100,
        );
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      expect(readFileSync('/etc/hosts', 'utf8')).not.toContain(`named.${namespace}`);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
