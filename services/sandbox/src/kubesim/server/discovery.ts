import { groupVersion, groupVersions, RESOURCES } from '../registry/resources.js';

import { SUPPORTED_VERSIONS } from '../../../../core/src/versions.js';

/** kubesim imitates the newest kube-apiserver the catalog offers (the differential suite holds it to that binary). */
const IMITATED = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1].version;

export const KUBE_VERSION = {
  major: IMITATED.split('.')[0],
  minor: IMITATED.split('.')[1],
  emulationMajor: IMITATED.split('.')[0],
  emulationMinor: IMITATED.split('.')[1],
  minCompatibilityMajor: IMITATED.split('.')[0],
  minCompatibilityMinor: String(Number(IMITATED.split('.')[1]) - 1),
  gitVersion: `v${IMITATED}`,
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupEntry(group: string): Record<string, unknown> {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): Record<string, unknown> {
  const groups = [
    ...new Set(
      groupVersions()
        .map((gv) => gv.group)
        .filter((g) => g !== ''),
    ),
  ];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupEntry) };
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  if (!RESOURCES.some((r) => r.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) };
}

const subresourceVerbs: Record<string, string[]> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  approval: ['get', 'patch', 'update'],
  finalize: ['update'],
  eviction: ['create'],
  binding: ['create'],
  token: ['create'],
  // A connect subresource lists the verbs of its methods (GET, POST, PUT, PATCH, DELETE…).
  proxy: ['create', 'delete', 'get', 'patch', 'update'],
  log: ['get'],
};

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  const list: Array<Record<string, unknown>> = [];
  for (const r of resources) {
    list.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
      storageVersionHash: Buffer.from(`${groupVersion(r)}/${r.kind}`)
        .toString('base64')
        .slice(0, 11),
    });
    for (const sub of r.subresources) {
      const kind =
        sub === 'scale'
          ? 'Scale'
          : sub === 'eviction'
            ? 'Eviction'
            : sub === 'binding'
              ? 'Binding'
              : sub === 'token'
                ? 'TokenRequest'
                : sub === 'proxy'
                  ? 'NodeProxyOptions'
                  : r.kind;
      list.push({
        name: `${r.plural}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(sub === 'scale'
          ? { group: 'autoscaling', version: 'v1' }
          : sub === 'eviction'
            ? { group: 'policy', version: 'v1' }
            : sub === 'token'
              ? { group: 'authentication.k8s.io', version: 'v1' }
              : {}),
        kind,
        verbs: subresourceVerbs[sub] ?? ['get'],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources: list };
}
