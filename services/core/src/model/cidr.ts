// IPv4 CIDR arithmetic for pod and service ranges. IPv6 is not offered yet.
import { invalid } from './errors.js';

export interface Ipv4Cidr {
  network: number; // unsigned 32-bit network address
  prefix: number;
  text: string; // canonical form
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => OCTET.test(part))) return undefined;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** Parses "a.b.c.d/n"; undefined when malformed or when host bits are set. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(text);
  if (!match) return undefined;
  const address = parseIpv4(match[1]);
  const prefix = Number(match[2]);
  if (address === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return undefined;
  return { network: address, prefix, text: `${formatIpv4(address)}/${prefix}` };
}

export function cidrSize(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network < b.network + cidrSize(b) && b.network < a.network + cidrSize(a);
}

/** The first usable address, which Kubernetes gives to the `kubernetes` Service. */
export function firstServiceIp(cidr: Ipv4Cidr): string {
  return formatIpv4(cidr.network + 1);
}

export function requireCidr(text: string, path: string): Ipv4Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw invalid('invalid_cidr', `${path} is not a valid IPv4 CIDR`, [{ path, message: 'expected a.b.c.d/n with no host bits set' }]);
  return cidr;
}
