import type { KubeClient } from './client.js';

export interface ApiResource {
  group: string;
  version: string;
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  /** Collection path prefix: /api/v1 or /apis/<group>/<version>. */
  basePath: string;
}

interface ApiResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[] }>;
}

interface ApiGroupList {
  groups?: Array<{ name: string; preferredVersion?: { version: string }; versions?: Array<{ version: string }> }>;
}

/** Every top-level resource (no subresources) of the preferred version of each group, via the discovery API. */
export async function discoverResources(client: KubeClient): Promise<ApiResource[]> {
  const resources: ApiResource[] = [];
  const core = await client.get<ApiResourceList>('/api/v1');
  resources.push(...collect(core, '', 'v1', '/api/v1'));
  const groups = await client.get<ApiGroupList>('/apis');
  for (const group of groups.groups ?? []) {
    const version = group.preferredVersion?.version ?? group.versions?.[0]?.version;
    if (!version) continue;
    const basePath = `/apis/${group.name}/${version}`;
    const list = await client.get<ApiResourceList>(basePath);
    resources.push(...collect(list, group.name, version, basePath));
  }
  return resources;
}

function collect(list: ApiResourceList, group: string, version: string, basePath: string): ApiResource[] {
  return (list.resources ?? [])
    .filter((resource) => !resource.name.includes('/'))
    .map((resource) => ({ group, version, name: resource.name, kind: resource.kind, namespaced: resource.namespaced, verbs: resource.verbs ?? [], basePath }));
}

export function collectionPath(resource: ApiResource, namespace?: string): string {
  return resource.namespaced && namespace ? `${resource.basePath}/namespaces/${namespace}/${resource.name}` : `${resource.basePath}/${resource.name}`;
}

export function objectPath(resource: ApiResource, name: string, namespace?: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}
