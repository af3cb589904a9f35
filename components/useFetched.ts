'use client';
// Data fetched from the API when a component mounts, with the last error,
// and fetched again on request: at once (reload) or once after a short pause
// however often it is asked for meanwhile (reloadSoon, for bursts of events).
// A change the page makes to the data itself (setData: an event applied)
// while a fetch is out may be older in that fetch's answer than on the page:
// the answer is applied, and the data fetched again soon (the list showed a
// VM running for good when its pause event came in while a refetch was out,
// once in a CI rehearsal).
import { useCallback, useEffect, useRef, useState, type SetStateAction } from 'react';

export function useFetched<T>(fetch: () => Promise<T>, soonMs: number) {
  const [data, setFetched] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  /** How many changes the page made to the data itself. */
  const changes = useRef(0);
  const again = useRef<() => void>(() => undefined);

  const reload = useCallback(async () => {
    const seen = changes.current;
    try {
      setFetched(await fetch());
      setError(null);
      if (changes.current !== seen) again.current();
    } catch (e) {
      setError((e as Error).message);
    }
  }, [fetch]);

  const reloadSoon = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      void reload();
    }, soonMs);
  }, [reload, soonMs]);

  useEffect(() => {
    again.current = reloadSoon;
  }, [reloadSoon]);

  const setData = useCallback((change: SetStateAction<T | null>) => {
    changes.current++;
    setFetched(change);
  }, []);

  useEffect(() => {
    void reload();
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [reload]);

  return { data, setData, error, reload, reloadSoon };
}
