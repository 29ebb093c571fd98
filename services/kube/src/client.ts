// A thin client over @kubernetes/client-node for the reconcilers: server-side apply with one
// field manager, reads that treat 404 as absence, and deletes that tolerate absence.
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { PooledConnection, pooledHttpLibrary } from './transport.js';

/** Every object Harbormaster writes is owned by this manager, so conflicts name us. */
export const FIELD_MANAGER = 'harbormaster';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export function kubeConfigFromYaml(text: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromString(text);
  return config;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

/**
 * The fields a server-side apply without force conflicted on (the Status causes' `field`, e.g.
 * `.data.Corefile`), or undefined when the error is not an apply conflict.
 */
export function applyConflictFields(error: unknown): string[] | undefined {
  if (!(error instanceof ApiException) || error.code !== 409 || typeof error.body !== 'string') return undefined;
  try {
    const parsed = JSON.parse(error.body) as { details?: { causes?: Array<{ reason?: string; field?: string }> } };
    const fields = (parsed.details?.causes ?? []).filter((cause) => cause.reason === 'FieldManagerConflict').map((cause) => cause.field ?? '');
    return fields.length > 0 ? fields.filter((field) => field !== '') : undefined;
  } catch {
    return undefined;
  }
}

/** A short, secret-free description of a failed API call. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    let message = '';
    if (typeof body === 'string') {
      try {
        const parsed: unknown = JSON.parse(body);
        if (parsed && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string') message = parsed.message;
      } catch {
        message = body.slice(0, 200);
      }
    }
    return `HTTP ${error.code}${message ? `: ${message}` : ''}`;
  }
  return error instanceof Error ? error.message.split('\n')[0].slice(0, 300) : String(error);
}

/**
 * client-node's object API, over the pooled connection when the kubeconfig allows one (see
 * transport.ts). A subclass only because the default-namespace setter is protected.
 */
class ObjectApi extends KubernetesObjectApi {
  static forConfig(config: KubeConfig, connection: PooledConnection | undefined): KubernetesObjectApi {
    const server = config.getCurrentCluster()?.server;
    const client =
      connection && server
        ? new ObjectApi(
            createConfiguration({ baseServer: new ServerConfiguration(server, {}), authMethods: { default: connection }, httpApi: pooledHttpLibrary }),
          )
        : config.makeApiClient(ObjectApi);
    client.setDefaultNamespace(config);
    return client;
  }
}

/**
 * One client per kubeconfig: its requests share a small pool of kept-alive TLS connections
 * (see transport.ts), so keep the client rather than building one per call, and close() it
 * when done with it.
 */
export class KubeClient {
  readonly objects: KubernetesObjectApi;
  private readonly connection: PooledConnection | undefined;

  constructor(readonly config: KubeConfig) {
    this.connection = PooledConnection.supports(config) ? new PooledConnection(config) : undefined;
    this.objects = ObjectApi.forConfig(config, this.connection);
  }

  /** Closes the pooled connections; the client stays usable and reconnects on the next call. */
  close(): void {
    this.connection?.close();
  }

  static fromYaml(text: string): KubeClient {
    return new KubeClient(kubeConfigFromYaml(text));
  }

  get serverUrl(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /**
   * Server-side apply, forcing ownership by default: the desired state comes from the database,
   * so a field someone else changed is taken back rather than reported as a conflict. Without
   * force, a field another manager owns is left to it and the apply fails with a conflict
   * (see applyConflictFields).
   */
  async apply<T extends KubernetesObject>(object: T, options: { force?: boolean } = {}): Promise<T> {
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- V1ObjectMeta is a plain JSON shape (kubeModels in eslint.config.js)
    const body = { ...object, metadata: { ...object.metadata, managedFields: undefined, resourceVersion: undefined } };
    return this.objects.patch(body, undefined, undefined, FIELD_MANAGER, options.force ?? true, PatchStrategy.ServerSideApply);
  }

  async read<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the reference is not a T, so T cannot be the type argument
      return (await this.objects.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } })) as T;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Returns false when the object was already gone. */
  async delete(ref: ObjectRef, propagationPolicy: 'Background' | 'Foreground' = 'Background'): Promise<boolean> {
    try {
      await this.objects.delete(
        { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } },
        undefined,
        undefined,
        undefined,
        undefined,
        propagationPolicy,
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}
