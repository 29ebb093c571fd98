import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { RealBinaries, RealBinaryMissing, type KonnectivityCommand, type KubeCommand } from '../real-binaries/index.js';

/** An executable plus arguments placed before the container's own arguments. */
export interface Executable {
  path: string;
  leadingArgs: string[];
}

/** Binary overrides keyed by image repository basename (or command[0] basename). */
export type BinaryOverrides = Record<string, string | Executable>;

export interface ImageResolverOptions {
  binaries?: BinaryOverrides;
  /**
   * The newest version's directory of the real binaries (scripts/kube-bins.sh); defaults to
   * $KUBE_BIN_DIR. When set, kube-apiserver & co. and etcd run the real binary of the image's
   * tag, and a tag that was not built cannot be pulled (konnectivity's proxy-server and
   * proxy-agent too: `kas-network-proxy/proxy-server:v0.36.0` runs konnectivity-v0.36.0/). Unset,
   * kubesim plays the Kubernetes components, Debian's etcd plays every etcd and the konnectivity
   * stand-ins (services/sandbox/src/konnectivity) play proxy-server and proxy-agent.
   */
  kubeBinDir?: string;
  /** Repository root, used to locate the built kubesim CLI. */
  repositoryRoot: string;
}

const KUBE_COMPONENTS: ReadonlySet<string> = new Set<KubeCommand>(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
const isKubeComponent = (name: string): name is KubeCommand => KUBE_COMPONENTS.has(name);
const KONNECTIVITY: ReadonlySet<string> = new Set<KonnectivityCommand>(['proxy-server', 'proxy-agent']);
const isKonnectivity = (name: string): name is KonnectivityCommand => KONNECTIVITY.has(name);

export class ImageNotFound extends Error {}

/** `registry.k8s.io/etcd:3.5.9-0@sha256:…` → `etcd`. */
export function imageBasename(image: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  const repository = lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
  return repository.slice(lastSlash + 1);
}

/** `registry.k8s.io/etcd:3.5.9-0@sha256:…` → `3.5.9-0`; `latest` when the image names no tag. */
export function imageTag(image: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > lastSlash ? withoutDigest.slice(lastColon + 1) : 'latest';
}

/**
 * Maps images to local binaries. An image is "pulled" when its basename is known; the
 * container's command[0] names a binary inside the image, so it is looked up by basename too
 * (an etcd image running `etcdctl` runs the host's etcdctl) and falls back to the image's
 * main binary.
 */
export class ImageResolver {
  private readonly real: RealBinaries | undefined;

  constructor(private readonly options: ImageResolverOptions) {
    const kubeBinDir = options.kubeBinDir ?? process.env.KUBE_BIN_DIR;
    this.real = kubeBinDir ? new RealBinaries(kubeBinDir) : undefined;
  }

  resolve(image: string, command0: string | undefined): Executable {
    const imageName = imageBasename(image);
    const tag = imageTag(image);
    const imageBinary = this.lookup(imageName, tag, image);
    if (!imageBinary) throw new ImageNotFound(`image "${image}" has no local binary for "${imageName}"`);
    if (command0 !== undefined) {
      const commandName = basename(command0);
      if (commandName !== imageName) {
        const commandBinary = this.lookup(commandName, tag, image);
        if (commandBinary) return commandBinary;
      }
    }
    return imageBinary;
  }

  /** For exec probes: a command inside the container, or a host binary as a last resort. */
  resolveCommand(command0: string, image: string): Executable | undefined {
    const name = basename(command0);
    const mapped = this.lookup(name, imageTag(image), image);
    if (mapped) return mapped;
    if (name === imageBasename(image)) return undefined;
    for (const directory of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin']) {
      const candidate = join(directory, name);
      if (existsSync(candidate)) return { path: candidate, leadingArgs: [] };
    }
    return undefined;
  }

  private lookup(name: string, tag: string, image: string): Executable | undefined {
    const override = this.options.binaries?.[name];
    if (typeof override === 'string') return { path: override, leadingArgs: [] };
    if (override) return override;
    if (name === 'etcd' || name === 'etcdctl') {
      const real = this.real;
      if (real) return this.realBinary(() => real.etcd(name, tag), image);
      const debian = `/usr/bin/${name}`;
      return existsSync(debian) ? { path: debian, leadingArgs: [] } : undefined;
    }
    if (isKubeComponent(name)) {
      const real = this.real;
      if (real) return this.realBinary(() => real.kube(name, tag), image);
      const cli = resolve(this.options.repositoryRoot, 'dist/services/sandbox/src/kubesim/cli.js');
      return { path: process.execPath, leadingArgs: [cli, name] };
    }
    if (isKonnectivity(name)) {
      const real = this.real;
      if (real) return this.realBinary(() => real.konnectivityRelease(name, tag), image);
      const cli = resolve(this.options.repositoryRoot, 'dist/services/sandbox/src/konnectivity/cli.js');
      return { path: process.execPath, leadingArgs: [cli, name] };
    }
    return undefined;
  }

  private realBinary(find: () => string, image: string): Executable {
    try {
      return { path: find(), leadingArgs: [] };
    } catch (error) {
      if (error instanceof RealBinaryMissing) throw new ImageNotFound(`image "${image}": ${error.message}`);
      throw error;
    }
  }
}
