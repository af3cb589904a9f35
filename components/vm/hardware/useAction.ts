'use client';
// One action of a hardware card at a time: busy while it runs, then its
// one-line outcome or the server's own error, and the VM read again.
import { useState } from 'react';

export function useAction(onChanged: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  /** Runs what, which answers with the line to show. */
  const act = async (what: () => Promise<string>) => {
    setBusy(true);
    try {
      setDone(await what());
      setError(null);
      onChanged();
    } catch (e) {
      setDone(null);
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, act, clearError: () => setError(null) };
}
