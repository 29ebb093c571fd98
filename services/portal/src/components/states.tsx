import type { ReactNode } from 'react';
import { describeError, type ClusterSummary } from '../api.js';
import { stateBadge } from '../timeline.js';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children}
    </div>
  );
}

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <p>{describeError(error)}</p>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** The usual loading / error / content switch for one resource. */
export function ResourceView<T>({
  resource,
  what,
  children,
}: {
  resource: { data: T | undefined; error: unknown; loading: boolean; reload: () => Promise<void> };
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (resource.data !== undefined) {
    return (
      <>
        {resource.error !== undefined && <ErrorNotice error={resource.error} onRetry={() => void resource.reload()} />}
        {children(resource.data)}
      </>
    );
  }
  if (resource.error !== undefined) return <ErrorNotice error={resource.error} onRetry={() => void resource.reload()} />;
  return <Loading what={what} />;
}

export function RelativeTime({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">never</span>;
  const date = new Date(at);
  // eslint-disable-next-line react-hooks/purity -- relative to the moment of rendering by design; each re-render refreshes it
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const text = seconds < 5 ? 'just now' : seconds < 90 ? `${seconds}s ago` : seconds < 5400 ? `${Math.round(seconds / 60)} min ago` : date.toLocaleString();
  return (
    <time dateTime={at} title={date.toLocaleString()}>
      {text}
    </time>
  );
}

/** A cluster's state from its summary: "Running · Degraded" whenever a qualifier holds, never a bare "Running" then. */
export function SummaryBadge({ summary }: { summary: ClusterSummary }) {
  const badge = stateBadge(summary);
  return <span className={`badge badge-${badge.tone}`}>{badge.text}</span>;
}

export function PhaseBadge({ phase }: { phase: string }) {
  return <span className={`badge badge-${phase.toLowerCase()}`}>{phase}</span>;
}

/** A table that may scroll sideways on narrow screens; focusable so keyboard users can scroll it. */
export function ScrollTable({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
