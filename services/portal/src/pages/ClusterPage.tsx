import { useMemo, useState } from 'react';
import { ApiError, clusterPath, type Catalog, type NodePool, type Operation } from '../api.js';
import { operationFinished } from '../components/OperationProgress.js';
import { Empty, ErrorNotice, Loading, SummaryBadge } from '../components/states.js';
import { useResource } from '../hooks.js';
import { Link, useRouter } from '../router.js';
import { canEdit, roleIn, useSession } from '../session.js';
import { milestonesOf, upgradeLine } from '../timeline.js';
import { Addons } from './cluster/Addons.js';
import { Conditions } from './cluster/Conditions.js';
import { NodePools, POOL_POLL_MS } from './cluster/NodePools.js';
import { Overview } from './cluster/Overview.js';
import { Timeline } from './cluster/Timeline.js';
import { nextMinor } from './cluster/Upgrade.js';
import { useClusterStream } from './cluster/useClusterStream.js';

export function ClusterPage({ projectId, clusterId }: { projectId: string; clusterId: string }) {
  const session = useSession();
  const { navigate } = useRouter();
  const editable = canEdit(roleIn(session, projectId));
  const { cluster, events, error, streamState } = useClusterStream(projectId, clusterId);
  const [operation, setOperation] = useState<Operation | undefined>(undefined);
  const deleting = cluster?.summary.state === 'Deleting' || cluster?.summary.state === 'Deleted' || operation?.kind === 'delete-cluster';
  // Pools are only listed while the cluster lives: a deleted cluster's pools answer 404.
  const pools = useResource(
    () => (deleting ? Promise.resolve([] as NodePool[]) : session.api.list<NodePool>(`${clusterPath(projectId, clusterId)}/nodepools`)),
    `${clusterId}:${deleting}`,
    deleting ? undefined : POOL_POLL_MS,
  );
  const catalog = useResource(() => session.api.get<Catalog>('/catalog'), 'catalog');
  const milestones = useMemo(() => milestonesOf(cluster?.summary, events), [cluster, events]);

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

  // The database takes the new version at once, so while the control plane still rolls towards
  // it, "next minor" would be two minors ahead of the components not yet upgraded. The open
  // operation covers the moment before the stream reports the new generation.
  const upgradeInFlight =
    cluster.summary.versions.target !== null ||
    cluster.observedGeneration < cluster.generation ||
    (operation?.kind === 'upgrade' && !operationFinished(operation));
  const upgradeTarget = upgradeInFlight ? undefined : nextMinor(catalog.data, cluster.version);

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={`/projects/${projectId}/clusters`}>Clusters</Link> <span aria-hidden="true">/</span> <span>{cluster.name}</span>
      </nav>
      <div className="page-head">
        <h1>{cluster.name}</h1>
        <SummaryBadge summary={cluster.summary} />
      </div>
      {cluster.summary.state === 'Deleted' && (
        <div className="note" role="status">
          The cluster has been deleted. <Link to={`/projects/${projectId}/clusters`}>Back to the clusters</Link>
        </div>
      )}
      <div className="columns">
        <Overview
          projectId={projectId}
          cluster={cluster}
          editable={editable}
          deleting={deleting}
          upgradeTarget={upgradeTarget}
          operation={operation}
          onOperation={setOperation}
          onOperationFinished={(finished) => {
            if (finished.kind === 'delete-cluster' && finished.status === 'succeeded') navigate(`/projects/${projectId}/clusters`);
            else setOperation(finished);
          }}
        />
        <Timeline milestones={milestones} upgrade={upgradeLine(cluster.summary)} events={events} streamState={streamState} />
      </div>
      <Addons summary={cluster.summary} />
      <Conditions cluster={cluster} />
      {!deleting && <NodePools projectId={projectId} cluster={cluster} pools={pools} editable={editable} />}
    </>
  );
}
