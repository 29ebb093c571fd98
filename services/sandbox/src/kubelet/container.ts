import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { V1Probe } from '@kubernetes/client-node';
import { ProbeSet, runProbe, type ProbeContext } from './probes.js';
import type { Executable } from './images.js';

export interface BackoffSettings {
  /** First restart delay; kubelet uses 10 s. */
  initialMs: number;
  /** Cap of the doubling delay; kubelet uses 5 min. */
  maxMs: number;
}

export interface ContainerLaunch {
  name: string;
  image: string;
  executable: Executable;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logPath: string;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  backoff: BackoffSettings;
  readinessProbe?: V1Probe;
  livenessProbe?: V1Probe;
  startupProbe?: V1Probe;
  probeContext: ProbeContext;
  terminationGraceMs: number;
  /** Called with the pid (= process group id) of every started process. */
  onStarted?: (pid: number) => void;
}

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: Date; pid: number }
  | { kind: 'terminated'; exitCode: number; signal?: string; reason: string; startedAt: Date; finishedAt: Date };

/**
 * One container as a host process: restarts with kubelet's exponential back-off, runs the
 * startup, readiness and liveness probes and reports its state for the Pod status.
 */
export class ContainerRunner {
  state: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' };
  lastTermination: Extract<ContainerState, { kind: 'terminated' }> | undefined;
  restartCount = 0;
  ready = false;
  started = false;
  private child: ChildProcess | undefined;
  private stopping = false;
  private currentBackoffMs = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private probes: ProbeSet | undefined;
  private generation = 0;
  private killRequestedByLiveness = false;
  private exitWaiters: Array<() => void> = [];

  constructor(
    private readonly launch: ContainerLaunch,
    private readonly onChange: () => void,
  ) {}

  get name(): string {
    return this.launch.name;
  }

  get image(): string {
    return this.launch.image;
  }

  get pid(): number | undefined {
    return this.state.kind === 'running' ? this.state.pid : undefined;
  }

  get logPath(): string {
    return this.launch.logPath;
  }

  start(): void {
    if (this.stopping || this.child) return;
    const generation = ++this.generation;
    const logFd = openSync(this.launch.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.launch.executable.path, [...this.launch.executable.leadingArgs, ...this.launch.args], {
        cwd: this.launch.cwd,
        env: this.launch.env,
        stdio: ['ignore', logFd, logFd],
        // Own process group, so stopping the container also stops anything it forked.
        detached: true,
      });
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    const startedAt = new Date();
    this.started = !this.launch.startupProbe;
    this.ready = false;
    child.once('error', (error) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.recordExit(generation, startedAt, 128, undefined, `StartError: ${error.message}`);
    });
    child.once('spawn', () => {
      if (this.child !== child || child.pid === undefined) return;
      this.state = { kind: 'running', startedAt, pid: child.pid };
      this.launch.onStarted?.(child.pid);
      this.startProbes(generation);
      this.onChange();
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const exitCode = code ?? 128 + signalNumber(signal);
      this.recordExit(generation, startedAt, exitCode, signal ?? undefined, undefined);
    });
  }

  private recordExit(generation: number, startedAt: Date, exitCode: number, signal: string | undefined, startError: string | undefined): void {
    this.stopProbes();
    const finishedAt = new Date();
    const reason = startError ? 'StartError' : exitCode === 0 ? 'Completed' : 'Error';
    const terminated: Extract<ContainerState, { kind: 'terminated' }> = {
      kind: 'terminated',
      exitCode,
      signal,
      reason,
      startedAt,
      finishedAt,
    };
    this.ready = false;
    this.started = false;
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const waiter of waiters) waiter();
    if (this.stopping || generation !== this.generation) {
      this.state = terminated;
      this.onChange();
      return;
    }
    const restart = this.launch.restartPolicy === 'Always' || (this.launch.restartPolicy === 'OnFailure' && (exitCode !== 0 || this.killRequestedByLiveness));
    this.killRequestedByLiveness = false;
    if (!restart) {
      this.state = terminated;
      this.onChange();
      return;
    }
    this.lastTermination = terminated;
    // Kubelet forgets the back-off once a container has run for twice the maximum delay.
    const ranFor = finishedAt.getTime() - startedAt.getTime();
    if (ranFor > 2 * this.launch.backoff.maxMs) this.currentBackoffMs = 0;
    this.currentBackoffMs = this.currentBackoffMs === 0 ? this.launch.backoff.initialMs : Math.min(this.currentBackoffMs * 2, this.launch.backoff.maxMs);
    this.state = {
      kind: 'waiting',
      reason: 'CrashLoopBackOff',
      message: `back-off ${Math.round(this.currentBackoffMs / 1000)}s restarting failed container=${this.launch.name}`,
    };
    this.onChange();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restartCount++;
      this.start();
    }, this.currentBackoffMs);
  }

  private startProbes(generation: number): void {
    const probes = new ProbeSet({
      startupProbe: this.launch.startupProbe,
      readinessProbe: this.launch.readinessProbe,
      livenessProbe: this.launch.livenessProbe,
      run: (probe) => runProbe(probe, this.launch.probeContext),
      onChange: () => {
        if (generation !== this.generation || !this.child || this.stopping) return;
        this.ready = probes.ready;
        this.started = probes.started;
        this.onChange();
      },
      onFailure: () => {
        if (generation !== this.generation || !this.child || this.stopping) return;
        // The restart policy decides what follows the kill.
        this.killRequestedByLiveness = true;
        void this.terminateProcess(this.launch.terminationGraceMs);
      },
    });
    this.probes = probes;
    this.ready = probes.ready;
    this.started = probes.started;
    probes.start();
  }

  private stopProbes(): void {
    this.probes?.stop();
    this.probes = undefined;
  }

  /** Test hook: deliver a signal to the container's process group, as if it crashed. */
  signal(signal: NodeJS.Signals): boolean {
    const child = this.child;
    if (!child?.pid) return false;
    try {
      process.kill(-child.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  private terminateProcess(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child?.pid) return Promise.resolve();
    const pid = child.pid;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.signal('SIGTERM');
    const killer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, graceMs);
    return exited.finally(() => clearTimeout(killer));
  }

  async stop(graceMs: number = this.launch.terminationGraceMs): Promise<void> {
    this.stopping = true;
    this.stopProbes();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.terminateProcess(graceMs);
    this.ready = false;
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 };
  return (signal ? numbers[signal] : undefined) ?? 0;
}
