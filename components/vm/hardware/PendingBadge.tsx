// The mark of a running VM whose config changed since it started, in the list and on its page.

/** A running VM whose config changed since it started: its next start takes the change. */
export function PendingBadge({ variables }: { variables: string[] }) {
  const what = variables.length ? variables.join(', ') : 'the config was changed since the VM started';
  return (
    <span className="shrink-0 rounded bg-sunken px-1.5 text-[11px] text-muted ring-1 ring-line ring-inset" title={`Pending until the next start: ${what}`}>
      pending
    </span>
  );
}

