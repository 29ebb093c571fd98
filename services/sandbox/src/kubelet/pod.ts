import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import type { V1ConfigMap, V1Container, V1Pod, V1PodStatus, V1Secret, V1Volume } from '@kubernetes/client-node';
import { ContainerRunner, type BackoffSettings } from './container.js';
import { expandKubeVariables } from './expansion.js';
import { buildPodStatus, ConditionClock, containersInitialized, type ContainerView } from './pod-status.js';
import { ImageNotFound, type ImageResolver } from './images.js';
import { createPathTranslator, type MountTranslation, type PathTranslator } from './path-translation.js';
import { projectKeys, writeAtomically, VolumeSourceMissing, type ProjectedFile } from './volumes.js';

/** What a pod needs from the kubelet around it. */
export interface PodHost {
  secret(namespace: string, name: string): V1Secret | undefined;
  configMap(namespace: string, name: string): V1ConfigMap | undefined;
  /** Directory of a bound PVC, or undefined when the claim does not exist. */
  claimDirectory(namespace: string, claimName: string): string | undefined;
  images: ImageResolver;
  backoff: BackoffSettings;
  maxTerminationGraceMs: number;
  nodeName: string;
  nodeIP: string;
  onChange(): void;
  onProcessStarted(pid: number): void;
}

class ConfigError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export class LocalPod {
  readonly runners = new Map<string, ContainerRunner>();
  readonly initRunners = new Map<string, ContainerRunner>();
  private readonly waiting = new Map<string, { reason: string; message: string }>();
  private readonly clock = new ConditionClock();
  private readonly startTime = new Date();
  private volumeDirs = new Map<string, string>();
  private terminating = false;

  constructor(
    public object: V1Pod,
    readonly ip: string,
    readonly podDir: string,
    private readonly host: PodHost,
  ) {
    mkdirSync(join(podDir, 'logs'), { recursive: true });
    mkdirSync(join(podDir, 'rootfs'), { recursive: true });
  }

  get namespace(): string {
    return this.object.metadata?.namespace ?? 'default';
  }

  get name(): string {
    return this.object.metadata?.name ?? '';
  }

  get labels(): Record<string, string> {
    return this.object.metadata?.labels ?? {};
  }

  get isTerminating(): boolean {
    return this.terminating;
  }

  get ready(): boolean {
    const containers = this.object.spec?.containers ?? [];
    return !this.terminating && containers.length > 0 && containers.every((container) => this.runners.get(container.name)?.ready === true);
  }

  logPath(container: string): string {
    return join(this.podDir, 'logs', `${container}.log`);
  }

  /**
   * Refreshes Secret/ConfigMap volumes and starts containers that could not start yet. Safe to
   * call on every reconcile: running containers are left alone.
   */
  sync(): void {
    if (this.terminating) return;
    try {
      this.volumeDirs = this.prepareVolumes();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      for (const container of this.object.spec?.containers ?? []) {
        if (!this.runners.has(container.name)) this.setWaiting(container.name, 'ContainerCreating', `MountVolume.SetUp failed: ${message}`);
      }
      return;
    }
    // Init containers run one after the other, each to successful completion (retried with
    // back-off on failure), before any app container starts.
    for (const container of this.object.spec?.initContainers ?? []) {
      const runner = this.initRunners.get(container.name);
      if (!runner) {
        this.launchContainer(container, this.initRunners, true);
        return;
      }
      if (!(runner.state.kind === 'terminated' && runner.state.exitCode === 0)) return;
    }
    for (const container of this.object.spec?.containers ?? []) {
      if (!this.runners.has(container.name)) this.launchContainer(container, this.runners, false);
    }
  }

  get initialized(): boolean {
    return containersInitialized(this.object, new Map([...this.initRunners].map(([name, runner]) => [name, { state: runner.state }])));
  }

  private launchContainer(container: V1Container, runners: Map<string, ContainerRunner>, init: boolean): void {
    try {
      const runner = this.createRunner(container, init);
      this.waiting.delete(container.name);
      runners.set(container.name, runner);
      runner.start();
    } catch (error) {
      if (error instanceof ImageNotFound) this.setWaiting(container.name, 'ErrImagePull', error.message);
      else if (error instanceof ConfigError) this.setWaiting(container.name, error.reason, error.message);
      else this.setWaiting(container.name, 'CreateContainerError', error instanceof Error ? error.message : String(error));
    }
  }

  private setWaiting(container: string, reason: string, message: string): void {
    const previous = this.waiting.get(container);
    if (previous?.reason === reason && previous.message === message) return;
    this.waiting.set(container, { reason, message });
    this.host.onChange();
  }

  async stop(graceMs?: number): Promise<void> {
    this.terminating = true;
    const requested = (this.object.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    const grace = Math.min(graceMs ?? requested, this.host.maxTerminationGraceMs);
    await Promise.all([...this.initRunners.values(), ...this.runners.values()].map((runner) => runner.stop(grace)));
  }

  /** Removes pod-local directories (emptyDir, projected files, rootfs); keeps logs. */
  removeScratch(): void {
    for (const volume of this.object.spec?.volumes ?? []) {
      if (volume.emptyDir) rmSync(emptyDirPath(this.podDir, volume.name), { recursive: true, force: true });
    }
    rmSync(join(this.podDir, 'volumes'), { recursive: true, force: true });
    rmSync(join(this.podDir, 'rootfs'), { recursive: true, force: true });
  }

  /**
   * Every volume's host directory first, then the Secret and ConfigMap files, whose text is
   * translated like the command line: a config file naming a path under a mount (the egress
   * selector's unix socket) must name the host path the process actually uses.
   */
  private prepareVolumes(): Map<string, string> {
    const volumes = this.object.spec?.volumes ?? [];
    const dirs = new Map<string, string>();
    for (const volume of volumes) dirs.set(volume.name, this.volumeDirectory(volume));
    const translate = createPathTranslator(podMounts(this.object, dirs));
    for (const volume of volumes) this.populateVolume(volume, dirs.get(volume.name) ?? '', translate);
    return dirs;
  }

  private volumeDirectory(volume: V1Volume): string {
    if (volume.secret || volume.configMap || volume.projected) return join(this.podDir, 'volumes', volume.name);
    if (volume.emptyDir) {
      // Short, so a unix socket in it fits sun_path (107 bytes): the pod directory alone is
      // longer than that. The pod's volumes/ directory links to it.
      const directory = emptyDirPath(this.podDir, volume.name);
      mkdirSync(directory, { recursive: true });
      const link = join(this.podDir, 'volumes', volume.name);
      if (!isLinkTo(link, directory)) {
        mkdirSync(join(this.podDir, 'volumes'), { recursive: true });
        rmSync(link, { recursive: true, force: true });
        symlinkSync(directory, link);
      }
      return directory;
    }
    if (volume.persistentVolumeClaim) {
      const directory = this.host.claimDirectory(this.namespace, volume.persistentVolumeClaim.claimName);
      if (!directory) throw new VolumeSourceMissing(`persistentvolumeclaim "${volume.persistentVolumeClaim.claimName}" not found`);
      return directory;
    }
    if (volume.hostPath) {
      return volume.hostPath.path;
    }
    throw new VolumeSourceMissing(`volume ${volume.name}: unsupported volume type`);
  }

  private populateVolume(volume: V1Volume, directory: string, translate: PathTranslator): void {
    const translated = (files: ProjectedFile[]): ProjectedFile[] => files.map((file) => ({ ...file, content: translateFileContent(file.content, translate) }));
    if (volume.secret) {
      const name = volume.secret.secretName ?? '';
      const files = projectKeys(
        { kind: 'Secret', name, optional: volume.secret.optional === true },
        secretData(this.host.secret(this.namespace, name)),
        volume.secret.items,
        volume.secret.defaultMode,
      );
      writeAtomically(directory, translated(files));
      return;
    }
    if (volume.configMap) {
      const name = volume.configMap.name ?? '';
      const files = projectKeys(
        { kind: 'ConfigMap', name, optional: volume.configMap.optional === true },
        configMapData(this.host.configMap(this.namespace, name)),
        volume.configMap.items,
        volume.configMap.defaultMode,
      );
      writeAtomically(directory, translated(files));
      return;
    }
    if (volume.projected) {
      const files: ProjectedFile[] = [];
      for (const source of volume.projected.sources ?? []) {
        if (source.secret) {
          const name = source.secret.name ?? '';
          files.push(
            ...projectKeys(
              { kind: 'Secret', name, optional: source.secret.optional === true },
              secretData(this.host.secret(this.namespace, name)),
              source.secret.items,
              volume.projected.defaultMode,
            ),
          );
        } else if (source.configMap) {
          const name = source.configMap.name ?? '';
          files.push(
            ...projectKeys(
              { kind: 'ConfigMap', name, optional: source.configMap.optional === true },
              configMapData(this.host.configMap(this.namespace, name)),
              source.configMap.items,
              volume.projected.defaultMode,
            ),
          );
        } else {
          throw new VolumeSourceMissing(`projected volume ${volume.name}: only secret and configMap sources are supported`);
        }
      }
      writeAtomically(directory, translated(files));
    }
  }

  private createRunner(container: V1Container, init: boolean): ContainerRunner {
    const mounts: MountTranslation[] = [];
    for (const mount of container.volumeMounts ?? []) {
      const base = this.volumeDirs.get(mount.name);
      if (!base) throw new ConfigError('CreateContainerConfigError', `volume mount ${mount.name} has no volume`);
      const hostPath = mount.subPath ? join(base, mount.subPath) : base;
      if (mount.subPath) mkdirSync(hostPath, { recursive: true });
      mounts.push({ mountPath: mount.mountPath, hostPath });
    }
    const translate = createPathTranslator(mounts);
    const env = this.resolveEnvironment(container, translate);
    const lookup = (name: string): string | undefined => env[name];
    const command = container.command ?? [];
    const rawArgs = [...command.slice(1), ...(container.args ?? [])];
    const args = rawArgs.map((arg) => translate(expandKubeVariables(arg, lookup)));
    const executable = this.host.images.resolve(container.image ?? '', command[0]);
    const rootfs = join(this.podDir, 'rootfs');
    const cwd = container.workingDir ? translate(container.workingDir) : rootfs;
    if (cwd.startsWith(resolvePath(this.podDir))) mkdirSync(cwd, { recursive: true });
    const processEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: rootfs,
      HOSTNAME: this.object.spec?.hostname ?? this.name,
      ...env,
    };
    const ports = container.ports ?? [];
    const podRestartPolicy = this.object.spec?.restartPolicy ?? 'Always';
    // An init container must succeed once: it is retried on failure unless the pod says Never.
    const restartPolicy = init ? (podRestartPolicy === 'Never' ? 'Never' : 'OnFailure') : podRestartPolicy;
    return new ContainerRunner(
      {
        name: container.name,
        image: container.image ?? '',
        executable,
        args,
        env: processEnv,
        cwd,
        logPath: this.logPath(container.name),
        restartPolicy: restartPolicy === 'Never' || restartPolicy === 'OnFailure' ? restartPolicy : 'Always',
        backoff: this.host.backoff,
        readinessProbe: init ? undefined : container.readinessProbe,
        livenessProbe: init ? undefined : container.livenessProbe,
        startupProbe: init ? undefined : container.startupProbe,
        onStarted: (pid) => this.host.onProcessStarted(pid),
        terminationGraceMs: Math.min((this.object.spec?.terminationGracePeriodSeconds ?? 30) * 1000, this.host.maxTerminationGraceMs),
        probeContext: {
          podIP: this.ip,
          ports,
          execCommand: (probeCommand) => {
            const resolved = this.host.images.resolveCommand(probeCommand[0], container.image ?? '');
            const fallback = resolved ?? safeResolve(() => this.host.images.resolve(container.image ?? '', undefined));
            if (!fallback) return undefined;
            return {
              executable: fallback,
              args: probeCommand.slice(1).map((arg) => translate(arg)),
              env: processEnv,
              cwd,
            };
          },
        },
      },
      () => this.host.onChange(),
    );
  }

  /** envFrom first, then env in order, each value expanded against what came before. */
  private resolveEnvironment(container: V1Container, translate: PathTranslator): Record<string, string> {
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      const prefix = source.prefix ?? '';
      let data: Map<string, Buffer> | undefined;
      if (source.configMapRef) {
        data = configMapData(this.host.configMap(this.namespace, source.configMapRef.name ?? ''));
        if (!data && source.configMapRef.optional !== true) {
          throw new ConfigError('CreateContainerConfigError', `configmap "${source.configMapRef.name}" not found`);
        }
      } else if (source.secretRef) {
        data = secretData(this.host.secret(this.namespace, source.secretRef.name ?? ''));
        if (!data && source.secretRef.optional !== true) {
          throw new ConfigError('CreateContainerConfigError', `secret "${source.secretRef.name}" not found`);
        }
      }
      for (const [key, value] of data ?? []) {
        if (ENV_NAME.test(prefix + key)) env[prefix + key] = value.toString('utf8');
      }
    }
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) {
        env[variable.name] = translate(expandKubeVariables(variable.value, (name) => env[name]));
        continue;
      }
      const from = variable.valueFrom;
      if (!from) {
        env[variable.name] = '';
        continue;
      }
      if (from.fieldRef) {
        env[variable.name] = this.fieldValue(from.fieldRef.fieldPath);
      } else if (from.secretKeyRef) {
        const value = secretData(this.host.secret(this.namespace, from.secretKeyRef.name ?? ''))?.get(from.secretKeyRef.key);
        if (value === undefined) {
          if (from.secretKeyRef.optional === true) continue;
          throw new ConfigError(
            'CreateContainerConfigError',
            `couldn't find key ${from.secretKeyRef.key} in Secret ${this.namespace}/${from.secretKeyRef.name}`,
          );
        }
        env[variable.name] = value.toString('utf8');
      } else if (from.configMapKeyRef) {
        const value = configMapData(this.host.configMap(this.namespace, from.configMapKeyRef.name ?? ''))?.get(from.configMapKeyRef.key);
        if (value === undefined) {
          if (from.configMapKeyRef.optional === true) continue;
          throw new ConfigError(
            'CreateContainerConfigError',
            `couldn't find key ${from.configMapKeyRef.key} in ConfigMap ${this.namespace}/${from.configMapKeyRef.name}`,
          );
        }
        env[variable.name] = value.toString('utf8');
      } else {
        throw new ConfigError('CreateContainerConfigError', `env ${variable.name}: resourceFieldRef is not supported by the process kubelet`);
      }
    }
    return env;
  }

  private fieldValue(fieldPath: string): string {
    const metadata = this.object.metadata ?? {};
    const labelMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
    if (labelMatch) {
      const map = labelMatch[1] === 'labels' ? metadata.labels : metadata.annotations;
      return map?.[labelMatch[2]] ?? '';
    }
    switch (fieldPath) {
      case 'metadata.name':
        return this.name;
      case 'metadata.namespace':
        return this.namespace;
      case 'metadata.uid':
        return metadata.uid ?? '';
      case 'spec.nodeName':
        return this.host.nodeName;
      case 'spec.serviceAccountName':
        return this.object.spec?.serviceAccountName ?? 'default';
      case 'status.podIP':
      case 'status.podIPs':
        return this.ip;
      case 'status.hostIP':
      case 'status.hostIPs':
        return this.host.nodeIP;
      default:
        throw new ConfigError('CreateContainerConfigError', `unsupported fieldPath ${fieldPath}`);
    }
  }

  status(): V1PodStatus {
    const view = (runners: Map<string, ContainerRunner>): Map<string, ContainerView> =>
      new Map(
        [...runners].map(([name, runner]) => [
          name,
          {
            state: runner.state,
            lastTermination: runner.lastTermination,
            restartCount: runner.restartCount,
            ready: runner.ready,
            started: runner.started,
            imageID: `process://${runner.image}`,
            containerID: runner.pid !== undefined ? `process://${runner.pid}` : undefined,
          },
        ]),
      );
    return buildPodStatus({
      pod: this.object,
      containers: view(this.runners),
      initContainers: view(this.initRunners),
      waiting: this.waiting,
      ready: this.ready,
      hostIP: this.host.nodeIP,
      podIP: this.ip,
      startTime: this.startTime,
      clock: this.clock,
    });
  }
}

function safeResolve<T>(resolver: () => T): T | undefined {
  try {
    return resolver();
  } catch {
    return undefined;
  }
}

export function secretData(secret: V1Secret | undefined): Map<string, Buffer> | undefined {
  if (!secret) return undefined;
  const data = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(secret.data ?? {})) data.set(key, Buffer.from(value, 'base64'));
  return data;
}

export function configMapData(configMap: V1ConfigMap | undefined): Map<string, Buffer> | undefined {
  if (!configMap) return undefined;
  const data = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(configMap.data ?? {})) data.set(key, Buffer.from(value, 'utf8'));
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) data.set(key, Buffer.from(value, 'base64'));
  return data;
}

/** Where an emptyDir lives on the host: short and stable for the pod directory and volume. */
export function emptyDirPath(podDir: string, volumeName: string): string {
  const digest = createHash('sha256')
    .update(`${resolvePath(podDir)}\0${volumeName}`)
    .digest('hex')
    .slice(0, 16);
  return join(tmpdir(), 'hm-ed', digest);
}

function isLinkTo(path: string, target: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && readlinkSync(path) === target;
  } catch {
    return false;
  }
}

/**
 * The mounts of all the pod's containers, for translating the files every container shares. A
 * mount path that two containers map to different host paths is left untranslated: no single
 * file content can be right for both.
 */
export function podMounts(pod: V1Pod, volumeDirs: Map<string, string>): MountTranslation[] {
  const byMountPath = new Map<string, string | undefined>();
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const mount of container.volumeMounts ?? []) {
      const base = volumeDirs.get(mount.name);
      if (base === undefined) continue;
      const hostPath = mount.subPath ? join(base, mount.subPath) : base;
      const known = byMountPath.get(mount.mountPath);
      byMountPath.set(mount.mountPath, byMountPath.has(mount.mountPath) && known !== hostPath ? undefined : hostPath);
    }
  }
  return [...byMountPath].flatMap(([mountPath, hostPath]) => (hostPath === undefined ? [] : [{ mountPath, hostPath }]));
}

/** Text files get the pod's path translation; anything that is not UTF-8 text is left as it is. */
export function translateFileContent(content: Buffer, translate: PathTranslator): Buffer {
  if (content.includes(0)) return content;
  const text = content.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(content)) return content;
  const translated = translate(text);
  return translated === text ? content : Buffer.from(translated, 'utf8');
}
