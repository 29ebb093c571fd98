// Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Columns follow the real printers
// (pkg/printers/internalversion) for the kinds people look at most.
import type { KubeObject } from '../contracts.js';
import type { ResourceInfo } from '../registry/resources.js';
import { scalarText } from '../../text.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  cell: (object: KubeObject, now: number) => string | number;
}

export function wantsTable(accept: string | undefined): boolean {
  return !!accept && accept.includes('as=Table') && accept.includes('g=meta.k8s.io') && /v=v1(?![\w])/.test(accept);
}

export function humanDuration(seconds: number): string {
  if (seconds < 0) return '<invalid>';
  if (seconds < 120) return `${Math.floor(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${Math.floor(seconds % 60)}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}

function get(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), object);
}

const name: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => o.metadata.name ?? '',
};
const age: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o, now) => (o.metadata.creationTimestamp ? humanDuration((now - Date.parse(o.metadata.creationTimestamp)) / 1000) : '<unknown>'),
};
const column = (title: string, cell: Column['cell'], type = 'string', priority = 0): Column => ({ name: title, type, description: title, priority, cell });

function podStatus(o: KubeObject): string {
  if (o.metadata.deletionTimestamp) return 'Terminating';
  const statuses =
    (get(o, 'status.containerStatuses') as Array<{ state?: { waiting?: { reason?: string }; terminated?: { reason?: string } } }> | undefined) ?? [];
  for (const s of statuses) {
    if (s.state?.waiting?.reason) return s.state.waiting.reason;
    if (s.state?.terminated?.reason) return s.state.terminated.reason;
  }
  return scalarText(get(o, 'status.reason') ?? get(o, 'status.phase') ?? 'Unknown');
}

function ready(o: KubeObject, total: unknown): string {
  return `${Number(get(o, 'status.readyReplicas') ?? 0)}/${Number(total ?? 0)}`;
}

const columnsByKind: Record<string, Column[]> = {
  Pod: [
    name,
    column('Ready', (o) => {
      const statuses = (get(o, 'status.containerStatuses') as Array<{ ready?: boolean }> | undefined) ?? [];
      const containers = (get(o, 'spec.containers') as unknown[] | undefined) ?? [];
      return `${statuses.filter((s) => s.ready).length}/${containers.length}`;
    }),
    column('Status', podStatus),
    column(
      'Restarts',
      (o) => ((get(o, 'status.containerStatuses') as Array<{ restartCount?: number }> | undefined) ?? []).reduce((n, s) => n + (s.restartCount ?? 0), 0),
      'integer',
    ),
    age,
    column('IP', (o) => scalarText(get(o, 'status.podIP') ?? '<none>'), 'string', 1),
    column('Node', (o) => scalarText(get(o, 'spec.nodeName') ?? '<none>'), 'string', 1),
  ],
  Deployment: [
    name,
    column('Ready', (o) => ready(o, get(o, 'spec.replicas'))),
    column('Up-to-date', (o) => Number(get(o, 'status.updatedReplicas') ?? 0), 'integer'),
    column('Available', (o) => Number(get(o, 'status.availableReplicas') ?? 0), 'integer'),
    age,
  ],
  StatefulSet: [name, column('Ready', (o) => ready(o, get(o, 'spec.replicas'))), age],
  ReplicaSet: [
    name,
    column('Desired', (o) => Number(get(o, 'spec.replicas') ?? 0), 'integer'),
    column('Current', (o) => Number(get(o, 'status.replicas') ?? 0), 'integer'),
    column('Ready', (o) => Number(get(o, 'status.readyReplicas') ?? 0), 'integer'),
    age,
  ],
  Service: [
    name,
    column('Type', (o) => scalarText(get(o, 'spec.type') ?? 'ClusterIP')),
    column('Cluster-IP', (o) => scalarText(get(o, 'spec.clusterIP') ?? '<none>')),
    column('External-IP', (o) => {
      const ingress = (get(o, 'status.loadBalancer.ingress') as Array<{ ip?: string; hostname?: string }> | undefined) ?? [];
      if (ingress.length > 0) return ingress.map((i) => i.ip ?? i.hostname).join(',');
      return get(o, 'spec.type') === 'LoadBalancer' ? '<pending>' : '<none>';
    }),
    column(
      'Port(s)',
      (o) =>
        ((get(o, 'spec.ports') as Array<{ port: number; nodePort?: number; protocol?: string }> | undefined) ?? [])
          .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
          .join(',') || '<none>',
    ),
    age,
  ],
  Node: [
    name,
    column('Status', (o) => {
      const readyCondition = ((get(o, 'status.conditions') as Array<{ type?: string; status?: string }> | undefined) ?? []).find((c) => c.type === 'Ready');
      const state = readyCondition?.status === 'True' ? 'Ready' : readyCondition ? 'NotReady' : 'Unknown';
      return get(o, 'spec.unschedulable') ? `${state},SchedulingDisabled` : state;
    }),
    column(
      'Roles',
      (o) =>
        Object.keys(o.metadata.labels ?? {})
          .filter((l) => l.startsWith('node-role.kubernetes.io/'))
          .map((l) => l.slice('node-role.kubernetes.io/'.length))
          .join(',') || '<none>',
    ),
    age,
    column('Version', (o) => scalarText(get(o, 'status.nodeInfo.kubeletVersion') ?? '')),
  ],
  Namespace: [name, column('Status', (o) => scalarText(get(o, 'status.phase') ?? '')), age],
  ConfigMap: [
    name,
    column('Data', (o) => Object.keys((o.data as object | undefined) ?? {}).length + Object.keys((o.binaryData as object | undefined) ?? {}).length, 'integer'),
    age,
  ],
  Secret: [
    name,
    column('Type', (o) => scalarText(o.type ?? '')),
    column('Data', (o) => Object.keys((o.data as object | undefined) ?? {}).length, 'integer'),
    age,
  ],
  CertificateSigningRequest: [
    name,
    age,
    column('SignerName', (o) => scalarText(get(o, 'spec.signerName') ?? '')),
    column('Requestor', (o) => scalarText(get(o, 'spec.username') ?? '')),
    column('RequestedDuration', (o) => (get(o, 'spec.expirationSeconds') ? humanDuration(Number(get(o, 'spec.expirationSeconds'))) : '<none>')),
    column('Condition', (o) => {
      const conditions = ((get(o, 'status.conditions') as Array<{ type?: string }> | undefined) ?? []).map((c) => c.type);
      const base = conditions.filter((c) => c === 'Approved' || c === 'Denied' || c === 'Failed');
      const issued = get(o, 'status.certificate') ? ['Issued'] : [];
      return [...base, ...issued].join(',') || 'Pending';
    }),
  ],
  Lease: [name, column('Holder', (o) => scalarText(get(o, 'spec.holderIdentity') ?? '')), age],
};

function rowOf(_info: ResourceInfo, object: KubeObject, columns: Column[], includeObject: string, now: number): Record<string, unknown> {
  const row: Record<string, unknown> = { cells: columns.map((c) => c.cell(object, now)) };
  if (includeObject === 'Object') row.object = object;
  else if (includeObject !== 'None') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
  return row;
}

export function toTable(info: ResourceInfo, objects: KubeObject[], listMeta: Record<string, unknown>, includeObject: string | null): Record<string, unknown> {
  const columns = columnsByKind[info.kind] ?? [name, age];
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: columns.map(({ name: title, type, format, description, priority }) => ({
      name: title,
      type,
      format: format ?? '',
      description,
      priority,
    })),
    rows: objects.map((o) => rowOf(info, o, columns, includeObject ?? 'Metadata', now)),
  };
}
