'use client';
// The VDE switches as GET /api/networks tells them, kept fresh for whoever
// shows them: fetched again on every VM state change (a VM that starts or
// stops plugs into or out of its switch), when the stream reconnects, and
// when the tab comes back into view (a switch made with `vmdeck net` sends
// no event).
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type SwitchInfo } from '../api';
import { useVmEvents } from '../events';

export function useSwitches(): { switches: SwitchInfo[] | null; error: string | null; reload: () => Promise<void> } {
  const [switches, setSwitches] = useState<SwitchInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const reload = useCallback(async () => {
    try {
      setSwitches(await api.networks());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);

  // A VM's QEMU plugs in a moment after it is seen running: ask a little later.
  const reloadSoon = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      void reload();
    }, 400);
  }, [reload]);

  useEffect(() => {
    void reload();
    const onVisible = () => {
      if (document.visibilityState === 'visible') reloadSoon();
    };
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', reloadSoon);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', reloadSoon);
      if (timer.current) clearTimeout(timer.current);
    };
  }, [reload, reloadSoon]);

  useVmEvents(reloadSoon, reloadSoon);

  return { switches, error, reload };
}
