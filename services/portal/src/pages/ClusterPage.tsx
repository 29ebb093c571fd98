import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError, clusterPath, describeError, type Catalog, type Cluster, type ClusterEvent, type NodePool, type Operation, type PoolNode } from '../api.js';
import { OperationProgress, operationFinished } from '../components/OperationProgress.js';
import { Empty, ErrorNotice, Loading, PhaseBadge, RelativeTime, ScrollTable } from '../components/states.js';
import { useResource } from '../hooks.js';
import { Link, useRouter } from '../router.js';
import { canEdit, roleIn, useSession } from '../session.js';
import { openEventStream } from '../sse.js';
import { deriveMilestones, upgradeInProgress, type Milestone, type UpgradeInProgress } from '../timeline.js';

const POOL_POLL_MS = 3000;

/** Keeps the seed name from the full GET: the stream's snapshots carry only the seed id. */
function mergeSnapshot(previous: Cluster | undefined, next: Cluster): Cluster {
  if (next.seed && !next.seed.name && previous?.seed?.id === next.seed.id) return { ...next, seed: previous.seed };
  return next;
}

function useClusterStream(projectId: string, clusterId: string) {
  const session = useSession();
  const [cluster, setCluster] = useState<Cluster | undefined>(undefined);
  const [events, setEvents] = useState<ClusterEvent[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [streamState, setStreamState] = useState<'connecting' | 'open' | 'retrying' | 'closed'>('connecting');

  useEffect(() => {
    let cancelled = false;
    session.api
      .get<Cluster>(clusterPath(projectId, clusterId))
      .then((loaded) => {
        if (!cancelled) setCluster((current) => (current ? mergeSnapshot(loaded, current) : loaded));
      })
      .catch((caught: unknown) => {
        if (!cancelled) setError(caught);
      });
    const close = openEventStream({
      url: `/api/v1${clusterPath(projectId, clusterId)}/events/stream`,
      headers: { authorization: session.api.authorization },
      onStateChange: setStreamState,
      onFatal: (status) => {
        setStreamState('closed');
        if (status === 404) setError(new ApiError(404, { detail: 'cluster not found' }));
      },
      onMessage: (message) => {
        if (message.event === 'cluster-event') {
          const event = JSON.parse(message.data) as ClusterEvent;
          setEvents((current) => (current.some((existing) => existing.id === event.id) ? current : [...current, event]));
        } else if (message.event === 'cluster') {
          const snapshot = JSON.parse(message.data) as Cluster;
          setCluster((current) => mergeSnapshot(current, snapshot));
        }
      },
    });
    return () => {
      cancelled = true;
      close();
    };
  }, [projectId, clusterId, session.api]);

  return { cluster, events, error, streamState };
}

function nextMinor(catalog: Catalog | undefined, version: string): string | undefined {
  if (!catalog) return undefined;
  const [major, minor] = version.split('.').map(Number);
  const candidates = catalog.versions.filter((candidate) => {
    const [candidateMajor, candidateMinor] = candidate.split('.').map(Number);
    return candidateMajor === major && candidateMinor === minor + 1;
  });
  return candidates.sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))[0];
}

export function ClusterPage({ projectId, clusterId }: { projectId: string; clusterId: string }) {
  const session = useSession();
  const { navigate } = useRouter();
  const editable = canEdit(roleIn(session, projectId));
  const { cluster, events, error, streamState } = useClusterStream(projectId, clusterId);
  const [operation, setOperation] = useState<Operation | undefined>(undefined);
  const deleting = Boolean(cluster?.deletionRequestedAt) || cluster?.phase === 'Deleting' || cluster?.phase === 'Deleted' || operation?.kind === 'delete-cluster';
  // Pools are only listed while the cluster lives: a deleted cluster's pools answer 404.
  const pools = useResource(
    () => (deleting ? Promise.resolve([] as NodePool[]) : session.api.list<NodePool>(`${clusterPath(projectId, clusterId)}/nodepools`)),
    `${clusterId}:${deleting}`,
    deleting ? undefined : POOL_POLL_MS,
  );
  const catalog = useResource(() => session.api.get<Catalog>('/catalog'), 'catalog');
  const milestones = useMemo(() => deriveMilestones(cluster, events, pools.data ?? []), [cluster, events, pools.data]);
  const rollingUpgrade = useMemo(() => upgradeInProgress(cluster, events), [cluster, events]);

  if (error !== undefined && !cluster) {
    return (
      <section>
        <h1>Cluster</h1>
        {error instanceof ApiError && error.status === 404 ? (
          <Empty title="This cluster does not exist (any more).">
            <Link to={`/projects/${projectId}/clusters`}>Back to the clusters</Link>
          </Empty>
        ) : (
          <ErrorNotice error={error} />
        )}
      </section>
    );
  }
  if (!cluster) return <Loading what="the cluster" />;

  const upgradeTarget = nextMinor(catalog.data, cluster.version);
  // The database takes the new version at once, so while the control plane still rolls towards
  // it, "next minor" would be two minors ahead of the components not yet upgraded. The open
  // operation covers the moment before the stream reports the new generation.
  const upgradeInFlight = cluster.observedGeneration < cluster.generation || (operation?.kind === 'upgrade' && !operationFinished(operation));

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={`/projects/${projectId}/clusters`}>Clusters</Link> <span aria-hidden="true">/</span> <span>{cluster.name}</span>
      </nav>
      <div className="page-head">
        <h1>{cluster.name}</h1>
        <PhaseBadge phase={cluster.phase} />
      </div>
      {cluster.phase === 'Deleted' && (
        <div className="note" role="status">
          The cluster has been deleted. <Link to={`/projects/${projectId}/clusters`}>Back to the clusters</Link>
        </div>
      )}
      <div className="columns">
        <section className="card" aria-labelledby="overview-title">
          <h2 id="overview-title">Overview</h2>
          <dl className="facts">
            <div>
              <dt>Phase</dt>
              <dd data-testid="cluster-phase">
                {cluster.phase}
                {cluster.phaseReason ? ` (${cluster.phaseReason})` : ''}
              </dd>
            </div>
            <div>
              <dt>Kubernetes</dt>
              <dd data-testid="cluster-version">{cluster.version}</dd>
            </div>
            <div>
              <dt>Endpoint</dt>
              <dd className="mono">{cluster.endpoint ?? 'not assigned yet'}</dd>
            </div>
            <div>
              <dt>Seed</dt>
              <dd>{cluster.seed?.name ?? cluster.seed?.id ?? '—'}</dd>
            </div>
            <div>
              <dt>Exposure</dt>
              <dd>{cluster.exposeStrategy}</dd>
            </div>
            <div>
              <dt>etcd members</dt>
              <dd>{cluster.etcdReplicas}</dd>
            </div>
            <div>
              <dt>Networks</dt>
              <dd className="mono">
                pods {cluster.network.podCidr}, services {cluster.network.serviceCidr}
              </dd>
            </div>
          </dl>
          <div className="actions">
            <DownloadKubeconfig projectId={projectId} cluster={cluster} />
            {editable && !deleting && !upgradeInFlight && upgradeTarget && <UpgradeButton projectId={projectId} cluster={cluster} target={upgradeTarget} onOperation={setOperation} />}
            {editable && !deleting && <DeleteCluster projectId={projectId} cluster={cluster} onOperation={setOperation} />}
          </div>
          {operation && operation.kind !== 'scale' && (
            <OperationProgress
              key={operation.id}
              projectId={projectId}
              operation={operation}
              onFinished={(finished) => {
                if (finished.kind === 'delete-cluster' && finished.status === 'succeeded') navigate(`/projects/${projectId}/clusters`);
                else setOperation(finished);
              }}
            />
          )}
        </section>
        <Timeline milestones={milestones} upgrade={rollingUpgrade} events={events} streamState={streamState} />
      </div>
      <Conditions cluster={cluster} />
      {!deleting && (
        <section aria-labelledby="pools-title">
          <h2 id="pools-title">Node pools</h2>
          {pools.error !== undefined && <ErrorNotice error={pools.error} onRetry={() => void pools.reload()} />}
          {pools.data === undefined ? (
            pools.error === undefined && <Loading what="node pools" />
          ) : pools.data.length === 0 ? (
            <Empty title="No node pools.">
              <p>This cluster has a control plane only. Create it with a provider credential to get worker nodes.</p>
            </Empty>
          ) : (
            pools.data.map((pool) => <PoolCard key={pool.id} projectId={projectId} cluster={cluster} pool={pool} editable={editable} onChanged={() => void pools.reload()} />)
          )}
        </section>
      )}
    </>
  );
}

function Timeline({ milestones, upgrade, events, streamState }: { milestones: Milestone[]; upgrade: UpgradeInProgress | undefined; events: ClusterEvent[]; streamState: string }) {
  const current = milestones.find((milestone) => milestone.state === 'active' || milestone.state === 'failed');
  return (
    <section className="card" aria-labelledby="timeline-title">
      <div className="card-head">
        <h2 id="timeline-title">Progress</h2>
        <span className={`stream stream-${streamState}`}>{streamState === 'open' ? 'live' : streamState === 'closed' ? 'stream closed' : 'connecting…'}</span>
      </div>
      {upgrade && (
        <p className="muted" data-testid="timeline-upgrade">
          {upgrade.from ? `Upgrade from ${upgrade.from} to ${upgrade.to}` : `Upgrade to ${upgrade.to}`}
        </p>
      )}
      <p className="visually-hidden" aria-live="polite">
        {current ? `${current.label}: ${current.state === 'failed' ? 'failed' : 'in progress'}` : ''}
      </p>
      <ol className="timeline" aria-label="Milestones">
        {milestones.map((milestone) => (
          <li key={milestone.key} className={`milestone milestone-${milestone.state}`} data-milestone={milestone.key} data-state={milestone.state}>
            <span className="milestone-marker" aria-hidden="true" />
            <span className="milestone-label">{milestone.label}</span>
            <span className="visually-hidden">: </span>
            <span className="milestone-state">{STATE_TEXT[milestone.state]}</span>
            {milestone.at && <RelativeTime at={milestone.at} />}
            {milestone.detail && <span className="milestone-detail">{milestone.detail}</span>}
          </li>
        ))}
      </ol>
      <details className="events">
        <summary>All events ({events.length})</summary>
        {events.length === 0 ? (
          <p className="muted">No events yet.</p>
        ) : (
          <ol className="event-log">
            {events.map((event) => (
              <li key={event.id} className={event.type === 'Warning' ? 'event-warning' : undefined}>
                <time dateTime={event.createdAt}>{new Date(event.createdAt).toLocaleTimeString()}</time> <strong>{event.reason}</strong> {event.message}
              </li>
            ))}
          </ol>
        )}
      </details>
    </section>
  );
}

const STATE_TEXT: Record<Milestone['state'], string> = { done: 'done', active: 'in progress', pending: 'waiting', failed: 'failed', skipped: 'not applicable' };

function Conditions({ cluster }: { cluster: Cluster }) {
  return (
    <section aria-labelledby="conditions-title">
      <h2 id="conditions-title">Conditions</h2>
      {cluster.conditions.length === 0 ? (
        <Empty title="No conditions reported yet." />
      ) : (
        <ScrollTable label="Conditions">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {cluster.conditions.map((condition) => (
                <tr key={condition.type}>
                  <td>{condition.type}</td>
                  <td>
                    <span className={`badge badge-${condition.status === 'True' ? 'ok' : condition.status === 'False' ? 'bad' : 'unknown'}`}>{condition.status}</span>
                  </td>
                  <td>{condition.reason}</td>
                  <td className="wrap">{condition.message}</td>
                  <td>
                    <RelativeTime at={condition.lastTransitionTime} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}

function DownloadKubeconfig({ projectId, cluster }: { projectId: string; cluster: Cluster }) {
  const session = useSession();
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const ready = Boolean(cluster.endpoint) && cluster.phase !== 'Deleted';
  const download = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await session.api.download(`${clusterPath(projectId, cluster.id)}/kubeconfig`, `${cluster.name}.kubeconfig`);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="button" onClick={() => void download()} disabled={!ready || busy} title={ready ? undefined : 'available once the control plane has an endpoint'}>
        Download kubeconfig
      </button>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}

function UpgradeButton({ projectId, cluster, target, onOperation }: { projectId: string; cluster: Cluster; target: string; onOperation: (operation: Operation) => void }) {
  const session = useSession();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  // The button a keyboard user pressed is replaced by the question: keep their focus on the answer.
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);
  const upgrade = async () => {
    setBusy(true);
    setError(undefined);
    try {
      // A cluster already at `target` answers with itself and no operation.
      const result = await session.api.patch<{ operation?: Operation }>(clusterPath(projectId, cluster.id), { version: target });
      setConfirming(false);
      if (result.operation) onOperation(result.operation);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  if (!confirming) {
    return (
      <button type="button" className="button" onClick={() => setConfirming(true)}>
        Upgrade to {target}
      </button>
    );
  }
  return (
    <span className="confirm-inline">
      <span>
        Upgrade {cluster.version} → {target}?
      </span>
      <button ref={confirmButton} type="button" className="button button-primary" onClick={() => void upgrade()} disabled={busy}>
        Confirm upgrade
      </button>
      <button type="button" className="button" onClick={() => setConfirming(false)}>
        Cancel
      </button>
      {error && (
        <span className="form-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

function DeleteCluster({ projectId, cluster, onOperation }: { projectId: string; cluster: Cluster; onOperation: (operation: Operation) => void }) {
  const session = useSession();
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const fieldId = useId();
  const titleId = useId();
  const open = () => {
    setTyped('');
    setError(undefined);
    dialog.current?.showModal();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (typed !== cluster.name) return;
    setBusy(true);
    try {
      const operation = await session.api.delete<Operation>(clusterPath(projectId, cluster.id));
      dialog.current?.close();
      onOperation(operation);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="button button-danger" onClick={open}>
        Delete cluster…
      </button>
      <dialog ref={dialog} className="dialog" aria-labelledby={titleId}>
        <form onSubmit={submit}>
          <h2 id={titleId}>Delete {cluster.name}?</h2>
          <p>This removes the control plane, its etcd data and every node. It cannot be undone.</p>
          <label htmlFor={fieldId}>
            Type <strong className="mono">{cluster.name}</strong> to confirm
          </label>
          <input id={fieldId} value={typed} onChange={(event) => setTyped(event.target.value)} autoComplete="off" spellCheck={false} />
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <div className="actions">
            <button type="button" className="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" className="button button-danger" disabled={typed !== cluster.name || busy}>
              Delete this cluster
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** Live nodes whose kubelet reports another version than the control plane runs; a node not registered yet reports none. */
function outdatedNodes(nodes: readonly PoolNode[], version: string): PoolNode[] {
  return nodes.filter((node) => node.phase !== 'Deleting' && node.phase !== 'Deleted' && node.kubeletVersion !== null && node.kubeletVersion !== `v${version}`);
}

function PoolCard({ projectId, cluster, pool, editable, onChanged }: { projectId: string; cluster: Cluster; pool: NodePool; editable: boolean; onChanged: () => void }) {
  const session = useSession();
  const poolPath = `${clusterPath(projectId, cluster.id)}/nodepools/${pool.id}`;
  const nodes = useResource(() => session.api.list<PoolNode>(`${poolPath}/nodes`), pool.id, POOL_POLL_MS);
  const [operation, setOperation] = useState<Operation | undefined>(undefined);
  const [rollout, setRollout] = useState<Operation | undefined>(undefined);
  // The node list polled before the rollout finished still shows the old nodes: without waiting
  // for a fresh one the control would flash back for a moment.
  const [awaitingFreshNodes, setAwaitingFreshNodes] = useState(false);
  // Kept here, not in the control: a refusal such as nodes_up_to_date takes the control away
  // with the next node poll, and the reason must stay readable.
  const [rolloutRefused, setRolloutRefused] = useState<string | undefined>(undefined);
  const headingId = useId();
  const onFinished = useCallback(() => onChanged(), [onChanged]);
  const reloadNodes = nodes.reload;
  const onRolloutFinished = useCallback(
    (finished: Operation) => {
      setRollout(finished);
      setAwaitingFreshNodes(true);
      void reloadNodes().finally(() => setAwaitingFreshNodes(false));
      onChanged();
    },
    [onChanged, reloadNodes],
  );
  // Nodes are never newer than the apiserver, so the offer waits until the control plane runs the version.
  const controlPlaneSettled = cluster.phase === 'Running' && cluster.observedGeneration === cluster.generation;
  const outdated = outdatedNodes(nodes.data ?? [], cluster.version);
  const rolloutOpen = rollout !== undefined && !operationFinished(rollout);
  const offerRollout = editable && !pool.deletionRequestedAt && controlPlaneSettled && outdated.length > 0 && !rolloutOpen && !awaitingFreshNodes;
  return (
    <article className="card pool" aria-labelledby={headingId}>
      <div className="card-head">
        <h3 id={headingId}>Pool {pool.name}</h3>
        <span className="muted">
          {pool.provider} · {pool.region} · {pool.size} · {pool.image}
        </span>
      </div>
      <p>
        <strong data-testid="pool-ready">
          {pool.status?.ready ?? 0}/{pool.replicas}
        </strong>{' '}
        nodes ready{pool.status && pool.status.nodes !== pool.replicas ? ` (${pool.status.nodes} exist)` : ''}
      </p>
      {editable && <ReplicaControl poolPath={poolPath} pool={pool} onOperation={setOperation} />}
      {operation && <OperationProgress key={operation.id} projectId={projectId} operation={operation} onFinished={onFinished} />}
      {offerRollout && <RolloutControl poolPath={poolPath} pool={pool} version={cluster.version} outdatedCount={outdated.length} onOperation={setRollout} onRefused={setRolloutRefused} />}
      {rolloutRefused && (
        <p className="form-error" role="alert">
          {rolloutRefused}
        </p>
      )}
      {rollout && <OperationProgress key={rollout.id} projectId={projectId} operation={rollout} onFinished={onRolloutFinished} />}
      <h4>Nodes</h4>
      {nodes.error !== undefined && <ErrorNotice error={nodes.error} onRetry={() => void nodes.reload()} />}
      {nodes.data === undefined ? (
        nodes.error === undefined && <Loading what="nodes" />
      ) : nodes.data.length === 0 ? (
        <Empty title="No nodes yet." />
      ) : (
        <NodeTable nodes={nodes.data} poolName={pool.name} />
      )}
    </article>
  );
}

function ReplicaControl({ poolPath, pool, onOperation }: { poolPath: string; pool: NodePool; onOperation: (operation: Operation) => void }) {
  const session = useSession();
  const [replicas, setReplicas] = useState(pool.replicas);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const fieldId = useId();
  const clamp = (value: number) => Math.max(0, Math.min(100, Number.isFinite(value) ? Math.round(value) : 0));
  const apply = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onOperation(await session.api.patch<Operation>(poolPath, { replicas }));
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="replicas" onSubmit={apply} aria-label={`Scale pool ${pool.name}`}>
      <label htmlFor={fieldId}>Replicas</label>
      <div className="stepper">
        <button type="button" className="button" onClick={() => setReplicas((value) => clamp(value - 1))} aria-label="One replica fewer" disabled={replicas <= 0}>
          −
        </button>
        <input id={fieldId} type="number" inputMode="numeric" min={0} max={100} value={replicas} onChange={(event) => setReplicas(clamp(Number(event.target.value)))} />
        <button type="button" className="button" onClick={() => setReplicas((value) => clamp(value + 1))} aria-label="One replica more" disabled={replicas >= 100}>
          +
        </button>
      </div>
      <button type="submit" className="button button-primary" disabled={busy || replicas === pool.replicas}>
        Apply
      </button>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

/** The API's 409 answers in the words of this page; anything else as the API put it. */
function rolloutRefusal(error: unknown, poolName: string, version: string): string {
  if (!(error instanceof ApiError) || error.status !== 409) return describeError(error);
  switch (error.code) {
    case 'nodes_up_to_date':
      return `Every node of pool ${poolName} already runs ${version}.`;
    case 'cluster_not_ready':
      return `The control plane does not run ${version} yet. Roll the nodes once the cluster is Running.`;
    case 'node_pool_deleting':
      return `Pool ${poolName} is being deleted.`;
    case 'cluster_deleting':
      return 'The cluster is being deleted.';
    default:
      return describeError(error);
  }
}

function RolloutControl({
  poolPath,
  pool,
  version,
  outdatedCount,
  onOperation,
  onRefused,
}: {
  poolPath: string;
  pool: NodePool;
  version: string;
  outdatedCount: number;
  onOperation: (operation: Operation) => void;
  onRefused: (reason: string | undefined) => void;
}) {
  const session = useSession();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  // The button a keyboard user pressed is replaced by the question: keep their focus on the
  // answer, and on the question's button again when they cancel.
  const confirmButton = useRef<HTMLButtonElement>(null);
  const rollButton = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
    else if (wasConfirming.current) rollButton.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);
  const start = async () => {
    setBusy(true);
    onRefused(undefined);
    try {
      const operation = await session.api.post<Operation>(`${poolPath}/rollout`);
      setConfirming(false);
      onOperation(operation);
    } catch (caught) {
      onRefused(rolloutRefusal(caught, pool.name, version));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="actions">
      {confirming ? (
        <span className="confirm-inline">
          <span>
            Replace {outdatedCount === 1 ? 'the outdated node' : `${outdatedCount} outdated nodes`} of pool {pool.name} with {outdatedCount === 1 ? 'a node' : 'nodes'} at {version}, one at a time?
          </span>
          <button ref={confirmButton} type="button" className="button button-primary" onClick={() => void start()} disabled={busy}>
            Confirm rollout
          </button>
          <button type="button" className="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </span>
      ) : (
        <button ref={rollButton} type="button" className="button" onClick={() => setConfirming(true)}>
          Roll nodes to {version}
        </button>
      )}
    </div>
  );
}

/** The health checker's Ready condition when it has reported, else what the join recorded. */
function readiness(node: PoolNode): 'True' | 'False' | 'Unknown' {
  const condition = node.conditions?.find((candidate) => candidate.type === 'Ready');
  if (condition) return condition.status;
  return node.phase === 'Ready' ? 'True' : 'False';
}

const READINESS = { True: { text: 'Ready', badge: 'ok' }, False: { text: 'Not ready', badge: 'bad' }, Unknown: { text: 'Unknown', badge: 'unknown' } } as const;

function NodeTable({ nodes, poolName }: { nodes: PoolNode[]; poolName: string }) {
  return (
    <ScrollTable label={`Nodes of pool ${poolName}`}>
      <table className="table nodes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Phase</th>
            <th scope="col">Ready</th>
            <th scope="col">Kubelet</th>
            <th scope="col">Last heartbeat</th>
            <th scope="col">SSH probe</th>
            <th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((node) => (
            <tr key={node.id} data-node-phase={node.phase} data-ready={readiness(node) === 'True'} data-kubelet-version={node.kubeletVersion ?? undefined}>
              <td className="mono">{node.name}</td>
              <td>
                <PhaseBadge phase={node.phase} />
                {node.phaseReason && <span className="muted"> {node.phaseReason}</span>}
              </td>
              <td>
                <span className={`badge badge-${READINESS[readiness(node)].badge}`}>{READINESS[readiness(node)].text}</span>
              </td>
              <td className="mono">{node.kubeletVersion ?? <span className="muted">not reported yet</span>}</td>
              <td>
                <RelativeTime at={node.lastHeartbeatAt} />
              </td>
              <td>
                {node.sshProbe ? (
                  <span className={`badge badge-${node.sshProbe.ok ? 'ok' : 'bad'}`} title={node.sshProbe.message}>
                    {node.sshProbe.ok ? 'reachable' : 'failing'}
                  </span>
                ) : (
                  <span className="muted">not probed yet</span>
                )}
              </td>
              <td className="mono">{node.addresses.private ?? node.addresses.public ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollTable>
  );
}
