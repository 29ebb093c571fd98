import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandKubeVariables } from '../../../services/sandbox/src/kubelet/expansion.js';
import { createPathTranslator } from '../../../services/sandbox/src/kubelet/path-translation.js';
import { HostsFile } from '../../../services/sandbox/src/kubelet/hosts-file.js';
import { imageBasename, ImageResolver, ImageNotFound } from '../../../services/sandbox/src/kubelet/images.js';
import { projectKeys, writeAtomically, VolumeSourceMissing } from '../../../services/sandbox/src/kubelet/volumes.js';
import { emptyDirPath, podMounts, translateFileContent } from '../../../services/sandbox/src/kubelet/pod.js';
import { AddressPool, claimSlot } from '../../../services/sandbox/src/kubelet/addresses.js';
import { spawn } from 'node:child_process';

describe('$(VAR) expansion', () => {
  const vars: Record<string, string> = { A: 'alpha', B: 'beta', EMPTY: '' };
  const expand = (input: string): string => expandKubeVariables(input, (name) => vars[name]);

  it('behaves like kubelet for defined, undefined, escaped and malformed references', () => {
    expect(expand('$(A)-$(B)')).toBe('alpha-beta');
    expect(expand('$(MISSING)')).toBe('$(MISSING)');
    expect(expand('$$(A)')).toBe('$(A)');
    expect(expand('$$$(A)')).toBe('$alpha');
    expect(expand('$$')).toBe('$');
    expect(expand('$(A')).toBe('$(A');
    expect(expand('$A')).toBe('$A');
    expect(expand('x$')).toBe('x$');
    expect(expand('$(EMPTY)z')).toBe('z');
    expect(expand('$()')).toBe('$()');
  });
});

describe('mount path translation', () => {
  const translate = createPathTranslator([
    { mountPath: '/etc/etcd', hostPath: '/state/etcd-config' },
    { mountPath: '/etc/etcd/pki/', hostPath: '/state/pki' },
    { mountPath: '/var/lib/etcd', hostPath: '/state/data' },
  ]);

  it('rewrites the longest matching mount prefix inside flags, lists and bare paths', () => {
    expect(translate('--cert-file=/etc/etcd/pki/server.crt')).toBe('--cert-file=/state/pki/server.crt');
    expect(translate('/etc/etcd/config.yaml')).toBe('/state/etcd-config/config.yaml');
    expect(translate('--data-dir=/var/lib/etcd')).toBe('--data-dir=/state/data');
    expect(translate('a=/etc/etcd/pki/a.crt,b=/var/lib/etcd/x')).toBe('a=/state/pki/a.crt,b=/state/data/x');
  });

  it('leaves paths that only share a textual prefix alone', () => {
    expect(translate('/etc/etcd-other/file')).toBe('/etc/etcd-other/file');
    expect(translate('/var/lib/etcdctl')).toBe('/var/lib/etcdctl');
    expect(translate('/opt/etc/etcd/x')).toBe('/opt/etc/etcd/x');
    expect(translate('https://etcd-0/etc/etcd')).toBe('https://etcd-0/etc/etcd');
  });
});

describe('container paths inside shared files and sockets', () => {
  const socket = '/etc/kubernetes/konnectivity-server/konnectivity-server.socket';
  const podDir = join(tmpdir(), 'state', 'pods', `cluster-${'x'.repeat(20)}_kube-apiserver-6d4cf56db6-abcde_${'0'.repeat(36)}`);

  it('gives an emptyDir a host path short enough for a unix socket in it (sun_path holds 107 bytes)', () => {
    const host = emptyDirPath(podDir, 'konnectivity-uds');
    expect(join(podDir, 'volumes', 'konnectivity-uds', 'konnectivity-server.socket').length).toBeGreaterThan(107);
    expect(join(host, 'konnectivity-server.socket').length).toBeLessThanOrEqual(107);
    expect(emptyDirPath(podDir, 'konnectivity-uds')).toBe(host);
    expect(emptyDirPath(podDir, 'other')).not.toBe(host);
    expect(emptyDirPath(`${podDir}-2`, 'konnectivity-uds')).not.toBe(host);
  });

  it("rewrites a config file's container paths to the host paths the pod's containers share", () => {
    const pod = {
      spec: {
        containers: [
          {
            name: 'kube-apiserver',
            volumeMounts: [
              { name: 'uds', mountPath: '/etc/kubernetes/konnectivity-server' },
              { name: 'egress', mountPath: '/etc/kubernetes/egress' },
            ],
          },
          {
            name: 'konnectivity-server',
            volumeMounts: [
              { name: 'uds', mountPath: '/etc/kubernetes/konnectivity-server' },
              { name: 'other', mountPath: '/etc/kubernetes/egress' },
            ],
          },
        ],
      },
    };
    const dirs = new Map([
      ['uds', '/tmp/hm-ed/0123456789abcdef'],
      ['egress', '/state/pod/volumes/egress'],
      ['other', '/state/pod/volumes/other'],
    ]);
    // /etc/kubernetes/egress means two different directories to the two containers: left alone.
    expect(podMounts(pod, dirs)).toEqual([{ mountPath: '/etc/kubernetes/konnectivity-server', hostPath: '/tmp/hm-ed/0123456789abcdef' }]);
    const translate = createPathTranslator(podMounts(pod, dirs));
    const egress = Buffer.from(`transport:\n  uds:\n    udsName: ${socket}\n`);
    expect(translateFileContent(egress, translate).toString()).toBe(
      'transport:\n  uds:\n    udsName: /tmp/hm-ed/0123456789abcdef/konnectivity-server.socket\n',
    );
    const binary = Buffer.from([0x00, 0xff, ...Buffer.from(socket)]);
    expect(translateFileContent(binary, translate)).toBe(binary);
  });
});

describe('/etc/hosts block management', () => {
  it('keeps foreign lines and other instances blocks intact under concurrent writers', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'kubelet-hosts-'));
    const path = join(directory, 'hosts');
    writeFileSync(path, '127.0.0.1 localhost\n::1 ip6-localhost\n');
    try {
      const writers = Array.from({ length: 5 }, (_, index) => new HostsFile(path, `instance-${index}`));
      await Promise.all(writers.map((writer, index) => writer.write([{ ip: `127.64.0.${index + 2}`, names: [`pod-${index}.svc.cluster.local`] }])));
      let content = readFileSync(path, 'utf8');
      expect(content.startsWith('127.0.0.1 localhost\n::1 ip6-localhost\n')).toBe(true);
      for (let index = 0; index < 5; index++) expect(content).toContain(`127.64.0.${index + 2}\tpod-${index}.svc.cluster.local`);
      await writers[2].write([{ ip: '127.64.9.9', names: ['changed.svc.cluster.local'] }]);
      await writers[4].remove();
      content = readFileSync(path, 'utf8');
      expect(content).toContain('changed.svc.cluster.local');
      expect(content).not.toContain('pod-2.svc');
      expect(content).not.toContain('instance-4');
      expect(content).toContain('pod-3.svc.cluster.local');
      await Promise.all(writers.map((writer) => writer.remove()));
      expect(readFileSync(path, 'utf8')).toBe('127.0.0.1 localhost\n::1 ip6-localhost\n');
      expect(existsSync(join(directory, '.hosts.harbormaster.lock'))).toBe(false);

      // A block left by a kubelet whose process died is pruned by the next writer.
      const deadPid = 2 ** 22 + 12_345;
      writeFileSync(
        path,
        `${readFileSync(path, 'utf8')}# BEGIN harbormaster-kubelet ${deadPid}-abcd\n127.64.1.1\tleft.over\n# END harbormaster-kubelet ${deadPid}-abcd\n`,
      );
      await writers[0].write([{ ip: '127.64.0.2', names: ['fresh.svc.cluster.local'] }]);
      expect(readFileSync(path, 'utf8')).not.toContain('left.over');
      await writers[0].remove();
      expect(readFileSync(path, 'utf8')).toBe('127.0.0.1 localhost\n::1 ip6-localhost\n');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('images', () => {
  it('derives the repository basename and maps unknown images to ImageNotFound', () => {
    expect(imageBasename('registry.k8s.io/etcd:3.5.21-0')).toBe('etcd');
    expect(imageBasename('localhost:5000/kube-apiserver@sha256:abc')).toBe('kube-apiserver');
    expect(imageBasename('quay.io/org/kube-scheduler:v1.32.0@sha256:abc')).toBe('kube-scheduler');
    const simulated = new ImageResolver({ repositoryRoot: '/repo', kubeBinDir: '' });
    expect(simulated.resolve('registry.k8s.io/etcd:3.5', 'etcd').path).toBe('/usr/bin/etcd');
    expect(simulated.resolve('registry.k8s.io/kube-apiserver:v1.32.0', 'kube-apiserver')).toEqual({
      path: process.execPath,
      leadingArgs: ['/repo/dist/services/sandbox/src/kubesim/cli.js', 'kube-apiserver'],
    });
    expect(() => simulated.resolve('nginx:1.27', undefined)).toThrow(ImageNotFound);
  });

  it('with real binaries, runs the binary of the image tag and cannot pull a version that was not built', () => {
    const root = mkdtempSync(join(tmpdir(), 'kube-bins-'));
    try {
      for (const [dir, name] of [
        ['v1.37.2', 'kube-apiserver'],
        ['v1.36.3', 'kube-apiserver'],
        ['v1.36.3', 'kube-scheduler'],
        ['etcd-v3.7.0', 'etcd'],
        ['etcd-v3.7.0', 'etcdctl'],
      ]) {
        mkdirSync(join(root, dir), { recursive: true });
        writeFileSync(join(root, dir, name), '#!/bin/sh\n', { mode: 0o755 });
      }
      const real = new ImageResolver({ repositoryRoot: '/repo', kubeBinDir: join(root, 'v1.37.2') });
      expect(real.resolve('registry.k8s.io/kube-apiserver:v1.37.2', 'kube-apiserver').path).toBe(join(root, 'v1.37.2/kube-apiserver'));
      expect(real.resolve('registry.k8s.io/kube-apiserver:v1.36.3', 'kube-apiserver').path).toBe(join(root, 'v1.36.3/kube-apiserver'));
      expect(real.resolve('registry.k8s.io/kube-scheduler:v1.36.3@sha256:abc', undefined).path).toBe(join(root, 'v1.36.3/kube-scheduler'));
      expect(real.resolve('registry.k8s.io/etcd:3.7.0-0', 'etcd').path).toBe(join(root, 'etcd-v3.7.0/etcd'));
      expect(real.resolveCommand('etcdctl', 'registry.k8s.io/etcd:3.7.0-0')?.path).toBe(join(root, 'etcd-v3.7.0/etcdctl'));
      expect(() => real.resolve('registry.k8s.io/kube-apiserver:v1.35.4', 'kube-apiserver')).toThrow(/kube-apiserver v1\.35\.4 was not built/);
      expect(() => real.resolve('registry.k8s.io/kube-scheduler:v1.37.2', undefined)).toThrow(ImageNotFound);
      expect(() => real.resolve('registry.k8s.io/etcd:3.6.8-0', 'etcd')).toThrow(ImageNotFound);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('runs the konnectivity stand-ins for proxy-server and proxy-agent, or the real release of the image tag', () => {
    const simulated = new ImageResolver({ repositoryRoot: '/repo', kubeBinDir: '' });
    for (const role of ['proxy-server', 'proxy-agent']) {
      expect(simulated.resolve(`registry.k8s.io/kas-network-proxy/${role}:v0.36.0`, `/${role}`)).toEqual({
        path: process.execPath,
        leadingArgs: ['/repo/dist/services/sandbox/src/konnectivity/cli.js', role],
      });
    }
    const root = mkdtempSync(join(tmpdir(), 'kube-bins-'));
    try {
      mkdirSync(join(root, 'v1.37.2'), { recursive: true });
      mkdirSync(join(root, 'konnectivity-v0.36.0'), { recursive: true });
      for (const role of ['proxy-server', 'proxy-agent']) writeFileSync(join(root, 'konnectivity-v0.36.0', role), '#!/bin/sh\n', { mode: 0o755 });
      const real = new ImageResolver({ repositoryRoot: '/repo', kubeBinDir: join(root, 'v1.37.2') });
      expect(real.resolve('registry.k8s.io/kas-network-proxy/proxy-server:v0.36.0', '/proxy-server').path).toBe(
        join(root, 'konnectivity-v0.36.0/proxy-server'),
      );
      expect(real.resolve('registry.k8s.io/kas-network-proxy/proxy-agent:v0.36.0', '/proxy-agent').path).toBe(join(root, 'konnectivity-v0.36.0/proxy-agent'));
      // A release that was not built cannot be pulled, rather than quietly running another one.
      expect(() => real.resolve('registry.k8s.io/kas-network-proxy/proxy-server:v0.37.0', '/proxy-server')).toThrow(/proxy-server v0\.37\.0 was not built/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('atomic Secret/ConfigMap projection', () => {
  it('writes items with modes behind a ..data symlink and swaps content atomically', () => {
    const directory = mkdtempSync(join(tmpdir(), 'kubelet-volume-'));
    try {
      const data = new Map([
        ['tls.crt', Buffer.from('cert-1')],
        ['tls.key', Buffer.from('key-1')],
      ]);
      const files = projectKeys({ kind: 'Secret', name: 'tls', optional: false }, data, [{ key: 'tls.key', path: 'keys/server.key', mode: 0o400 }], 0o644);
      expect(writeAtomically(directory, files)).toBe(true);
      expect(readFileSync(join(directory, 'keys/server.key'), 'utf8')).toBe('key-1');
      expect(statSync(join(directory, 'keys/server.key')).mode & 0o777).toBe(0o400);
      expect(existsSync(join(directory, 'tls.crt'))).toBe(false);
      expect(writeAtomically(directory, files)).toBe(false);
      const first = readlinkSync(join(directory, '..data'));
      const all = projectKeys({ kind: 'Secret', name: 'tls', optional: false }, new Map([['tls.crt', Buffer.from('cert-2')]]), undefined, undefined);
      expect(writeAtomically(directory, all)).toBe(true);
      expect(readlinkSync(join(directory, '..data'))).not.toBe(first);
      expect(readFileSync(join(directory, 'tls.crt'), 'utf8')).toBe('cert-2');
      expect(statSync(join(directory, 'tls.crt')).mode & 0o777).toBe(0o644);
      expect(existsSync(join(directory, 'keys'))).toBe(false);
      expect(existsSync(join(directory, first))).toBe(false);
      expect(() => projectKeys({ kind: 'Secret', name: 'gone', optional: false }, undefined, undefined, undefined)).toThrow(VolumeSourceMissing);
      expect(projectKeys({ kind: 'Secret', name: 'gone', optional: true }, undefined, undefined, undefined)).toEqual([]);
      expect(() => projectKeys({ kind: 'ConfigMap', name: 'c', optional: false }, data, [{ key: 'nope', path: 'x' }], undefined)).toThrow(
        /couldn't find key nope/,
      );
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('address pools', () => {
  it('hands out stable, distinct addresses and skips .0 and .255', () => {
    const pool = AddressPool.forPods(3);
    const first = pool.allocate('sts:ns/etcd/0');
    expect(first).toBe('127.67.0.2');
    expect(pool.allocate('sts:ns/etcd/0')).toBe(first);
    const seen = new Set([first]);
    for (let index = 1; index < 600; index++) seen.add(pool.allocate(`pod-${index}`));
    expect(seen.size).toBe(600);
    expect([...seen].some((ip) => ip.endsWith('.0') || ip.endsWith('.255'))).toBe(false);
    pool.release('pod-1');
    expect(pool.lookup('pod-1')).toBeUndefined();
  });
});

describe('address slots', () => {
  it('gives parallel kubelets different slots and reaps the processes of a crashed one', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'kubelet-slots-'));
    try {
      const first = claimSlot(directory);
      const second = claimSlot(directory);
      expect(second.slot).not.toBe(first.slot);
      const orphan = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      const exited = new Promise((done) => orphan.once('exit', done));
      if (!orphan.pid) throw new Error('sleep did not start');
      first.recordProcessGroup(orphan.pid);
      // Simulate the owner dying without release(): a pid that does not exist owns the slot.
      writeFileSync(join(directory, `slot-${first.slot}`), String(2 ** 22 + 4_321));
      const third = claimSlot(directory);
      expect(third.slot).toBe(first.slot);
      await exited;
      expect(orphan.signalCode).toBe('SIGKILL');
      second.release();
      third.release();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
