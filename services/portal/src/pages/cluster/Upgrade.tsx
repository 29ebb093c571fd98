import { useEffect, useRef, useState } from 'react';
import { clusterPath, describeError, type Catalog, type Cluster, type Operation } from '../../api.js';
import { useSession } from '../../session.js';

/** The newest patch release of the next minor the catalog offers, if any. */
export function nextMinor(catalog: Catalog | undefined, version: string): string | undefined {
  if (!catalog) return undefined;
  const [major, minor] = version.split('.').map(Number);
  const candidates = catalog.versions.filter((candidate) => {
    const [candidateMajor, candidateMinor] = candidate.split('.').map(Number);
    return candidateMajor === major && candidateMinor === minor + 1;
  });
  return candidates.sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))[0];
}

export function UpgradeButton({
  projectId,
  cluster,
  target,
  onOperation,
}: {
  projectId: string;
  cluster: Cluster;
  target: string;
  onOperation: (operation: Operation) => void;
}) {
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
