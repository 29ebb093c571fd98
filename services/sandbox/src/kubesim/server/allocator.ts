import type { KubeObject } from '../contracts.js';
import { fieldError, type StatusCause } from './errors.js';
import { scalarText } from '../../text.js';

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export interface ServiceRanges {
  cidr: string;
  nodePortMin: number;
  nodePortMax: number;
}

export function parseCidr(cidr: string): { base: number; size: number } {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!match || match[1].split('.').some((o) => Number(o) > 255) || Number(match[2]) > 30) throw new Error(`invalid service CIDR "${cidr}"`);
  const size = 2 ** (32 - Number(match[2]));
  const base = ipToNumber(match[1]) - (ipToNumber(match[1]) % size);
  return { base, size };
}

/** The first address of the service range, which the real apiserver gives the `kubernetes` Service. */
export function firstServiceIp(cidr: string): string {
  return numberToIp(parseCidr(cidr).base + 1);
}

export function parsePortRange(range: string): { min: number; max: number } {
  const match = /^(\d+)-(\d+)$/.exec(range) ?? /^(\d+)\+(\d+)$/.exec(range);
  if (!match) throw new Error(`invalid port range "${range}"`);
  const min = Number(match[1]);
  const max = range.includes('+') ? min + Number(match[2]) : Number(match[2]);
  if (min < 1 || max > 65535 || min > max) throw new Error(`invalid port range "${range}"`);
  return { min, max };
}

interface ServicePort {
  port?: number;
  protocol?: string;
  nodePort?: number;
}

function portsOf(service: KubeObject | undefined): ServicePort[] {
  return (service?.spec as { ports?: ServicePort[] } | undefined)?.ports ?? [];
}

/**
 * ClusterIP and NodePort allocation. The allocation state is the set of stored Services,
 * so replicas sharing one etcd see the same allocations.
 */
export function allocateServiceAddresses(service: KubeObject, old: KubeObject | undefined, others: KubeObject[], ranges: ServiceRanges): StatusCause[] {
  const spec = service.spec as Record<string, unknown>;
  const oldSpec = (old?.spec ?? {}) as Record<string, unknown>;
  const type = spec.type as string;
  const causes: StatusCause[] = [];
  const { base, size } = parseCidr(ranges.cidr);
  const usedIps = new Set(others.map((s) => (s.spec as { clusterIP?: string } | undefined)?.clusterIP).filter((ip): ip is string => !!ip && ip !== 'None'));
  if (type === 'ExternalName') {
    delete spec.clusterIP;
  } else if (old && (spec.clusterIP === undefined || spec.clusterIP === '')) {
    spec.clusterIP = oldSpec.clusterIP;
    spec.clusterIPs = oldSpec.clusterIPs;
  } else if (!old) {
    if (spec.clusterIP === 'None') {
      if (type !== 'ClusterIP') causes.push(fieldError('FieldValueInvalid', 'spec.clusterIP', `may not be set to 'None' for ${type} services`, 'None'));
    } else if (spec.clusterIP !== undefined && spec.clusterIP !== '') {
      const requested = scalarText(spec.clusterIP);
      const n = /^\d{1,3}(\.\d{1,3}){3}$/.test(requested) ? ipToNumber(requested) : NaN;
      if (Number.isNaN(n) || n <= base || n >= base + size - 1) {
        causes.push(
          fieldError(
            'FieldValueInvalid',
            'spec.clusterIPs',
            `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${ranges.cidr}`,
            [requested],
          ),
        );
      } else if (usedIps.has(requested)) {
        causes.push(fieldError('FieldValueInvalid', 'spec.clusterIPs', `failed to allocate IP ${requested}: provided IP is already allocated`, [requested]));
      }
    } else {
      let chosen: string | undefined;
      for (let offset = 2; offset < size - 1; offset += 1) {
        const candidate = numberToIp(base + offset);
        if (!usedIps.has(candidate)) {
          chosen = candidate;
          break;
        }
      }
      if (!chosen) causes.push(fieldError('FieldValueInvalid', 'spec.clusterIPs', 'range is full'));
      else spec.clusterIP = chosen;
    }
    if (spec.clusterIP !== undefined) {
      spec.clusterIPs = [spec.clusterIP];
      if (spec.clusterIP !== 'None') {
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }
    }
  }

  const usedPorts = new Set<string>();
  for (const other of others) for (const p of portsOf(other)) if (p.nodePort) usedPorts.add(`${p.nodePort}/${p.protocol ?? 'TCP'}`);
  const ports = portsOf(service);
  const wantsNodePorts = type === 'NodePort' || type === 'LoadBalancer';
  ports.forEach((port, index) => {
    if (!wantsNodePorts) {
      if (port.nodePort !== undefined && port.nodePort !== 0)
        causes.push(fieldError('FieldValueForbidden', `spec.ports[${index}].nodePort`, `may not be used when \`type\` is '${type}'`));
      return;
    }
    if (!port.nodePort && old) {
      const previous = portsOf(old).find((p) => p.port === port.port && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP'));
      if (previous?.nodePort) port.nodePort = previous.nodePort;
    }
    const protocol = port.protocol ?? 'TCP';
    if (port.nodePort) {
      const keptFromOld = portsOf(old).some((p) => p.nodePort === port.nodePort);
      if (port.nodePort < ranges.nodePortMin || port.nodePort > ranges.nodePortMax) {
        causes.push(
          fieldError(
            'FieldValueInvalid',
            `spec.ports[${index}].nodePort`,
            `provided port is not in the valid range. The range of valid ports is ${ranges.nodePortMin}-${ranges.nodePortMax}`,
            port.nodePort,
          ),
        );
      } else if (!keptFromOld && usedPorts.has(`${port.nodePort}/${protocol}`)) {
        causes.push(fieldError('FieldValueInvalid', `spec.ports[${index}].nodePort`, 'provided port is already allocated', port.nodePort));
      }
      usedPorts.add(`${port.nodePort}/${protocol}`);
      return;
    }
    const span = ranges.nodePortMax - ranges.nodePortMin + 1;
    const start = Math.floor(Math.random() * span);
    for (let i = 0; i < span; i += 1) {
      const candidate = ranges.nodePortMin + ((start + i) % span);
      if (!usedPorts.has(`${candidate}/${protocol}`)) {
        port.nodePort = candidate;
        usedPorts.add(`${candidate}/${protocol}`);
        return;
      }
    }
    causes.push(fieldError('FieldValueInvalid', `spec.ports[${index}].nodePort`, 'range is full', 0));
  });
  return causes;
}
