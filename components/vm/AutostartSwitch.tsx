'use client';
// Start on host boot: the VM page's switch, with the order and the delay
// after it (POST /api/vms/:label/autostart, the function behind vmdeck
// autostart). The server's own line shows under it: its refusal, or what
// the user should know about the host's unit (systemd not running, linger).
import { useRef, useState } from 'react';
import { ApiError, setAutostart, type AutostartSetting, type VmDetail } from '../api';

export function AutostartSwitch({ vm }: { vm: VmDetail }) {
  const [setting, setSetting] = useState<AutostartSetting>(vm.autostart ?? { enabled: false, order: null, delay: 0 });
  const [order, setOrder] = useState(setting.order === null ? '' : String(setting.order));
  const [delay, setDelay] = useState(String(setting.delay));
  const [busy, setBusy] = useState(false);
  /** What the switch will be once the saves queued so far are done. */
  const enabledNow = useRef(setting.enabled);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const id = `autostart-${vm.label}`;
  // One save after another: leaving a field saves it, and the switch pressed right after must win.
  const queue = useRef<Promise<void>>(Promise.resolve());
  const save = (enabled: boolean) => {
    enabledNow.current = enabled;
    queue.current = queue.current.then(() => saveNow(enabled));
  };

  async function saveNow(enabled: boolean) {
    setBusy(true);
    setMessage(null);
    try {
      const number = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : s);
      const r = await setAutostart(vm.label, { enabled, order: order.trim() === '' ? null : (number(order) as number), delay: number(delay) as number });
      setSetting({ enabled: r.enabled, order: r.order, delay: r.delay });
      if (r.unit.note) setMessage({ error: false, text: r.unit.note });
    } catch (e) {
      // Refused: the switch stays as the config says.
      if (enabledNow.current === enabled) enabledNow.current = setting.enabled;
      setMessage({ error: true, text: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  }

  const field = 'w-12 rounded border border-line bg-transparent px-1 py-0.5 tabular-nums';
  return (
    <section aria-label="Start on host boot">
      <h2 className="mt-3 mb-1.5 font-semibold uppercase tracking-wide text-muted">Host boot</h2>
      <label htmlFor={id} className="flex items-center gap-2">
        <button
          id={id}
          type="button"
          role="switch"
          aria-checked={setting.enabled}
          aria-busy={busy}
          onClick={() => save(!enabledNow.current)}
          className={`relative h-4 w-7 shrink-0 rounded-full transition-colors aria-busy:opacity-70 ${setting.enabled ? 'bg-green-600' : 'bg-neutral-400 dark:bg-neutral-600'}`}
        >
          <span className={`absolute top-0.5 h-3 w-3 rounded-full bg-white transition-all ${setting.enabled ? 'left-3.5' : 'left-0.5'}`} />
        </button>
        <span>Start on host boot</span>
      </label>
      <div className="mt-1 flex items-center gap-2 text-muted">
        <label>Order <input aria-label="Boot order" className={field} value={order} placeholder="—" inputMode="numeric" onChange={(e) => setOrder(e.target.value)} onBlur={() => enabledNow.current && save(true)} /></label>
        <label>then <input aria-label="Delay after start (s)" className={field} value={delay} inputMode="numeric" onChange={(e) => setDelay(e.target.value)} onBlur={() => enabledNow.current && save(true)} /> s</label>
      </div>
      {message && <p role={message.error ? 'alert' : 'status'} className={`mt-1 ${message.error ? 'text-red-600 dark:text-red-400' : 'text-muted'}`}>{message.text}</p>}
    </section>
  );
}
