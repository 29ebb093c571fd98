import { useState } from 'react';
import { clusterPath, describeError, type Cluster } from '../../api.js';
import { useSession } from '../../session.js';

export function DownloadKubeconfig({ projectId, cluster }: { projectId: string; cluster: Cluster }) {
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
      <button
        type="button"
        className="button"
        onClick={() => void download()}
        disabled={!ready || busy}
        title={ready ? undefined : 'available once the control plane has an endpoint'}
      >
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
