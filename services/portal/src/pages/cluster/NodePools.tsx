import { useCallback, useId, useState } from 'react';
import { clusterPath, type Cluster, type NodePool, type Operation, type PoolNode } from '../../api.js';
import { OperationProgress, operationFinished } from '../../components/OperationProgress.js';
import { Empty, ErrorNotice, Loading } from '../../components/states.js';
import { useResource, type Resource } from '../../hooks.js';
import { useSession } from '../../session.js';
import { poolLine } from '../../timeline.js';
import { NodeTable } from './NodeTable.js';
import { ReplicaControl } from './ReplicaControl.js';
import { RolloutControl } from './RolloutControl.js';

export const POOL_POLL_MS = 3000;

export function NodePools({ projectId, cluster, pools, editable }: { projectId: string; cluster: Cluster; pools: Resource<NodePool[]>; editable: boolean }) {
  return (
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
        pools.data.map((pool) => (
          <PoolCard key={pool.id} projectId={projectId} cluster={cluster} pool={pool} editable={editable} onChanged={() => void pools.reload()} />
        ))
      )}
    </section>
  );
}

/** Live nodes whose kubelet reports another version than the control plane runs; a node not registered yet reports none. */
function outdatedNodes(nodes: readonly PoolNode[], version: string): PoolNode[] {
  return nodes.filter((node) => node.phase !== 'Deleting' && node.phase !== 'Deleted' && node.kubeletVersion !== null && node.kubeletVersion !== `v${version}`);
}

function PoolCard({
  projectId,
  cluster,
  pool,
  editable,
  onChanged,
}: {
  projectId: string;
  cluster: Cluster;
  pool: NodePool;
  editable: boolean;
  onChanged: () => void;
}) {
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
  const controlPlaneSettled =
    cluster.summary.state === 'Running' && cluster.summary.versions.target === null && cluster.observedGeneration === cluster.generation;
  // The cluster summary's entry, so the card says what the timeline and the list say.
  const line = poolLine(cluster.summary, pool.id, pool.status && { id: pool.id, name: pool.name, desired: pool.replicas, ...pool.status });
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
      <p data-testid="pool-status" data-state={line?.state} data-reason={line?.reason ?? undefined}>
        <strong data-testid="pool-ready">
          {line?.ready ?? 0}/{pool.replicas}
        </strong>{' '}
        nodes ready{line && line.nodes !== pool.replicas ? ` (${line.nodes} exist)` : ''}
        {line && line.state !== 'Ready' && (
          <>
            {' '}
            <span className={`badge badge-${line.state.toLowerCase()}`}>{line.state}</span>
            {line.message && <span className="wrap"> {line.message}</span>}
          </>
        )}
      </p>
      {editable && <ReplicaControl poolPath={poolPath} pool={pool} onOperation={setOperation} />}
      {operation && <OperationProgress key={operation.id} projectId={projectId} operation={operation} onFinished={onFinished} />}
      {offerRollout && (
        <RolloutControl
          poolPath={poolPath}
          pool={pool}
          version={cluster.version}
          outdatedCount={outdated.length}
          onOperation={setRollout}
          onRefused={setRolloutRefused}
        />
      )}
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
