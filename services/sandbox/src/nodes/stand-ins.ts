// Simulated containers: an in-process stand-in per container, chosen by the image's repository
// basename, serving the HTTP endpoints the real image serves so the kubelet's probes run against
// something real. Pod addresses are not on this machine, so each endpoint listens on an ephemeral
// loopback port and the node's PortMap tells the prober where "podIP:port" really is.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { createCa, type KeyPairPem } from '../kubesim/pki.js';
import type { ProbeResult } from '../kubelet/probes.js';
import { startKonnectivityAgent } from './konnectivity-agent.js';

export interface Endpoint {
  port: number;
  https?: boolean;
  /** Paths answering 200; every other path 404. Undefined: every path answers 200. */
  paths?: string[];
}

export interface StandInContext {
  pod: V1Pod;
  container: V1Container;
  /** The node's /etc/cni/net.d. */
  cniConfDir: string;
}

/** What a stand-in that runs a real workload (the konnectivity agent) gets from its node. */
export interface StandInRuntime extends StandInContext {
  /** The container's command and args, as the runtime would exec them. */
  argv: string[];
  /** A line of the container's output (kubectl logs). */
  log(line: string): void;
  /** A file the pod's volumes put in the container (projected service-account token, ca.crt). */
  readFile(path: string): Promise<string>;
  /** A connection as the node's network makes it: the node's and its pods' addresses reach their listeners. */
  dial(host: string, port: number): Promise<Duplex>;
}

export interface RunningStandIn {
  stop(): Promise<void>;
  /** The status an endpoint of the stand-in answers for a path now; undefined: the static answer. */
  answer?(port: number, path: string): number | undefined;
}

export interface StandIn {
  /** What the image serves once running; containerPorts are served too (200 on every path). */
  endpoints: Endpoint[];
  /** Done once the container runs (an app container) or before it exits 0 (an init container). */
  run?(context: StandInContext, init: boolean): void;
  /** A workload of its own, started with the container and stopped with it; a rejection fails the start. */
  start?(runtime: StandInRuntime): Promise<RunningStandIn>;
  /** The first lines the container writes (its start-up log). */
  startLog?(context: StandInContext): string[];
  /** An exec probe's outcome; exec probes succeed unless the stand-in says otherwise. */
  exec?(command: string[]): ProbeResult;
}

const CILIUM_CONFLIST = {
  cniVersion: '0.3.1',
  name: 'cilium',
  plugins: [{ type: 'cilium-cni', enable_debug: false, 'log-file': '/var/run/cilium/cilium-cni.log' }],
};

const FLANNEL_CONFLIST = {
  name: 'cbr0',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

const CALICO_CONFLIST = {
  name: 'k8s-pod-network',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'calico', datastore_type: 'kubernetes', ipam: { type: 'calico-ipam' }, policy: { type: 'k8s' } },
    { type: 'portmap', snat: true, capabilities: { portMappings: true } },
  ],
};

function writeConflist(directory: string, file: string, content: object): void {
  mkdirSync(directory, { recursive: true });
  // Written under a temporary name and renamed, as the plugins do, so a reader never sees half a file.
  const temporary = join(directory, `.${file}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(temporary, join(directory, file));
}

/** Image repository basename → behaviour. Anything else gets GENERIC. */
export const STAND_INS: Record<string, StandIn> = {
  coredns: {
    endpoints: [{ port: 8080, paths: ['/health'] }, { port: 8181, paths: ['/ready'] }, { port: 9153, paths: ['/metrics'] }, { port: 53 }],
  },
  'kube-proxy': {
    endpoints: [
      { port: 10256, paths: ['/healthz', '/livez'] },
      { port: 10249, paths: ['/metrics', '/healthz'] },
    ],
  },
  // The agent image also runs cilium's init containers (config, mount-cgroup, install-cni-binaries…),
  // which install binaries only: the agent writes the CNI configuration once it is up.
  cilium: {
    endpoints: [{ port: 9879, paths: ['/healthz'] }, { port: 9876 }],
    run: (context, init) => {
      if (!init) writeConflist(context.cniConfDir, '05-cilium.conflist', CILIUM_CONFLIST);
    },
  },
  'cilium-envoy': { endpoints: [{ port: 9878, paths: ['/healthz'] }, { port: 9964 }] },
  'operator-generic': { endpoints: [{ port: 9234, paths: ['/healthz'] }] },
  // kube-flannel's install-cni init container copies the ConfigMap's cni-conf.json into place;
  // install-cni-plugin (flannel-cni-plugin) only copies the plugin binary.
  flannel: {
    endpoints: [],
    run: (context, init) => {
      if (init) writeConflist(context.cniConfDir, '10-flannel.conflist', FLANNEL_CONFLIST);
    },
  },
  'flannel-cni-plugin': { endpoints: [] },
  // calico-node's install-cni init container (calico/cni) writes calico's configuration.
  cni: {
    endpoints: [],
    run: (context, init) => {
      if (init) writeConflist(context.cniConfDir, '10-calico.conflist', CALICO_CONFLIST);
    },
  },
  // The agent really dials the konnectivity server and carries the apiserver's node traffic.
  'konnectivity-agent': { endpoints: [{ port: 8093 }], start: startKonnectivityAgent },
  'proxy-agent': { endpoints: [{ port: 8093 }], start: startKonnectivityAgent },
  'metrics-server': { endpoints: [{ port: 10250, https: true, paths: ['/livez', '/readyz', '/healthz'] }] },
};

/** Any other image: a process that says it started and serves its declared ports. */
const GENERIC: StandIn = {
  endpoints: [],
  startLog: ({ pod, container }) => {
    const ports = (container.ports ?? []).map((port) => `${port.containerPort}/${port.protocol ?? 'TCP'}`);
    return [
      `starting ${container.name} (${container.image ?? 'no image'}) in pod ${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`,
      ports.length > 0 ? `listening on ${ports.join(', ')}` : 'ready',
    ];
  },
};

/** `registry.k8s.io/coredns/coredns:v1.11.1` → `coredns`; digests and registry ports are ignored. */
export function imageBasename(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const name = withoutDigest.slice(lastSlash + 1);
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(0, colon);
}

export function standInFor(image: string): StandIn {
  return STAND_INS[imageBasename(image)] ?? GENERIC;
}

/**
 * Where each (address, port) a probe may dial really listens, for one node. Host-network pods
 * register under the node's addresses, the others under their pod IP.
 */
export class PortMap {
  private readonly entries = new Map<string, { host: string; port: number }>();

  set(hosts: string[], port: number, actualPort: number, actualHost = '127.0.0.1'): void {
    for (const host of hosts) this.entries.set(`${host}:${port}`, { host: actualHost, port: actualPort });
  }

  delete(hosts: string[], port: number, actualPort: number): void {
    for (const host of hosts) if (this.entries.get(`${host}:${port}`)?.port === actualPort) this.entries.delete(`${host}:${port}`);
  }

  resolve(host: string, port: number): { host: string; port: number } | undefined {
    return this.entries.get(`${host}:${port}`);
  }
}

let servingCertificate: Promise<KeyPairPem> | undefined;

/** One self-signed serving certificate per process: probes never verify it, as with the kubelet. */
function standInCertificate(): Promise<KeyPairPem> {
  servingCertificate ??= createCa('stand-in-serving');
  return servingCertificate;
}

/** The running servers of one stand-in container. */
export class StandInServers {
  private readonly servers: Array<{ server: Server; port: number; actual: number }> = [];

  constructor(
    private readonly portMap: PortMap,
    private readonly hosts: string[],
  ) {}

  async listen(endpoints: Endpoint[], answer?: (port: number, path: string) => number | undefined): Promise<void> {
    const seen = new Set<number>();
    for (const endpoint of endpoints) {
      if (seen.has(endpoint.port)) continue;
      seen.add(endpoint.port);
      const handler = (request: IncomingMessage, response: ServerResponse): void => {
        const path = (request.url ?? '/').split('?')[0] ?? '/';
        const status = answer?.(endpoint.port, path);
        if (status !== undefined) {
          response.writeHead(status, { 'content-type': 'text/plain' });
          response.end(status === 200 ? 'ok' : status === 404 ? '404 page not found' : 'not ready');
          return;
        }
        const ok = endpoint.paths === undefined || endpoint.paths.includes(path);
        response.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' });
        response.end(ok ? 'ok' : '404 page not found');
      };
      const certificate = endpoint.https ? await standInCertificate() : undefined;
      const server = certificate ? createHttpsServer({ key: certificate.keyPem, cert: certificate.certPem }, handler) : createHttpServer(handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const actual = (server.address() as AddressInfo).port;
      this.servers.push({ server, port: endpoint.port, actual });
      this.portMap.set(this.hosts, endpoint.port, actual);
    }
  }

  async close(): Promise<void> {
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(async ({ server, port, actual }) => {
        this.portMap.delete(this.hosts, port, actual);
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }),
    );
  }
}

/** The stand-in's own endpoints plus the container's declared TCP ports. */
export function endpointsOf(standIn: StandIn, container: V1Container): Endpoint[] {
  const declared = (container.ports ?? [])
    .filter((port) => (port.protocol ?? 'TCP') === 'TCP')
    .map((port): Endpoint => ({ port: port.containerPort }))
    .filter((endpoint) => !standIn.endpoints.some((own) => own.port === endpoint.port));
  return [...standIn.endpoints, ...declared];
}
