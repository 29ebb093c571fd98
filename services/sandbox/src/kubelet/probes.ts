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
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
    for (const header of action.httpHeaders ?? []) headers[header.name] = header.value;
    return new Promise((resolve) => {
      const options = {
        // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
        host: action.host || context.podIP,
        port,
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
    return new Promise((resolve) => {
      // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- an empty string means unset here too and must fall back, which `??` would not do
      const socket = connect({ host: probe.tcpSocket?.host || context.podIP, port, timeout: timeoutMs });
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
