// `node cli.js proxy-server <real proxy-server flags>` and `node cli.js proxy-agent <real
// proxy-agent flags>`: the konnectivity stand-ins as the process kubelet runs them for the images
// `kas-network-proxy/proxy-server` and `proxy-agent` when no real binary is configured. Unknown
// or invalid flags exit 1 with the real binary's message, before anything listens.
import { readFileSync } from 'node:fs';
import { PROXY_AGENT_FLAGS, proxyAgentArguments, startProxyAgent, type RunningProxyAgent } from './agent.js';
import { FlagError } from './flags.js';
import { klog } from './protocol.js';
import { PROXY_SERVER_FLAGS, startProxyServer, type RunningProxyServer } from './server.js';

async function runAgent(args: string[]): Promise<RunningProxyAgent> {
  const parsed = proxyAgentArguments(args);
  return startProxyAgent({
    ...parsed,
    caCertPem: readFileSync(parsed.caCertPath, 'utf8'),
    token: () => readFileSync(parsed.tokenPath, 'utf8'),
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
