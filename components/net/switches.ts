'use client';
// The VDE switches as GET /api/networks tells them, kept fresh for whoever
// shows them: fetched again on every VM state change (a VM that starts or
// stops plugs into or out of its switch), when the stream reconnects, and
// when the tab comes back into view (a switch made with `vmdeck net` sends
// no event).
import { useEffect, useMemo } from 'react';
import { api, type SwitchInfo } from '../api';
import { hostApi, LOCAL } from '../hosts';
import { useVmEvents } from '../events';
import { useFetched } from '../useFetched';

/** `host`: another host's switches (issue 14), through the central server. */
export function useSwitches(host = LOCAL): { switches: SwitchInfo[] | null; error: string | null; reload: () => Promise<void> } {
  const fetchSwitches = useMemo(() => (host === LOCAL ? api.networks : hostApi(host).networks), [host]);
  // A VM's QEMU plugs in a moment after it is seen running: ask a little later.
  const { data: switches, error, reload, reloadSoon } = useFetched(fetchSwitches, 400);

  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible') reloadSoon();
    };
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', reloadSoon);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', reloadSoon);
    };
  }, [reloadSoon]);

  useVmEvents(reloadSoon, reloadSoon);

  return { switches, error, reload };
}
