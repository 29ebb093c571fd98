import { useCallback, useEffect, useRef, useState } from 'react';

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
}

/**
 * Loads `load()` when `key` changes, optionally again every `pollMs`. A poll keeps the data it
 * has while it runs, so the page does not flash a loading state. Superseded requests are left
 * to finish and their answers dropped rather than aborted: an aborted request is
 * indistinguishable from a failed one in the browser's network log.
 */
export function useResource<T>(load: () => Promise<T>, key: string, pollMs?: number): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const loader = useRef(load);
  // The latest loader without restarting the effect on every render (its identity changes each time).
  // eslint-disable-next-line react-hooks/refs -- only read inside run(), never during render
  loader.current = load;
  const generation = useRef(0);
  const inFlight = useRef(false);

  const run = useCallback(async (isPoll = false) => {
    // A slow server must not pile up polls; explicit reloads always go.
    if (isPoll && inFlight.current) return;
    const mine = ++generation.current;
    inFlight.current = true;
    try {
      const result = await loader.current();
      if (mine !== generation.current) return;
      setData(result);
      setError(undefined);
    } catch (caught) {
      if (mine !== generation.current) return;
      setError(caught);
    } finally {
      if (mine === generation.current) {
        inFlight.current = false;
        setLoading(false);
      }
    }
  }, []);

  useEffect(() => {
    // A new key must not show the previous key's data while it loads.
    // eslint-disable-next-line react-hooks/set-state-in-effect -- the reset belongs to the key change the effect reacts to
    setData(undefined);
    setError(undefined);
    setLoading(true);
    void run();
    const timer = pollMs ? setInterval(() => void run(true), pollMs) : undefined;
    return () => {
      if (timer) clearInterval(timer);
      generation.current += 1;
      inFlight.current = false;
    };
  }, [key, pollMs, run]);

  return { data, error, loading, reload: () => run() };
}
