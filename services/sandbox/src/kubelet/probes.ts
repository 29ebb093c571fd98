import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';
import type { Executable } from './images.js';

export interface ProbeContext {
  podIP: string;
  ports: V1ContainerPort[];
  /** Resolves an exec probe's command to a host process, or undefined when impossible. */
  execCommand(command: string[]): { executable: Executable; args: string[]; env: Record<string, string>; cwd: string } | undefined;
  /**
   * Where a probe to host:port really connects, or undefined when nothing listens there. Lets a
   * simulated pod whose address is not on this machine serve its probes on a loopback port.
   */
  connectTo?(host: string, port: number): { host: string; port: number } | undefined;
}

export type ProbeResult = { ok: true } | { ok: false; reason: string };

export function resolvePort(port: number | string | undefined, ports: V1ContainerPort[]): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number.parseInt(port, 10);
  return ports.find((candidate) => candidate.name === port)?.containerPort;
}

/** One probe attempt with kubelet's semantics (HTTP 200–399, TCP connect, exec exit 0). */
export async function runProbe(probe: V1Probe, context: ProbeContext): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const action = probe.httpGet;
    const port = resolvePort(action.port, context.ports);
    if (port === undefined) return { ok: false, reason: `unknown port ${String(action.port)}` };
    const https = (action.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
    // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
    const endpoint = dialTarget(context, action.host || context.podIP, port);
    if (!endpoint.ok) return endpoint;
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
    for (const header of action.httpHeaders ?? []) headers[header.name] = header.value;
    return new Promise((resolve) => {
      const options = {
        host: endpoint.host,
        port: endpoint.port,
        // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
        path: action.path || '/',
        method: 'GET',
        headers,
        timeout: timeoutMs,
        // Kubelet does not verify the serving certificate of HTTPS probes.
        rejectUnauthorized: false,
      };
      const request = (https ? httpsRequest : httpRequest)(options, (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `HTTP probe failed with statuscode: ${status}` });
      });
      request.on('timeout', () => {
        request.destroy();
        resolve({ ok: false, reason: 'probe timed out' });
      });
      request.on('error', (error) => resolve({ ok: false, reason: error.message }));
      request.end();
    });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, context.ports);
    if (port === undefined) return { ok: false, reason: `unknown port ${String(probe.tcpSocket.port)}` };
    // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
    const endpoint = dialTarget(context, probe.tcpSocket.host || context.podIP, port);
    if (!endpoint.ok) return endpoint;
    return new Promise((resolve) => {
      const socket = connect({ host: endpoint.host, port: endpoint.port, timeout: timeoutMs });
      socket.once('connect', () => {
        socket.destroy();
        resolve({ ok: true });
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve({ ok: false, reason: 'probe timed out' });
      });
      socket.once('error', (error) => resolve({ ok: false, reason: error.message }));
    });
  }
  if (probe.exec?.command && probe.exec.command.length > 0) {
    const resolved = context.execCommand(probe.exec.command);
    if (!resolved) return { ok: false, reason: `exec: executable ${probe.exec.command[0]} not found` };
    return new Promise((resolve) => {
      const child = spawn(resolved.executable.path, [...resolved.executable.leadingArgs, ...resolved.args], {
        env: resolved.env,
        cwd: resolved.cwd,
        stdio: 'ignore',
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ ok: false, reason: 'command timed out' });
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        resolve({ ok: false, reason: error.message });
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code === 0 ? { ok: true } : { ok: false, reason: `command exited with ${code ?? 'signal'}` });
      });
    });
  }
  return { ok: false, reason: 'probe has no handler' };
}

function dialTarget(context: ProbeContext, host: string, port: number): { ok: true; host: string; port: number } | { ok: false; reason: string } {
  if (!context.connectTo) return { ok: true, host, port };
  const mapped = context.connectTo(host, port);
  // The wording of Go's dialer, which is what the kubelet reports.
  return mapped ? { ok: true, ...mapped } : { ok: false, reason: `dial tcp ${host}:${port}: connect: connection refused` };
}

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

export interface ProbeSetOptions {
  startupProbe?: V1Probe;
  readinessProbe?: V1Probe;
  livenessProbe?: V1Probe;
  run(probe: V1Probe): Promise<ProbeResult>;
  /** `ready` or `started` changed. */
  onChange(): void;
  /** A liveness or startup probe failed past its threshold: the kubelet kills the container. */
  onFailure(kind: 'startup' | 'liveness', reason: string): void;
}

/**
 * The kubelet's probe workers for one running container: the startup probe gates the others,
 * readiness flips `ready` on its thresholds, liveness/startup failures ask for a kill. Used by
 * both the process kubelet and the simulated tenant node, so probes behave the same in both.
 */
export class ProbeSet {
  ready: boolean;
  started: boolean;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly options: ProbeSetOptions) {
    this.started = !options.startupProbe;
    this.ready = this.started && !options.readinessProbe;
  }

  start(): void {
    const { startupProbe, readinessProbe, livenessProbe } = this.options;
    if (startupProbe) {
      this.schedule(startupProbe, { successes: 0, failures: 0 }, 'startup');
    } else {
      if (readinessProbe) this.schedule(readinessProbe, { successes: 0, failures: 0 }, 'readiness');
      if (livenessProbe) this.schedule(livenessProbe, { successes: 0, failures: 0 }, 'liveness');
    }
  }

  stop(): void {
    this.stopped = true;
    this.ready = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  private schedule(probe: V1Probe, counters: { successes: number; failures: number }, kind: ProbeKind, delayMs?: number): void {
    if (this.stopped) return;
    const periodMs = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    const initialMs = delayMs ?? Math.max(0, probe.initialDelaySeconds ?? 0) * 1000;
    const timer = setTimeout(() => {
      this.timers = this.timers.filter((candidate) => candidate !== timer);
      void this.probeOnce(probe, counters, kind).then(() => {
        if (!this.stopped && (kind !== 'startup' || !this.started)) this.schedule(probe, counters, kind, periodMs);
      });
    }, initialMs);
    this.timers.push(timer);
  }

  private async probeOnce(probe: V1Probe, counters: { successes: number; failures: number }, kind: ProbeKind): Promise<void> {
    const result = await this.options.run(probe);
    if (this.stopped) return;
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
      if (before !== this.ready) this.options.onChange();
      return;
    }
    if (kind === 'startup' && counters.successes >= 1) {
      const { readinessProbe, livenessProbe } = this.options;
      this.started = true;
      if (!readinessProbe) this.ready = true;
      if (readinessProbe) this.schedule(readinessProbe, { successes: 0, failures: 0 }, 'readiness', 0);
      if (livenessProbe) this.schedule(livenessProbe, { successes: 0, failures: 0 }, 'liveness');
      this.options.onChange();
      return;
    }
    if (counters.failures >= failureThreshold) {
      this.stop();
      this.options.onChange();
      this.options.onFailure(kind, result.ok ? '' : result.reason);
    }
  }
}
