import { useId, useRef, useState, type SubmitEvent } from 'react';
import { clusterPath, describeError, type Cluster, type Operation } from '../../api.js';
import { useSession } from '../../session.js';

export function DeleteCluster({ projectId, cluster, onOperation }: { projectId: string; cluster: Cluster; onOperation: (operation: Operation) => void }) {
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
  const submit = async (event: SubmitEvent) => {
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
        <form onSubmit={(event) => void submit(event)}>
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
