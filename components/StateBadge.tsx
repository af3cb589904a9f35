// The one state badge: the same colour per state in the list, on the VM page
// and over thumbnails.
import type { VmState } from '@/lib/vm';

export type BadgeState = VmState | 'failed';

const LOOK: Record<BadgeState, string> = {
  running: 'bg-green-600/12 text-green-700 ring-green-600/30 dark:text-green-400',
  paused: 'bg-amber-500/15 text-amber-700 ring-amber-500/35 dark:text-amber-300',
  suspended: 'bg-blue-600/12 text-blue-700 ring-blue-600/30 dark:text-blue-300',
  stopped: 'bg-neutral-500/12 text-neutral-600 ring-neutral-500/30 dark:text-neutral-400',
  failed: 'bg-red-600/12 text-red-700 ring-red-600/35 dark:text-red-400',
};

const DOT: Record<BadgeState, string> = {
  running: 'bg-green-600 dark:bg-green-400',
  paused: 'bg-amber-500 dark:bg-amber-300',
  suspended: 'bg-blue-600 dark:bg-blue-300',
  stopped: 'bg-neutral-400 dark:bg-neutral-500',
  failed: 'bg-red-600 dark:bg-red-400',
};

/**
 * A VM that carries a reason is shown as failed: stopped by a crash or a kill,
 * or halted by QEMU itself (a KVM internal error, a guest panic), which no
 * Resume brings back. Paused by the user carries no reason.
 */
export function badgeState(state: VmState, reason?: string): BadgeState {
  return (state === 'stopped' || state === 'paused') && reason ? 'failed' : state;
}

/** text: another word for the state where its owner has one (a switch is 'stale', not 'failed'). */
export function StateBadge({ state, text, title, className = '' }: { state: BadgeState; text?: string; title?: string; className?: string }) {
  return (
    <span
      data-state={state}
      title={title}
      className={`inline-flex items-center gap-1.5 rounded-full px-2 py-px text-xs font-medium ring-1 ring-inset ${LOOK[state]} ${className}`}
    >
      <span aria-hidden className={`size-1.5 rounded-full ${DOT[state]}`} />
      {text ?? state}
    </span>
  );
}

/**
 * Beside the badge of a running VM that seems stuck (no progress since its
 * start, or QEMU's KVM errors): the server's words on hover and for screen
 * readers. The state stays what QEMU says; this is a doubt, not a failure.
 */
export function WarningMark({ warning }: { warning: string }) {
  return (
    <span
      role="img"
      data-warning
      aria-label={`warning: ${warning}`}
      title={warning}
      className="ml-1 inline-flex size-4 items-center justify-center rounded-full bg-amber-500/20 text-[11px] font-bold text-amber-700 ring-1 ring-inset ring-amber-500/40 dark:text-amber-300"
    >
      !
    </span>
  );
}
