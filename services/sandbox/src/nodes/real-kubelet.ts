// A node made of the real binaries: the real `kubeadm join` (token discovery with the JWS and
// CA pin checks, the kubeadm-config and kubelet-config reads, bootstrap-kubelet.conf) and then
// kubemark's hollow kubelet, which is the real kubelet code over a fake container runtime. The
// hollow kubelet does the TLS bootstrap itself (the kubelet's own certificate code: CSR, wait
// for the kube-controller-manager to approve and sign, kubelet.conf), registers its Node,
// renews its Lease and runs the Pods bound to it with fake containers.
//
// What stands in for the machine:
// - kubeadm runs with `--rootfs <node>/rootfs`: it chroots there, so /etc/kubernetes and
//   /var/lib/kubelet are the node's own and many nodes join side by side on one host. The
//   chroot needs root, as kubeadm does on a real node.
// - systemd's kubelet unit is this module: it starts the kubelet once kubeadm has written its
//   files, with the flags the unit would pass (KUBELET_KUBEADM_ARGS, /etc/default/kubelet).
//   kubeadm's `kubelet-wait-bootstrap` phase is skipped, because it checks the kubelet's healthz
//   on 127.0.0.1:10248, which every node on one host shares; this module waits for the
//   bootstrap instead (kubelet.conf written, Node registered).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RealBinaries } from '../real-binaries/index.js';
import { ApiStatusError, apiRequest, type ApiTarget } from './join.js';
import type { JoinParameters } from './user-data.js';

export interface RealKubeletOptions {
  binaries: RealBinaries;
  params: JoinParameters;
  /** host:port the node dials (the join line's, or an override). */
  endpoint: string;
  stateDir: string;
  /** The machine's whole join budget: discovery, the TLS bootstrap and the first Ready. */
  timeoutMs: number;
  signal: AbortSignal;
}

export interface RealKubelet {
  /** The node's own client identity after the TLS bootstrap (what the kubelet runs as). */
  target: ApiTarget;
  /** SIGKILL: the machine dies with no goodbye. */
  kill(): Promise<void>;
  /** SIGTERM, as systemd stops the kubelet on shutdown. */
  stop(): Promise<void>;
}

export class RealJoinError extends Error {}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function lastLines(path: string, count = 15): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
  if (signal.aborted) throw new RealJoinError('join aborted');
}

/** `KUBELET_KUBEADM_ARGS="--a=b --c=d"` → the flags, as the systemd unit expands them. */
function kubeadmFlags(envFile: string): string[] {
  const line = /^KUBELET_KUBEADM_ARGS="?(.*?)"?$/m.exec(readFileSync(envFile, 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).filter(Boolean);
}

function flagValue(flags: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return flags.find((flag) => flag.startsWith(prefix))?.slice(prefix.length);
}

/** The client certificate the kubelet's bootstrap left behind, read as kubelet.conf points to it. */
function bootstrappedTarget(kubeconfigPath: string, server: string, caPem: string): ApiTarget | undefined {
  if (!existsSync(kubeconfigPath)) return undefined;
  const config = parse(readFileSync(kubeconfigPath, 'utf8')) as { users?: Array<{ user?: { 'client-certificate'?: string; 'client-key'?: string } }> } | null;
  const user = config?.users?.[0]?.user;
  const certFile = user?.['client-certificate'];
  const keyFile = user?.['client-key'];
  if (!certFile || !keyFile || !existsSync(certFile) || !existsSync(keyFile)) return undefined;
  return { server, caPem, credentials: { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') } };
}

export async function joinWithRealBinaries(options: RealKubeletOptions): Promise<RealKubelet> {
  const { params, binaries, signal } = options;
  const version = params.kubernetesVersion;
  if (!version) throw new RealJoinError('the user data pins no kubelet version, so no real kubelet can be chosen');
  const kubeadm = binaries.kube('kubeadm', version);
  const kubemark = binaries.kube('kubemark', version);
  const deadline = Date.now() + options.timeoutMs;
  const rootfs = join(options.stateDir, 'rootfs');
  for (const dir of ['etc/kubernetes/pki', 'var/lib/kubelet/pki', 'tmp']) mkdirSync(join(rootfs, dir), { recursive: true });
  const children = new Set<ChildProcess>();
  const run = (binary: string, args: string[], log: string, env: NodeJS.ProcessEnv = {}): ChildProcess => {
    const out = createWriteStream(join(options.stateDir, log), { flags: 'a' });
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
    // Two sources into one file: neither may end it, the exit does once both are drained.
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    children.add(child);
    child.once('exit', () => children.delete(child));
    child.once('close', () => out.end());
    return child;
  };
  const killAll = async (signalName: NodeJS.Signals): Promise<void> => {
    const running = [...children];
    for (const child of running) child.kill(signalName);
    await Promise.all(running.map(exited));
  };
  const onAbort = (): void => {
    void killAll('SIGKILL');
  };
  signal.addEventListener('abort', onAbort, { once: true });

  try {
    // 1. kubeadm join, as the cloud-init runcmd line runs it, chrooted into the node's rootfs.
    const kubeadmLog = 'kubeadm.log';
    const kubeadmJoin = run(
      kubeadm,
      [
        'join',
        options.endpoint,
        '--token',
        `${params.tokenId}.${params.tokenSecret}`,
        ...params.caCertHashes.flatMap((hash) => ['--discovery-token-ca-cert-hash', hash]),
        '--node-name',
        params.nodeName,
        '--rootfs',
        rootfs,
        // The host is not a node: no container runtime, swap, kernel modules or free 10250.
        '--ignore-preflight-errors=all',
        '--skip-phases=kubelet-wait-bootstrap',
        '--v=1',
      ],
      kubeadmLog,
    );
    const timer = setTimeout(() => kubeadmJoin.kill('SIGKILL'), Math.max(0, deadline - Date.now()));
    const code = await exited(kubeadmJoin);
    clearTimeout(timer);
    if (signal.aborted) throw new RealJoinError('join aborted');
    if (code !== 0) throw new RealJoinError(`kubeadm join exited with ${code ?? 'a signal'}:\n${lastLines(join(options.stateDir, kubeadmLog))}`);

    const bootstrapKubeconfig = join(rootfs, 'etc/kubernetes/bootstrap-kubelet.conf');
    const flagsFile = join(rootfs, 'var/lib/kubelet/kubeadm-flags.env');
    for (const written of [bootstrapKubeconfig, flagsFile, join(rootfs, 'var/lib/kubelet/config.yaml'), join(rootfs, 'etc/kubernetes/pki/ca.crt')]) {
      if (!existsSync(written)) throw new RealJoinError(`kubeadm join succeeded but did not write ${written}`);
    }
    const caPem = readFileSync(join(rootfs, 'etc/kubernetes/pki/ca.crt'), 'utf8');

    // 2. The kubelet, with the flags the deb package's systemd unit would give it.
    const unitFlags = kubeadmFlags(flagsFile);
    const taints = [
      flagValue(unitFlags, 'register-with-taints'),
      params.taints.map((taint) => `${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`).join(','),
    ]
      .filter(Boolean)
      .join(',');
    const labels = Object.entries(params.labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    const kubeletConf = join(rootfs, 'etc/kubernetes/kubelet.conf');
    const kubelet = run(
      kubemark,
      [
        '--morph=kubelet',
        `--name=${params.nodeName}`,
        `--bootstrap-kubeconfig=${bootstrapKubeconfig}`,
        `--kubeconfig=${kubeletConf}`,
        `--cert-dir=${join(rootfs, 'var/lib/kubelet/pki')}`,
        `--kubelet-port=${await freePort()}`,
        '--kubelet-read-only-port=0',
        // No containerd here: the hollow kubelet's own fake image service.
        '--use-host-image-service=false',
        ...(labels ? [`--node-labels=${labels}`] : []),
        ...(taints ? [`--register-with-taints=${taints}`] : []),
        '--v=1',
      ],
      'kubelet.log',
      { TMPDIR: join(rootfs, 'tmp') },
    );

    // 3. What kubelet-wait-bootstrap would check, and the Node the kubelet registers.
    const server = `https://${options.endpoint}`;
    let target: ApiTarget | undefined;
    let problem = 'the kubelet has not finished its TLS bootstrap';
    for (;;) {
      if (kubelet.exitCode !== null || kubelet.signalCode !== null) {
        throw new RealJoinError(`the kubelet exited with ${kubelet.exitCode ?? kubelet.signalCode}:\n${lastLines(join(options.stateDir, 'kubelet.log'))}`);
      }
      target ??= bootstrappedTarget(kubeletConf, server, caPem);
      if (target) {
        try {
          const node = await apiRequest<{ status?: { conditions?: Array<{ type: string; status: string; reason?: string }> } }>(
            target,
            'GET',
            `/api/v1/nodes/${params.nodeName}`,
          );
          const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
          if (ready?.status === 'True') break;
          problem = `Node ${params.nodeName} is not Ready (${ready?.reason ?? 'no Ready condition'})`;
        } catch (error) {
          problem = error instanceof ApiStatusError && error.status === 404 ? `Node ${params.nodeName} is not registered yet` : (error as Error).message;
        }
      }
      if (Date.now() >= deadline) throw new RealJoinError(`${problem} (${options.timeoutMs} ms):\n${lastLines(join(options.stateDir, 'kubelet.log'))}`);
      await sleep(250, signal);
    }

    return {
      target,
      kill: () => killAll('SIGKILL'),
      stop: () => killAll('SIGTERM'),
    };
  } catch (error) {
    await killAll('SIGKILL');
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
