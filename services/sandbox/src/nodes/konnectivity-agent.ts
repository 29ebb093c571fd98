// The konnectivity agent image (`proxy-agent`) on a simulated node: the real flags, the projected
// CA and service-account token from the pod's volumes, and H2's agent (services/sandbox/src/
// konnectivity) dialling out to the server; what the server sends back is dialled on the node's
// network. Its health port answers /readyz 200 only while connected, so the DaemonSet rolls out
// when the tunnel is up.
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { RunningStandIn, StandInRuntime } from './stand-ins.js';

/** The agent as services/sandbox/src/konnectivity exposes it (the shared contract). */
type StartProxyAgent = (options: {
  serverHost: string;
  serverPort: number;
  caCertPem: string;
  token: () => string;
  agentId: string;
  identifiers?: string;
  healthPort?: number;
  healthHost?: string;
  dial?: (host: string, port: number) => Promise<Duplex>;
}) => Promise<{ close(): Promise<void>; connected(): boolean }>;

interface AgentFlags {
  serverHost: string;
  serverPort: number;
  caCert: string;
  tokenPath: string;
  agentId: string;
  identifiers: string;
  healthPort: number;
}

/** proxy-agent's own defaults (cmd/agent/app/options). */
const DEFAULT_HEALTH_PORT = 8093;
const DEFAULT_SERVER_PORT = 8091;
/** How often the agent's token file is read again: the kubelet rotates it at 80 % of its lifetime. */
const TOKEN_REFRESH_MS = 5 * 60_000;

export function parseAgentFlags(argv: string[]): AgentFlags {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const match = /^--?([^=]+)(?:=(.*))?$/s.exec(argv[i] ?? '');
    if (!match) continue;
    const [, name, value] = match as unknown as [string, string, string | undefined];
    if (value !== undefined) values.set(name, value);
    else if (i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('-')) values.set(name, argv[++i] ?? '');
    else values.set(name, 'true');
  }
  const port = (name: string, fallback: number): number => {
    const text = values.get(name);
    const parsed = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`invalid argument "${text}" for "--${name}" flag`);
    return parsed;
  };
  const serverHost = values.get('proxy-server-host') ?? '127.0.0.1';
  const caCert = values.get('ca-cert') ?? '';
  const tokenPath = values.get('service-account-token-path') ?? '';
  return {
    serverHost,
    serverPort: port('proxy-server-port', DEFAULT_SERVER_PORT),
    caCert,
    tokenPath,
    agentId: values.get('agent-id') ?? randomUUID(),
    identifiers: values.get('agent-identifiers') ?? '',
    healthPort: port('health-server-port', DEFAULT_HEALTH_PORT),
  };
}

async function loadAgent(): Promise<StartProxyAgent> {
  const path = '../konnectivity/index.js';
  const module = (await import(path)) as { startProxyAgent?: StartProxyAgent };
  if (typeof module.startProxyAgent !== 'function') throw new Error(`${path} does not export startProxyAgent`);
  return module.startProxyAgent;
}

export async function startKonnectivityAgent(runtime: StandInRuntime): Promise<RunningStandIn> {
  const flags = parseAgentFlags(runtime.argv);
  if (!flags.caCert) throw new Error('the konnectivity agent needs --ca-cert to verify the server');
  if (!flags.tokenPath) throw new Error('the konnectivity agent needs --service-account-token-path');
  const caCertPem = await runtime.readFile(flags.caCert);
  let token = (await runtime.readFile(flags.tokenPath)).trim();
  const startProxyAgent = await loadAgent();
  runtime.log(`"Starting proxy agent" agentID="${flags.agentId}" serverAddress="${flags.serverHost}:${flags.serverPort}" identifiers="${flags.identifiers}"`);
  const agent = await startProxyAgent({
    serverHost: flags.serverHost,
    serverPort: flags.serverPort,
    caCertPem,
    token: () => token,
    agentId: flags.agentId,
    ...(flags.identifiers ? { identifiers: flags.identifiers } : {}),
    dial: (host, port) => runtime.dial(host, port),
  });
  let wasConnected = false;
  const refresh = setInterval(() => {
    runtime
      .readFile(flags.tokenPath)
      .then((next) => (token = next.trim()))
      .catch((error: unknown) => runtime.log(`"Failed to read the service account token" err="${error instanceof Error ? error.message : String(error)}"`));
  }, TOKEN_REFRESH_MS);
  return {
    stop: async () => {
      clearInterval(refresh);
      await agent.close();
    },
    answer: (port, path) => {
      if (port !== flags.healthPort) return undefined;
      const connected = agent.connected();
      if (connected !== wasConnected) {
        wasConnected = connected;
        runtime.log(
          connected ? `"Connected to proxy server" serverAddress="${flags.serverHost}:${flags.serverPort}"` : '"Lost the connection to the proxy server"',
        );
      }
      if (path === '/healthz') return 200;
      if (path === '/readyz') return connected ? 200 : 500;
      return 404;
    },
  };
}
