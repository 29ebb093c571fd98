import type { ClusterEvent } from '../../api.js';
import { RelativeTime } from '../../components/states.js';
import type { Milestone } from '../../timeline.js';

const STATE_TEXT: Record<Milestone['state'], string> = { done: 'done', active: 'in progress', pending: 'waiting', failed: 'failed', skipped: 'not applicable' };

/** The summary's timeline (provisioning, networking, add-ons, nodes, then running, upgrade or deletion) and the raw event log, live from the stream. */
export function Timeline({
  milestones,
  upgrade,
  events,
  streamState,
}: {
  milestones: Milestone[];
  /** "Upgrade from 1.36.3 to 1.37.2" while the summary has a target version. */
  upgrade: string | undefined;
  events: ClusterEvent[];
  streamState: string;
}) {
  const current = milestones.find((milestone) => milestone.state === 'active' || milestone.state === 'failed');
  return (
    <section className="card" aria-labelledby="timeline-title">
      <div className="card-head">
        <h2 id="timeline-title">Progress</h2>
        <span className={`stream stream-${streamState}`}>{streamState === 'open' ? 'live' : streamState === 'closed' ? 'stream closed' : 'connecting…'}</span>
      </div>
      {upgrade && (
        <p className="muted" data-testid="timeline-upgrade">
          {upgrade}
        </p>
      )}
      <p className="visually-hidden" aria-live="polite">
        {current ? `${current.label}: ${current.state === 'failed' ? 'failed' : 'in progress'}` : ''}
      </p>
      <ol className="timeline" aria-label="Milestones">
        {milestones.map((milestone) => (
          <li key={milestone.key} className={`milestone milestone-${milestone.state}`} data-milestone={milestone.key} data-state={milestone.state}>
            <span className="milestone-marker" aria-hidden="true" />
            <span className="milestone-label">{milestone.label}</span>
            <span className="visually-hidden">: </span>
            <span className="milestone-state">{STATE_TEXT[milestone.state]}</span>
            {milestone.at && <RelativeTime at={milestone.at} />}
            {milestone.detail && <span className="milestone-detail">{milestone.detail}</span>}
          </li>
        ))}
      </ol>
      <details className="events">
        <summary>All events ({events.length})</summary>
        {events.length === 0 ? (
          <p className="muted">No events yet.</p>
        ) : (
          <ol className="event-log">
            {events.map((event) => (
              <li key={event.id} className={event.type === 'Warning' ? 'event-warning' : undefined}>
                <time dateTime={event.createdAt}>{new Date(event.createdAt).toLocaleTimeString()}</time> <strong>{event.reason}</strong> {event.message}
              </li>
            ))}
          </ol>
        )}
      </details>
    </section>
  );
}
