// Cluster-wide watches of a few kinds in one API server, reduced to "this object's status or
// generation moved" notifications. Reconcilers use them to run a waiting pass when the thing
// it waits for changed, instead of polling every waiting object on a timer.
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export interface WatchedKind {
  kind: string;
  /** The cluster-wide collection path, e.g. /apis/apps/v1/statefulsets. */
  path: string;
}

export interface StatusChange {
  kind: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  deleted: boolean;
}

const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 30_000;
/** A watch that stayed up this long restarts at once when the server ends it (its timeout). */
const HEALTHY_AFTER_MS = 60_000;

type Watched = KubernetesObject & { status?: unknown };

/** Generation and status: what moves when a controller makes progress or someone edits the spec. */
function stateOf(object: Watched): string {
  return JSON.stringify([object.metadata?.generation ?? null, object.status ?? null]);
}

class KindWatch {
  private controller: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private connectedAt = 0;
  private stopped = false;
  /** Last state seen per namespace/name; it survives restarts so a change made while disconnected is still reported. */
  private readonly states = new Map<string, string>();
  connected = false;

  constructor(
    private readonly watch: Watch,
    private readonly kind: WatchedKind,
    private readonly labelSelector: string,
    private readonly onChange: (change: StatusChange) => void,
    private readonly onError: (kind: string, error: unknown) => void,
  ) {}

  start(): void {
    if (this.stopped) return;
    let ended = false;
    const end = (error: unknown): void => {
      if (ended) return;
      ended = true;
      this.connected = false;
      this.controller = undefined;
      if (this.stopped) return;
      if (error) this.onError(this.kind.kind, error);
      const healthy = this.connectedAt > 0 && Date.now() - this.connectedAt > HEALTHY_AFTER_MS;
      this.retryMs = healthy ? FIRST_RETRY_MS : Math.min(this.retryMs * 2, LONGEST_RETRY_MS);
      this.retryTimer = setTimeout(() => this.start(), healthy ? 0 : this.retryMs);
      this.retryTimer.unref();
    };
    // Without a resourceVersion the server first replays every matching object as ADDED;
    // comparing those with the remembered states finds what changed while disconnected.
    this.watch
      .watch(this.kind.path, { labelSelector: this.labelSelector }, (type: string, object: Watched) => this.observe(type, object), end)
      .then((controller) => {
        if (ended) return;
        this.controller = controller;
        if (this.stopped) controller.abort();
        this.connected = true;
        this.connectedAt = Date.now();
      })
      .catch(end);
  }

  private observe(type: string, object: Watched): void {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    if (!name) return;
    const key = `${namespace}/${name}`;
    const change: StatusChange = { kind: this.kind.kind, namespace, name, labels: object.metadata?.labels ?? {}, deleted: type === 'DELETED' };
    if (type === 'DELETED') {
      this.states.delete(key);
      this.onChange(change);
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') return;
    const state = stateOf(object);
    const previous = this.states.get(key);
    this.states.set(key, state);
    // A new object is the creator's own doing; it learns its state from the create's answer.
    if (previous === undefined ? type === 'MODIFIED' : previous !== state) this.onChange(change);
  }

  stop(): void {
    this.stopped = true;
    this.connected = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.controller?.abort();
  }
}

/**
 * Watches `kinds` across all namespaces for objects matching `labelSelector` and reports each
 * object whose generation or status changed, or that was deleted. Reconnects by itself with
 * backoff; `connected` says whether every watch is currently established, i.e. whether a
 * change would be reported now.
 */
export class StatusWatch {
  private readonly watches: KindWatch[];

  constructor(
    config: KubeConfig,
    kinds: readonly WatchedKind[],
    labelSelector: string,
    onChange: (change: StatusChange) => void,
    onError: (kind: string, error: unknown) => void = () => undefined,
  ) {
    const watch = new Watch(config);
    this.watches = kinds.map((kind) => new KindWatch(watch, kind, labelSelector, onChange, onError));
  }

  start(): this {
    for (const watch of this.watches) watch.start();
    return this;
  }

  get connected(): boolean {
    return this.watches.every((watch) => watch.connected);
  }

  stop(): void {
    for (const watch of this.watches) watch.stop();
  }
}
