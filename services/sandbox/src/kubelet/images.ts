import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

/** An executable plus arguments placed before the container's own arguments. */
export interface Executable {
  path: string;
  leadingArgs: string[];
}

/** Binary overrides keyed by image repository basename (or command[0] basename). */
export type BinaryOverrides = Record<string, string | Executable>;

export interface ImageResolverOptions {
  binaries?: BinaryOverrides;
  /** Directory holding kube-apiserver & co.; defaults to $KUBE_BIN_DIR. */
  kubeBinDir?: string;
  /** Repository root, used to locate the built kubesim CLI. */
  repositoryRoot: string;
}

const KUBE_COMPONENTS = new Set(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);

export class ImageNotFound extends Error {}

/** `registry.k8s.io/etcd:3.5.9-0@sha256:…` → `etcd`. */
export function imageBasename(image: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  const repository = lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
  return repository.slice(lastSlash + 1);
}

/**
 * Maps images to local binaries. An image is "pulled" when its basename is known; the
 * container's command[0] names a binary inside the image, so it is looked up by basename too
 * (an etcd image running `etcdctl` runs the host's etcdctl) and falls back to the image's
 * main binary.
 */
export class ImageResolver {
  constructor(private readonly options: ImageResolverOptions) {}

  resolve(image: string, command0: string | undefined): Executable {
    const imageName = imageBasename(image);
    const imageBinary = this.lookup(imageName);
    if (!imageBinary) throw new ImageNotFound(`image "${image}" has no local binary for "${imageName}"`);
    if (command0 !== undefined) {
      const commandName = basename(command0);
      if (commandName !== imageName) {
        const commandBinary = this.lookup(commandName);
        if (commandBinary) return commandBinary;
      }
    }
    return imageBinary;
  }

  /** For exec probes: a command inside the container, or a host binary as a last resort. */
  resolveCommand(command0: string, image: string): Executable | undefined {
    const name = basename(command0);
    const mapped = this.lookup(name);
    if (mapped) return mapped;
    if (name === imageBasename(image)) return undefined;
    for (const directory of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin']) {
      const candidate = join(directory, name);
      if (existsSync(candidate)) return { path: candidate, leadingArgs: [] };
    }
    return undefined;
  }

  private lookup(name: string): Executable | undefined {
    const override = this.options.binaries?.[name];
    if (typeof override === 'string') return { path: override, leadingArgs: [] };
    if (override) return override;
    if (name === 'etcd' && existsSync('/usr/bin/etcd')) return { path: '/usr/bin/etcd', leadingArgs: [] };
    if (name === 'etcdctl' && existsSync('/usr/bin/etcdctl')) return { path: '/usr/bin/etcdctl', leadingArgs: [] };
    if (KUBE_COMPONENTS.has(name)) {
      const kubeBinDir = this.options.kubeBinDir ?? process.env.KUBE_BIN_DIR;
      if (kubeBinDir && existsSync(join(kubeBinDir, name))) return { path: join(kubeBinDir, name), leadingArgs: [] };
      const cli = resolve(this.options.repositoryRoot, 'dist/services/sandbox/src/kubesim/cli.js');
      return { path: process.execPath, leadingArgs: [cli, name] };
    }
    return undefined;
  }
}
