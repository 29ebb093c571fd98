import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { V1Probe } from '@kubernetes/client-node';
import { runProbe, type ProbeContext } from './probes.js';
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

interface ProbeCounters {
  successes: number;
  failures: number;
}

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
  private probeTimers: NodeJS.Timeout[] = [];
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
      if (!this.launch.readinessProbe && this.started) this.ready = true;
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
    const { startupProbe, readinessProbe, livenessProbe } = this.launch;
    if (startupProbe) {
      this.schedule(generation, startupProbe, { successes: 0, failures: 0 }, 'startup');
    } else {
      if (readinessProbe) this.schedule(generation, readinessProbe, { successes: 0, failures: 0 }, 'readiness');
      if (livenessProbe) this.schedule(generation, livenessProbe, { successes: 0, failures: 0 }, 'liveness');
    }
  }

  private schedule(generation: number, probe: V1Probe, counters: ProbeCounters, kind: 'startup' | 'readiness' | 'liveness', delayMs?: number): void {
    const periodMs = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    const initialMs = delayMs ?? Math.max(0, probe.initialDelaySeconds ?? 0) * 1000;
    const timer = setTimeout(() => {
      this.probeTimers = this.probeTimers.filter((candidate) => candidate !== timer);
      void this.probeOnce(generation, probe, counters, kind).then(() => {
        if (generation === this.generation && this.child && !this.stopping && this.shouldContinue(kind)) {
          this.schedule(generation, probe, counters, kind, periodMs);
        }
      });
    }, initialMs);
    this.probeTimers.push(timer);
  }

  private shouldContinue(kind: 'startup' | 'readiness' | 'liveness'): boolean {
    return kind !== 'startup' || !this.started;
  }

  private async probeOnce(generation: number, probe: V1Probe, counters: ProbeCounters, kind: 'startup' | 'readiness' | 'liveness'): Promise<void> {
    const result = await runProbe(probe, this.launch.probeContext);
    if (generation !== this.generation || !this.child || this.stopping) return;
    if (result.ok) {
      counters.failures = 0;
      counters.successes++;
    } else {
      counters.successes = 0;
      counters.failures++;
    }
    const successThreshold = kind === 'readiness' ? Math.max(1, probe.successThreshold ?? 1) : 1;
    const failureThreshold = Math.max(1, probe.failureThreshold ?? 3);
    if (kind === 'readiness') {
      const before = this.ready;
      if (counters.successes >= successThreshold) this.ready = true;
      if (counters.failures >= failureThreshold) this.ready = false;
      if (before !== this.ready) this.onChange();
      return;
    }
    if (kind === 'startup' && counters.successes >= 1) {
      this.started = true;
      if (!this.launch.readinessProbe) this.ready = true;
      if (this.launch.readinessProbe) this.schedule(generation, this.launch.readinessProbe, { successes: 0, failures: 0 }, 'readiness', 0);
      if (this.launch.livenessProbe) this.schedule(generation, this.launch.livenessProbe, { successes: 0, failures: 0 }, 'liveness');
      this.onChange();
      return;
    }
    if (counters.failures >= failureThreshold) {
      // Failed liveness or startup: kubelet kills the container and the restart policy decides.
      this.killRequestedByLiveness = true;
      this.stopProbes();
      this.ready = false;
      this.onChange();
      void this.terminateProcess(this.launch.terminationGraceMs);
    }
  }

  private stopProbes(): void {
    for (const timer of this.probeTimers) clearTimeout(timer);
    this.probeTimers = [];
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
