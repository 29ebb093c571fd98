// What the simulated node knows of pod networking: whether a CNI plugin has configured the node
// (containerd reads /etc/cni/net.d), and which addresses its pods get.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** The extensions libcni's ConfFiles reads; anything else in the directory is ignored. */
const CNI_CONFIG = /\.(conf|conflist|json)$/;

export function cniConfigured(directory: string): boolean {
  try {
    return readdirSync(directory).some((file) => CNI_CONFIG.test(file) && !file.startsWith('.'));
  } catch {
    return false;
  }
}

/** The bridge network a node image with containerd's sample CNI configuration ships. */
export function writePreinstalledCniConfig(directory: string): void {
  mkdirSync(directory, { recursive: true });
  const config = {
    cniVersion: '1.0.0',
    name: 'containerd-net',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: true,
        promiscMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/16' }]] },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  writeFileSync(join(directory, '10-containerd-net.conflist'), `${JSON.stringify(config, null, 2)}\n`);
}

interface Ipv4Cidr {
  network: number;
  prefix: number;
}

function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function parseCidr(text: string): Ipv4Cidr | undefined {
  const [address, prefixText] = text.split('/');
  const base = address === undefined ? undefined : parseIpv4(address);
  const prefix = Number(prefixText);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { network: base - (base % size), prefix };
}

/** The cluster pod CIDR when kubeadm's ClusterConfiguration says nothing: kubeadm's flannel default. */
export const DEFAULT_POD_SUBNET = '10.244.0.0/16';

/** networking.podSubnet of the kubeadm-config ClusterConfiguration, which `kubeadm join` reads. */
export function podSubnetOf(clusterConfiguration: string | undefined): string | undefined {
  if (!clusterConfiguration) return undefined;
  const config = parse(clusterConfiguration) as { networking?: { podSubnet?: unknown } } | null;
  const subnet = config?.networking?.podSubnet;
  // Dual-stack subnets are comma-separated; the simulated pods are IPv4 only.
  return typeof subnet === 'string'
    ? subnet
        .split(',')
        .find((candidate) => parseCidr(candidate.trim()))
        ?.trim()
    : undefined;
}

/**
 * A /24 of the cluster pod CIDR for a node that kube-controller-manager's node IPAM gave none
 * (--allocate-node-cidrs off). Picked from the node's own address so nodes of one subnet get
 * distinct ranges without coordinating.
 */
export function nodePodRange(podSubnet: string, nodeIP: string): string {
  const cluster = parseCidr(podSubnet) ?? parseCidr(DEFAULT_POD_SUBNET);
  if (!cluster) throw new Error(`unparsable pod subnet ${podSubnet}`);
  const prefix = Math.max(cluster.prefix, 24);
  const ranges = 2 ** (prefix - cluster.prefix);
  const index = (parseIpv4(nodeIP) ?? 0) % ranges;
  return `${formatIpv4(cluster.network + index * 2 ** (32 - prefix))}/${prefix}`;
}

/** host-local IPAM over the node's pod range: .1 is the bridge gateway, pods get .2 onwards. */
export class PodAddressPool {
  private range: Ipv4Cidr;
  private readonly used = new Set<string>();

  constructor(cidr: string) {
    this.range = this.parse(cidr);
  }

  get cidr(): string {
    return `${formatIpv4(this.range.network)}/${this.range.prefix}`;
  }

  /** The node's spec.podCIDR appeared (or changed): new pods draw from it. */
  setRange(cidr: string): void {
    this.range = this.parse(cidr);
  }

  allocate(): string {
    const size = 2 ** (32 - this.range.prefix);
    for (let offset = 2; offset < size - 1; offset++) {
      const ip = formatIpv4(this.range.network + offset);
      if (this.used.has(ip)) continue;
      this.used.add(ip);
      return ip;
    }
    throw new Error(`no free pod address left in ${this.cidr}`);
  }

  release(ip: string): void {
    this.used.delete(ip);
  }

  private parse(cidr: string): Ipv4Cidr {
    const parsed = parseCidr(cidr);
    if (!parsed || parsed.prefix > 30) throw new Error(`pod range ${cidr} is not an IPv4 CIDR with room for pods`);
    return parsed;
  }
}
