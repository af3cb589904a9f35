'use client';
// Data fetched from the API when a component mounts, with the last error,
// and fetched again on request: at once (reload) or once after a short pause
// however often it is asked for meanwhile (reloadSoon, for bursts of events).
import { useCallback, useEffect, useRef, useState } from 'react';

export function useFetched<T>(fetch: () => Promise<T>, soonMs: number) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const reload = useCallback(async () => {
    try {
      setData(await fetch());
      setError(null);
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
    void reload();
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [reload]);

  return { data, setData, error, reload, reloadSoon };
}
