import { useEffect, useRef, useState } from 'react';
import { ApiError, describeError, type NodePool, type Operation } from '../../api.js';
import { useSession } from '../../session.js';

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

/** Offers a rolling replacement of the pool's outdated nodes, behind an inline confirmation. */
export function RolloutControl({
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
            Replace {outdatedCount === 1 ? 'the outdated node' : `${outdatedCount} outdated nodes`} of pool {pool.name} with{' '}
            {outdatedCount === 1 ? 'a node' : 'nodes'} at {version}, one at a time?
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
