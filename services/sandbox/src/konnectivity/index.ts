// The konnectivity tunnel (apiserver-network-proxy) for the sandbox: the proxy-server and
// proxy-agent stand-ins and the apiserver's client, speaking the real wire protocol.
export { dialThroughTunnel, TunnelDialError } from './client.js';
export { proxyAgentArguments, startProxyAgent, type ProxyAgentArguments, type ProxyAgentOptions, type RunningProxyAgent } from './agent.js';
export { startProxyServer, proxyServerOptions, type RunningProxyServer } from './server.js';
export { FlagError } from './flags.js';
