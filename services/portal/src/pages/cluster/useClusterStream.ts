import { useEffect, useState } from 'react';
import { ApiError, clusterPath, type Cluster, type ClusterEvent } from '../../api.js';
import { useSession } from '../../session.js';
import { openEventStream } from '../../sse.js';

/** Keeps the seed name from the full GET: the stream's snapshots carry only the seed id. */
function mergeSnapshot(previous: Cluster | undefined, next: Cluster): Cluster {
  if (next.seed && !next.seed.name && previous?.seed?.id === next.seed.id) return { ...next, seed: previous.seed };
  return next;
}

export type StreamState = 'connecting' | 'open' | 'retrying' | 'closed';

/** The cluster and its events: one GET, then the event stream's snapshots and events. */
export function useClusterStream(projectId: string, clusterId: string) {
  const session = useSession();
  const [cluster, setCluster] = useState<Cluster | undefined>(undefined);
  const [events, setEvents] = useState<ClusterEvent[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  const [streamState, setStreamState] = useState<StreamState>('connecting');

  useEffect(() => {
    let cancelled = false;
    session.api
      .get<Cluster>(clusterPath(projectId, clusterId))
      .then((loaded) => {
        if (!cancelled) setCluster((current) => (current ? mergeSnapshot(loaded, current) : loaded));
      })
      .catch((caught: unknown) => {
        if (!cancelled) setError(caught);
      });
    const close = openEventStream({
      url: `/api/v1${clusterPath(projectId, clusterId)}/events/stream`,
      headers: { authorization: session.api.authorization },
      onStateChange: setStreamState,
      onFatal: (status) => {
        setStreamState('closed');
        if (status === 404) setError(new ApiError(404, { detail: 'cluster not found' }));
      },
      onMessage: (message) => {
        if (message.event === 'cluster-event') {
          const event = JSON.parse(message.data) as ClusterEvent;
          setEvents((current) => (current.some((existing) => existing.id === event.id) ? current : [...current, event]));
        } else if (message.event === 'cluster') {
          const snapshot = JSON.parse(message.data) as Cluster;
          setCluster((current) => mergeSnapshot(current, snapshot));
        }
      },
    });
    return () => {
      cancelled = true;
      close();
    };
  }, [projectId, clusterId, session.api]);

  return { cluster, events, error, streamState };
}
