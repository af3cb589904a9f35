'use client';
// Asking once before a destructive action, naming what will be lost. A modal
// <dialog>: focus stays inside, Escape cancels, Enter on the button confirms.
import { useCallback, useEffect, useRef, useState } from 'react';

export interface ConfirmRequest {
  title: string;
  /** What will be lost, in the user's words. */
  body: React.ReactNode;
  confirm: string;
  /** The button that backs out ("Cancel" unless that would read as the action). */
  dismiss?: string;
}

export function useConfirm(): [React.ReactNode, (r: ConfirmRequest) => Promise<boolean>] {
  const [request, setRequest] = useState<(ConfirmRequest & { resolve: (ok: boolean) => void }) | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    if (request && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [request]);

  const ask = useCallback(
    (r: ConfirmRequest) => new Promise<boolean>((resolve) => setRequest({ ...r, resolve })),
    [],
  );

  const finish = (ok: boolean) => {
    request?.resolve(ok);
    dialog.current?.close();
    setRequest(null);
  };

  const element = request ? (
    <dialog
      ref={dialog}
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        finish(false);
      }}
      className="m-auto w-[26rem] max-w-[calc(100vw-2rem)] rounded border border-line bg-surface p-0 text-fg shadow-xl backdrop:bg-black/40"
    >
      <div className="p-4">
        <h2 id="confirm-title" className="mb-2 text-sm font-semibold">{request.title}</h2>
        <div className="text-[13px] text-muted">{request.body}</div>
      </div>
      <div className="flex justify-end gap-2 border-t border-line bg-panel px-4 py-2.5">
        <button type="button" className="btn" onClick={() => finish(false)}>{request.dismiss ?? 'Cancel'}</button>
        <button type="button" className="btn btn-destructive" autoFocus onClick={() => finish(true)}>
          {request.confirm}
        </button>
      </div>
    </dialog>
  ) : null;

  return [element, ask];
}
