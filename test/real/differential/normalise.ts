// What legitimately differs between two servers is normalised away before comparing: uids,
// resourceVersions, timestamps, managedFields (the product strips them), generated name suffixes,
// allocated cluster IPs and node ports, issued tokens. Status errors keep code, reason, details
// (name, group, kind, cause types and fields); their messages are kept for reading, not compared.
import type { WireResponse } from './client.js';

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** Addresses the corpus asks for by value; every other service address is allocated. */
const REQUESTED_IPS = new Set(['10.96.0.100', '10.96.0.200', '192.168.0.1', 'None']);
const REQUESTED_NODE_PORTS = new Set([30080, 80]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class Normaliser {
  private readonly uids = new Map<string, string>();

  /** A uid by the object it belongs to (`<uid of ns/name>`), once that object has been seen. */
  uid(value: string): string {
    return this.uids.get(value) ?? '<uid>';
  }

  response(response: WireResponse): unknown {
    if (response.events) {
      return {
        code: response.status,
        events: response.events.filter((e) => e.type !== 'BOOKMARK').map((e) => ({ type: e.type, object: this.value(e.object, []) })),
      };
    }
    return { code: response.status, body: this.value(response.body, []) };
  }

  private value(value: unknown, path: string[]): unknown {
    if (typeof value === 'string') {
      if (UID.test(value)) return this.uid(value);
      if (TIME.test(value)) return '<time>';
      return value;
    }
    if (Array.isArray(value)) return value.map((item) => this.value(item, [...path, '*']));
    if (!isRecord(value)) return value;
    if ((value.kind === 'Status' && value.apiVersion === 'v1' && path.length === 0) || (value.kind === 'Status' && 'code' in value)) return this.status(value);
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const at = [...path, key];
      const here = at.join('.');
      if (key === 'metadata' && isRecord(child)) {
        out.metadata = this.metadata(child);
        continue;
      }
      if ((key === 'clusterIP' || key === 'clusterIPs') && here.endsWith(`spec.${key}`)) {
        out[key] = Array.isArray(child)
          ? child.map((ip: unknown) => (REQUESTED_IPS.has(String(ip)) ? ip : '<allocated-ip>'))
          : REQUESTED_IPS.has(String(child))
            ? child
            : '<allocated-ip>';
        continue;
      }
      if (key === 'nodePort' && typeof child === 'number') {
        out[key] = REQUESTED_NODE_PORTS.has(child) ? child : '<allocated-port>';
        continue;
      }
      if (key === 'token' && path.at(-1) === 'status') {
        out[key] = '<token>';
        continue;
      }
      out[key] = this.value(child, at);
    }
    return out;
  }

  private metadata(metadata: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (typeof metadata.uid === 'string' && typeof metadata.name === 'string') {
      const name = typeof metadata.generateName === 'string' ? `${metadata.generateName}<suffix>` : metadata.name;
      this.uids.set(metadata.uid, `<uid of ${typeof metadata.namespace === 'string' && metadata.namespace ? `${metadata.namespace}/` : ''}${name}>`);
    }
    for (const [key, child] of Object.entries(metadata)) {
      if (key === 'resourceVersion' || key === 'selfLink') continue;
      if (key === 'uid') {
        out.uid = '<uid>';
        continue;
      }
      if (key === 'continue') {
        out.continue = child ? '<continue>' : child;
        continue;
      }
      // The product strips managedFields (services/kube/src/client.ts); SSA ownership shows in
      // the apply conflicts' causes instead.
      if (key === 'managedFields') continue;
      if (key === 'name' && typeof metadata.generateName === 'string' && typeof child === 'string' && child.startsWith(metadata.generateName)) {
        out.name = `${metadata.generateName}<suffix>`;
        continue;
      }
      out[key] = this.value(child, ['metadata', key]);
    }
    return out;
  }

  private status(status: Record<string, unknown>): Record<string, unknown> {
    const details = isRecord(status.details) ? status.details : undefined;
    const causes =
      details && Array.isArray(details.causes)
        ? details.causes
            .filter(isRecord)
            .map((c) => ({ reason: c.reason, field: c.field }))
            .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
        : undefined;
    return {
      kind: 'Status',
      status: status.status,
      code: status.code,
      reason: status.reason,
      ...(details
        ? {
            details: {
              ...(details.name !== undefined ? { name: details.name } : {}),
              ...(details.group !== undefined ? { group: details.group } : {}),
              ...(details.kind !== undefined ? { kind: details.kind } : {}),
              ...(details.uid !== undefined ? { uid: typeof details.uid === 'string' ? this.uid(details.uid) : details.uid } : {}),
              ...(causes ? { causes } : {}),
              ...(details.retryAfterSeconds !== undefined ? { retryAfterSeconds: details.retryAfterSeconds } : {}),
            },
          }
        : {}),
    };
  }
}

/** The first differing paths between two normalised values. */
export function differences(real: unknown, sim: unknown, path = '', out: string[] = [], max = 12): string[] {
  if (out.length >= max) return out;
  if (JSON.stringify(real) === JSON.stringify(sim)) return out;
  if (isRecord(real) && isRecord(sim)) {
    for (const key of new Set([...Object.keys(real), ...Object.keys(sim)])) differences(real[key], sim[key], path ? `${path}.${key}` : key, out, max);
    return out;
  }
  if (Array.isArray(real) && Array.isArray(sim) && real.length === sim.length) {
    real.forEach((item, index) => differences(item, sim[index], `${path}[${index}]`, out, max));
    return out;
  }
  out.push(`${path || '<root>'}: real ${JSON.stringify(real)?.slice(0, 300)} ≠ kubesim ${JSON.stringify(sim)?.slice(0, 300)}`);
  return out;
}
