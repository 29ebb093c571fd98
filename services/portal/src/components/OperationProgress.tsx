import { useEffect, useState } from 'react';
import { describeError, projectPath, type Operation } from '../api.js';
import { useSession } from '../session.js';

const TERMINAL = new Set<Operation['status']>(['succeeded', 'failed', 'superseded']);

export function operationFinished(operation: Operation): boolean {
  return TERMINAL.has(operation.status);
}

/** Follows one operation (`GET /projects/{p}/operations/{op}`) until it finishes. */
export function OperationProgress({
  projectId,
  operation: initial,
  onFinished,
}: {
  projectId: string;
  operation: Operation;
  onFinished?: (operation: Operation) => void;
}) {
  const session = useSession();
  const [operation, setOperation] = useState(initial);
  const [error, setError] = useState<unknown>(undefined);

  useEffect(() => {
    if (operationFinished(operation)) {
      onFinished?.(operation);
      return;
    }
    let cancelled = false;
    const timer = setTimeout(() => {
      session.api
        .get<Operation>(`${projectPath(projectId)}/operations/${operation.id}`)
        .then((next) => {
          if (cancelled) return;
          setError(undefined);
          setOperation(next);
        })
        .catch((caught: unknown) => {
          if (cancelled) return;
          setError(caught);
          // Keep following: a blip should not stop the progress display.
          setOperation((current) => ({ ...current }));
        });
    }, 1000);
    return () => {
      clearTimeout(timer);
      cancelled = true;
    };
    // onFinished is deliberately left out: a new callback identity must not restart polling.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- see above
  }, [operation, projectId, session.api]);

  const updatedCount = rolloutCount(operation);
  const progress = Object.entries(operation.progress).filter(([, value]) => typeof value === 'number' || typeof value === 'string');
  return (
    <div className={`operation operation-${operation.status}`} role="status" aria-live="polite">
      <p>
        <strong>{operationTitle(operation)}</strong>
        {updatedCount && (
          <>
            {' '}
            (<span data-testid="rollout-count">{updatedCount}</span>)
          </>
        )}
        : <span className="operation-status">{operation.status}</span>
        {operation.message ? ` — ${operation.message}` : ''}
      </p>
      {progress.length > 0 && (
        <dl className="inline-list">
          {progress.map(([key, value]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>{String(value)}</dd>
            </div>
          ))}
        </dl>
      )}
      {error !== undefined && <p className="form-error">{describeError(error)}</p>}
    </div>
  );
}

/** A target's replicas or version as the API sent it; `?` when absent. */
function targetText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '?';
}

function operationTitle(operation: Operation): string {
  switch (operation.kind) {
    case 'scale':
      return `Scaling to ${targetText(operation.target.replicas)}`;
    case 'upgrade':
      return `Upgrade to ${targetText(operation.target.version)}`;
    case 'delete-cluster':
      return 'Deleting the cluster';
    case 'rollout-nodes':
      return `Rolling nodes to ${targetText(operation.target.version)}`;
    default:
      return operation.kind.replace(/-/g, ' ');
  }
}

/** "updated k/N" for a rolling node upgrade: the one number its user waits for. */
function rolloutCount(operation: Operation): string | undefined {
  if (operation.kind !== 'rollout-nodes') return undefined;
  const { updated, desired } = operation.progress;
  return typeof updated === 'number' && typeof desired === 'number' ? `updated ${updated}/${desired}` : undefined;
}
