import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Watch,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
  type V1Endpoints,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1ReplicaSet,
  type V1Secret,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';

export interface SeedObjects {
  Deployment: V1Deployment;
  ReplicaSet: V1ReplicaSet;
  StatefulSet: V1StatefulSet;
  Pod: V1Pod;
  Service: V1Service;
  Endpoints: V1Endpoints;
  Secret: V1Secret;
  ConfigMap: V1ConfigMap;
  PersistentVolumeClaim: V1PersistentVolumeClaim;
}
export type SeedKind = keyof SeedObjects;
export type StatusKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'Pod' | 'Service' | 'PersistentVolumeClaim';

export const API_VERSIONS: Record<SeedKind, string> = {
  Deployment: 'apps/v1',
  ReplicaSet: 'apps/v1',
  StatefulSet: 'apps/v1',
  Pod: 'v1',
  Service: 'v1',
  Endpoints: 'v1',
  Secret: 'v1',
  ConfigMap: 'v1',
  PersistentVolumeClaim: 'v1',
};

// What the kubelet acts on: its pods, and what their containers and Service forwarding read.
const WATCH_PATHS: Array<{ prefix: string; resource: string }> = [
  { prefix: '/api/v1', resource: 'pods' },
  { prefix: '/api/v1', resource: 'services' },
  { prefix: '/api/v1', resource: 'secrets' },
  { prefix: '/api/v1', resource: 'configmaps' },
  { prefix: '/api/v1', resource: 'persistentvolumeclaims' },
];

/**
 * The slice of the Kubernetes API the kubelet needs. The production implementation speaks to
 * any cluster through @kubernetes/client-node using only public endpoints.
 */
export interface SeedClient {
  list<K extends SeedKind>(kind: K, namespace: string | undefined): Promise<Array<SeedObjects[K]>>;
  get<K extends SeedKind>(kind: K, namespace: string, name: string): Promise<SeedObjects[K] | undefined>;
  create<K extends SeedKind>(kind: K, object: SeedObjects[K]): Promise<SeedObjects[K]>;
  replace<K extends SeedKind>(kind: K, object: SeedObjects[K]): Promise<SeedObjects[K]>;
  replaceStatus<K extends StatusKind>(kind: K, object: SeedObjects[K]): Promise<SeedObjects[K]>;
  /** Resolves quietly when the object is already gone. */
  delete(kind: SeedKind, namespace: string, name: string): Promise<void>;
  /** Calls onChange (without detail) whenever a watched resource changes; returns a stopper. */
  watch(namespaces: string[] | 'all', onChange: () => void): () => void;
}

export class SeedApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function statusOf(error: unknown): number | undefined {
  if (error instanceof SeedApiError) return error.status;
  if (error instanceof ApiException) return error.code;
  return undefined;
}

export class KubernetesSeedClient implements SeedClient {
  private readonly objects: KubernetesObjectApi;
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;

  constructor(private readonly config: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(config);
    this.core = config.makeApiClient(CoreV1Api);
    this.apps = config.makeApiClient(AppsV1Api);
  }

  static fromYaml(kubeconfig: string): KubernetesSeedClient {
    const config = new KubeConfig();
    config.loadFromString(kubeconfig);
    return new KubernetesSeedClient(config);
  }

  async list<K extends SeedKind>(kind: K, namespace: string | undefined): Promise<Array<SeedObjects[K]>> {
    const result = await this.objects.list<SeedObjects[K] & KubernetesObject>(API_VERSIONS[kind], kind, namespace);
    return result.items.map((item) => ({ ...item, apiVersion: API_VERSIONS[kind], kind }));
  }

  async get<K extends SeedKind>(kind: K, namespace: string, name: string): Promise<SeedObjects[K] | undefined> {
    try {
      return await this.objects.read<SeedObjects[K] & KubernetesObject>({
        apiVersion: API_VERSIONS[kind],
        kind,
        metadata: { name, namespace },
      });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async create<K extends SeedKind>(kind: K, object: SeedObjects[K]): Promise<SeedObjects[K]> {
    return this.objects.create<SeedObjects[K] & KubernetesObject>({ ...object, apiVersion: API_VERSIONS[kind], kind });
  }

  async replace<K extends SeedKind>(kind: K, object: SeedObjects[K]): Promise<SeedObjects[K]> {
    return this.objects.replace<SeedObjects[K] & KubernetesObject>({ ...object, apiVersion: API_VERSIONS[kind], kind });
  }

  async replaceStatus<K extends StatusKind>(kind: K, object: SeedObjects[K]): Promise<SeedObjects[K]> {
    const name = object.metadata?.name ?? '';
    const namespace = object.metadata?.namespace ?? '';
    const body = { ...object, apiVersion: API_VERSIONS[kind], kind };
    // Narrowing on `kind` does not narrow the generic object, so each branch restates the type.
    switch (kind) {
      case 'Deployment':
        return (await this.apps.replaceNamespacedDeploymentStatus({ name, namespace, body: body as V1Deployment })) as SeedObjects[K];
      case 'ReplicaSet':
        return (await this.apps.replaceNamespacedReplicaSetStatus({ name, namespace, body: body as V1ReplicaSet })) as SeedObjects[K];
      case 'StatefulSet':
        return (await this.apps.replaceNamespacedStatefulSetStatus({ name, namespace, body: body as V1StatefulSet })) as SeedObjects[K];
      case 'Pod':
        return (await this.core.replaceNamespacedPodStatus({ name, namespace, body: body as V1Pod })) as SeedObjects[K];
      case 'Service':
        return (await this.core.replaceNamespacedServiceStatus({ name, namespace, body: body as V1Service })) as SeedObjects[K];
      default:
        return (await this.core.replaceNamespacedPersistentVolumeClaimStatus({
          name,
          namespace,
          body: body,
        })) as SeedObjects[K];
    }
  }

  async delete(kind: SeedKind, namespace: string, name: string): Promise<void> {
    try {
      await this.objects.delete({ apiVersion: API_VERSIONS[kind], kind, metadata: { name, namespace } }, undefined, undefined, 0);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  watch(namespaces: string[] | 'all', onChange: () => void): () => void {
    const watcher = new Watch(this.config);
    let stopped = false;
    const controllers = new Set<AbortController>();
    const paths =
      namespaces === 'all'
        ? WATCH_PATHS.map(({ prefix, resource }) => `${prefix}/${resource}`)
        : namespaces.flatMap((namespace) => WATCH_PATHS.map(({ prefix, resource }) => `${prefix}/namespaces/${namespace}/${resource}`));
    const start = (path: string): void => {
      if (stopped) return;
      let controller: AbortController | undefined;
      const restart = (): void => {
        if (controller) controllers.delete(controller);
        // A watch ends on timeouts and errors; the periodic resync covers the gap meanwhile.
        if (!stopped) setTimeout(() => start(path), 1_000).unref();
      };
      watcher
        .watch(path, { allowWatchBookmarks: false }, () => onChange(), restart)
        .then((created) => {
          controller = created;
          if (stopped) created.abort();
          else controllers.add(created);
        })
        .catch(restart);
    };
    for (const path of paths) start(path);
    return () => {
      stopped = true;
      for (const controller of controllers) controller.abort();
      controllers.clear();
    };
  }
}
