'use client';
// One EventSource per page on GET /api/events, shared by every component that
// wants state changes. The browser reconnects it by itself; listeners hear
// about a (re)open so that they can refetch what they may have missed.
import { useEffect, useEffectEvent } from 'react';
import type { Task } from '@/lib/tasks';
import type { VmEvent } from './api';
import { withCsrf } from './session';

type Listener = { event: (e: VmEvent) => void; open?: () => void; task?: (t: Task) => void };

const listeners = new Set<Listener>();
let source: EventSource | null = null;

function dispatch(data: string) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return;
  }
  const events = Array.isArray(parsed) ? parsed : [parsed];
  for (const e of events) {
    if (e && typeof e === 'object' && typeof (e as VmEvent).label === 'string') {
      for (const l of listeners) l.event(e as VmEvent);
    }
  }
}

function connect() {
  source = new EventSource(withCsrf('/api/events'));
  source.onmessage = (m) => dispatch(m.data);
  // Named events ("state", "vm", …) carry the same JSON as unnamed ones.
  for (const name of ['state', 'vm', 'created', 'deleted']) {
    source.addEventListener(name, (m) => dispatch((m as MessageEvent).data));
  }
  // A task begun or ended (the task log), whoever ran it.
  source.addEventListener('task', (m) => {
    let t: Task;
    try {
      t = JSON.parse((m as MessageEvent).data) as Task;
    } catch {
      return;
    }
    for (const l of listeners) l.task?.(t);
  });
  source.onopen = () => {
    for (const l of listeners) l.open?.();
  };
}

function subscribe(l: Listener): () => void {
  listeners.add(l);
  if (!source) connect();
  return () => {
    listeners.delete(l);
    if (listeners.size === 0 && source) {
      source.close();
      source = null;
    }
  };
}

/** Calls onEvent for every VM event, onOpen whenever the stream (re)connects. */
export function useVmEvents(onEvent: (e: VmEvent) => void, onOpen?: () => void) {
  const event = useEffectEvent(onEvent);
  const open = useEffectEvent(() => onOpen?.());
  useEffect(() => subscribe({ event: (e) => event(e), open: () => open() }), []);
}

/** Calls onTask for every task that begins or ends, onOpen whenever the stream (re)connects. */
export function useTaskEvents(onTask: (t: Task) => void, onOpen?: () => void) {
  const task = useEffectEvent(onTask);
  const open = useEffectEvent(() => onOpen?.());
  useEffect(() => subscribe({ event: () => undefined, task: (t) => task(t), open: () => open() }), []);
}
