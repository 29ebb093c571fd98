// `node cli.js proxy-server <real proxy-server flags>` and `node cli.js proxy-agent <real
// proxy-agent flags>`: the konnectivity stand-ins as the process kubelet runs them for the images
// `kas-network-proxy/proxy-server` and `proxy-agent` when no real binary is configured. Unknown
// or invalid flags exit 1 with the real binary's message, before anything listens.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startProxyAgent, type RunningProxyAgent } from './agent.js';
import { FlagError, KLOG_FLAGS, nonEmpty, parseFlags, type FlagSet } from './flags.js';
import { klog } from './protocol.js';
import { PROXY_SERVER_FLAGS, startProxyServer, type RunningProxyServer } from './server.js';

export const PROXY_AGENT_FLAGS: FlagSet = {
  ...KLOG_FLAGS,
  'agent-cert': { kind: 'string' },
  'agent-key': { kind: 'string' },
  'ca-cert': { kind: 'string' },
  'proxy-server-host': { kind: 'string', default: '127.0.0.1' },
  'proxy-server-port': { kind: 'int', default: '8091' },
  'alpn-proto': { kind: 'string' },
  'health-server-host': { kind: 'string' },
  'health-server-port': { kind: 'int', default: '8093' },
  'admin-server-port': { kind: 'int', default: '8094' },
  'admin-bind-address': { kind: 'string', default: '127.0.0.1' },
  'enable-profiling': { kind: 'bool' },
  'enable-contention-profiling': { kind: 'bool' },
  'agent-id': { kind: 'string' },
  'sync-interval': { kind: 'duration', default: '1s' },
  'probe-interval': { kind: 'duration', default: '1s' },
  'sync-interval-cap': { kind: 'duration', default: '10s' },
  'keepalive-time': { kind: 'duration', default: '1h' },
  'service-account-token-path': { kind: 'string' },
  'agent-identifiers': { kind: 'string' },
  'warn-on-channel-limit': { kind: 'bool' },
  'sync-forever': { kind: 'bool' },
  'xfr-channel-size': { kind: 'int', default: '150' },
  'count-server-leases': { kind: 'bool' },
  'lease-namespace': { kind: 'string', default: 'kube-system' },
  'lease-label': { kind: 'string', default: 'k8s-app=konnectivity-server' },
  'server-count-source': { kind: 'string', default: 'default' },
  kubeconfig: { kind: 'string' },
  'kube-api-content-type': { kind: 'string' },
};

const IDENTIFIER_TYPES = new Set(['ipv4', 'ipv6', 'host', 'cidr', 'default-route']);

async function runAgent(args: string[]): Promise<RunningProxyAgent> {
  const flags = parseFlags(args, PROXY_AGENT_FLAGS);
  const caCert = flags.string('ca-cert');
  if (!caCert) throw new FlagError('the proxy-agent stand-in needs --ca-cert: it dials the server with TLS');
  if (flags.string('agent-cert') || flags.string('agent-key'))
    throw new FlagError('the proxy-agent stand-in authenticates by --service-account-token-path, not client certificates');
  const tokenPath = flags.string('service-account-token-path');
  if (!tokenPath) throw new FlagError('the proxy-agent stand-in needs --service-account-token-path');
  const identifiers = flags.string('agent-identifiers');
  for (const [type] of new URLSearchParams(identifiers)) {
    if (!IDENTIFIER_TYPES.has(type)) throw new FlagError(`agent address is invalid: unknown identifier type: ${type}`);
  }
  readFileSync(caCert);
  return startProxyAgent({
    serverHost: flags.string('proxy-server-host'),
    serverPort: flags.int('proxy-server-port'),
    caCertPem: readFileSync(caCert, 'utf8'),
    token: () => readFileSync(tokenPath, 'utf8'),
    agentId: nonEmpty(flags.string('agent-id')) ?? nonEmpty(process.env.PROXY_AGENT_ID) ?? randomUUID(),
    identifiers,
    healthPort: flags.int('health-server-port'),
    healthHost: flags.string('health-server-host'),
    syncIntervalMs: flags.durationMs('sync-interval'),
    syncIntervalCapMs: flags.durationMs('sync-interval-cap'),
    log: klog,
  });
}

async function main(argv: string[]): Promise<void> {
  const [role, ...args] = argv;
  if (args.includes('--help') || args.includes('-h')) {
    const flags = role === 'proxy-agent' ? PROXY_AGENT_FLAGS : PROXY_SERVER_FLAGS;
    process.stdout.write(
      `Usage:\n  ${role ?? 'proxy-server'} [flags]\n\nFlags:\n${Object.keys(flags)
        .map((name) => `      --${name}\n`)
        .join('')}`,
    );
    return;
  }
  let running: RunningProxyServer | RunningProxyAgent;
  try {
    if (role === 'proxy-server') running = await startProxyServer(args);
    else if (role === 'proxy-agent') running = await runAgent(args);
    else throw new FlagError(`usage: cli.js proxy-server|proxy-agent <flags> (got ${role ?? 'nothing'})`);
  } catch (error) {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const stop = (): void => {
    void running.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main(process.argv.slice(2));
