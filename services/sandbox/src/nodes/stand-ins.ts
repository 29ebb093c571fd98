// Simulated containers: an in-process stand-in per container, chosen by the image's repository
// basename, serving the HTTP endpoints the real image serves so the kubelet's probes run against
// something real. Pod addresses are not on this machine, so each endpoint listens on an ephemeral
// loopback port and the node's PortMap tells the prober where "podIP:port" really is.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { createCa, type KeyPairPem } from '../kubesim/pki.js';
import type { ProbeResult } from '../kubelet/probes.js';

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

export interface StandIn {
  /** What the image serves once running; containerPorts are served too (200 on every path). */
  endpoints: Endpoint[];
  /** Done once the container runs (an app container) or before it exits 0 (an init container). */
  run?(context: StandInContext, init: boolean): void;
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
  'konnectivity-agent': { endpoints: [{ port: 8093, paths: ['/healthz', '/readyz'] }] },
  'proxy-agent': { endpoints: [{ port: 8093, paths: ['/healthz', '/readyz'] }] },
  'metrics-server': { endpoints: [{ port: 10250, https: true, paths: ['/livez', '/readyz', '/healthz'] }] },
};

const GENERIC: StandIn = { endpoints: [] };

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
  private readonly entries = new Map<string, number>();

  set(hosts: string[], port: number, actualPort: number): void {
    for (const host of hosts) this.entries.set(`${host}:${port}`, actualPort);
  }

  delete(hosts: string[], port: number, actualPort: number): void {
    for (const host of hosts) if (this.entries.get(`${host}:${port}`) === actualPort) this.entries.delete(`${host}:${port}`);
  }

  resolve(host: string, port: number): { host: string; port: number } | undefined {
    const actual = this.entries.get(`${host}:${port}`);
    return actual === undefined ? undefined : { host: '127.0.0.1', port: actual };
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

  async listen(endpoints: Endpoint[]): Promise<void> {
    const seen = new Set<number>();
    for (const endpoint of endpoints) {
      if (seen.has(endpoint.port)) continue;
      seen.add(endpoint.port);
      const handler = (request: IncomingMessage, response: ServerResponse): void => {
        const path = (request.url ?? '/').split('?')[0] ?? '/';
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
