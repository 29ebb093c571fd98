import { useId, useState, type SubmitEvent } from 'react';
import { describeError, type NodePool, type Operation } from '../../api.js';
import { useSession } from '../../session.js';

/** The scaling form: a stepper over 0–100 replicas, applied as one PATCH. */
export function ReplicaControl({ poolPath, pool, onOperation }: { poolPath: string; pool: NodePool; onOperation: (operation: Operation) => void }) {
  const session = useSession();
  const [replicas, setReplicas] = useState(pool.replicas);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const fieldId = useId();
  const clamp = (value: number) => Math.max(0, Math.min(100, Number.isFinite(value) ? Math.round(value) : 0));
  const apply = async (event: SubmitEvent) => {
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
    <form className="replicas" onSubmit={(event) => void apply(event)} aria-label={`Scale pool ${pool.name}`}>
      <label htmlFor={fieldId}>Replicas</label>
      <div className="stepper">
        <button
          type="button"
          className="button"
          onClick={() => setReplicas((value) => clamp(value - 1))}
          aria-label="One replica fewer"
          disabled={replicas <= 0}
        >
          −
        </button>
        <input
          id={fieldId}
          type="number"
          inputMode="numeric"
          min={0}
          max={100}
          value={replicas}
          onChange={(event) => setReplicas(clamp(Number(event.target.value)))}
        />
        <button
          type="button"
          className="button"
          onClick={() => setReplicas((value) => clamp(value + 1))}
          aria-label="One replica more"
          disabled={replicas >= 100}
        >
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
