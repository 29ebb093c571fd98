import type { Cluster, Operation } from '../../api.js';
import { OperationProgress } from '../../components/OperationProgress.js';
import { DeleteCluster } from './DeleteCluster.js';
import { DownloadKubeconfig } from './DownloadKubeconfig.js';
import { UpgradeButton } from './Upgrade.js';

/** The cluster's facts and the cluster-wide actions (kubeconfig, upgrade, delete) with their operation. */
export function Overview({
  projectId,
  cluster,
  editable,
  deleting,
  upgradeTarget,
  operation,
  onOperation,
  onOperationFinished,
}: {
  projectId: string;
  cluster: Cluster;
  editable: boolean;
  deleting: boolean;
  /** The version to offer an upgrade to; none while one is in flight or nothing newer exists. */
  upgradeTarget: string | undefined;
  operation: Operation | undefined;
  onOperation: (operation: Operation) => void;
  onOperationFinished: (operation: Operation) => void;
}) {
  return (
    <section className="card" aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd data-testid="cluster-phase" data-state={cluster.summary.state} data-degraded={cluster.summary.qualifiers.length > 0}>
            {cluster.summary.headline}
          </dd>
        </div>
        {cluster.summary.qualifiers.length > 1 && (
          <div>
            <dt>Why</dt>
            <dd>
              <ul className="plain" data-testid="cluster-qualifiers">
                {cluster.summary.qualifiers.map((qualifier) => (
                  <li key={`${qualifier.reason}:${qualifier.message}`}>
                    {qualifier.reason}: {qualifier.message}
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        )}
        <div>
          <dt>Kubernetes</dt>
          {/* What the components run; the target only while an upgrade rolls towards it. */}
          <dd>
            <span data-testid="cluster-version">{cluster.summary.versions.current}</span>
            {cluster.summary.versions.target && <span data-testid="cluster-target-version"> → upgrading to {cluster.summary.versions.target}</span>}
          </dd>
        </div>
        <div>
          <dt>Nodes ready</dt>
          <dd data-testid="cluster-nodes">
            {cluster.summary.nodes.ready}/{cluster.summary.nodes.desired}
          </dd>
        </div>
        <div>
          <dt>Network plugin</dt>
          <dd data-testid="cluster-cni">
            {cluster.cni === 'none' ? 'none (bring your own)' : cluster.cni}
            {cluster.addons.metricsServer ? ', metrics-server' : ''}
          </dd>
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
        {editable && !deleting && upgradeTarget && <UpgradeButton projectId={projectId} cluster={cluster} target={upgradeTarget} onOperation={onOperation} />}
        {editable && !deleting && <DeleteCluster projectId={projectId} cluster={cluster} onOperation={onOperation} />}
      </div>
      {operation && operation.kind !== 'scale' && (
        <OperationProgress key={operation.id} projectId={projectId} operation={operation} onFinished={onOperationFinished} />
      )}
    </section>
  );
}
