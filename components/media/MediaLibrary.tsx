'use client';
// The install-media library in the browser: the images of the host's media
// directories (GET /api/media) to pick from, and an upload with a progress
// bar whose answer names the SHA-256. Used by the wizard's install source and
// the VM page's CD/DVD menu; typing a path stays possible beside it.
import { useCallback, useRef, useState } from 'react';
import { api, type MediaFile, type MediaLibrary, type UploadResult } from '../api';
import { formatBytes } from '../format';
import { useFetched } from '../useFetched';
import type { MediaKind } from '@/lib/media';

const KIND_NAMES: Record<MediaKind, string> = { iso: 'ISO', floppy: 'floppy', usb: 'USB/disk' };

export function useMediaLibrary() {
  const fetchLibrary = useCallback(() => api.mediaLibrary(), []);
  return useFetched<MediaLibrary>(fetchLibrary, 300);
}

/** The images of the kinds asked for; picking one hands its path on. */
export function MediaList({ library, kinds, selected, onPick, error }: {
  library: MediaLibrary | null;
  kinds: readonly MediaKind[];
  selected?: string;
  onPick: (path: string) => void;
  error?: string | null;
}) {
  if (error) return <p className="field-error">{error}</p>;
  if (!library) return <p className="text-xs text-muted">Reading the media library…</p>;
  const media = library.media.filter((m) => kinds.includes(m.kind));
  if (!media.length) {
    return <p className="text-xs text-muted">No {kinds.map((k) => KIND_NAMES[k]).join(' or ')} images in <span className="font-mono">{library.dirs.join(', ')}</span>.</p>;
  }
  return (
    <ul className="max-h-48 divide-y divide-line overflow-y-auto rounded border border-line text-xs" aria-label="Media library">
      {media.map((m) => (
        <li key={m.path}>
          <button
            type="button"
            className={`flex w-full items-baseline gap-2 px-2 py-1 text-left hover:bg-black/5 dark:hover:bg-white/5 ${m.path === selected ? 'bg-black/5 font-medium dark:bg-white/10' : ''}`}
            onClick={() => onPick(m.path)}
            aria-pressed={m.path === selected}
            title={m.path}
          >
            <span className="min-w-0 flex-1 truncate font-mono">{m.name}</span>
            {m.label && <span className="truncate text-muted">“{m.label}”</span>}
            <span className="text-muted">{KIND_NAMES[m.kind]}</span>
            <span className="w-16 text-right tabular-nums text-muted">{formatBytes(m.size)}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** A file from this computer to the host's media directory, with its progress and, when done, its SHA-256. */
export function MediaUpload({ library, onUploaded, kinds }: { library: MediaLibrary | null; onUploaded: (m: MediaFile) => void; kinds?: readonly MediaKind[] }) {
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<UploadResult | null>(null);
  const abort = useRef<AbortController | null>(null);

  const send = async (file: File) => {
    setError(null);
    setDone(null);
    if (library && file.size > library.uploadLimit) {
      setError(`size: the upload is larger than the limit of ${formatBytes(library.uploadLimit)} (VMDECK_UPLOAD_LIMIT)`);
      return;
    }
    abort.current = new AbortController();
    setProgress({ sent: 0, total: file.size });
    try {
      const r = await api.uploadMedia(file, (sent, total) => setProgress({ sent, total }), abort.current.signal);
      setDone(r);
      onUploaded(r);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setProgress(null);
      abort.current = null;
    }
  };

  const pct = progress && progress.total > 0 ? Math.floor((progress.sent / progress.total) * 100) : 0;
  return (
    <div className="space-y-1 text-xs">
      <div className="flex items-center gap-2">
        <label className="btn btn-sm cursor-pointer">
          Upload an image…
          <input
            type="file"
            className="sr-only"
            aria-label="Upload an image"
            accept=".iso,.img,.ima,.flp,.vfd,.raw"
            disabled={progress !== null}
            onChange={(e) => {
              const f = e.target.files?.[0];
              e.target.value = '';
              if (f) void send(f);
            }}
          />
        </label>
        {library && <span className="text-muted">into <span className="font-mono">{library.dirs[0]}</span></span>}
      </div>
      {progress && (
        <div className="flex items-center gap-2">
          <progress className="h-2 flex-1" max={100} value={pct} aria-label="Upload progress">{pct}%</progress>
          <span className="tabular-nums text-muted" data-testid="upload-progress">{pct}% of {formatBytes(progress.total)}</span>
          <button type="button" className="btn btn-sm" onClick={() => abort.current?.abort()}>Cancel</button>
        </div>
      )}
      {error && <p role="alert" className="field-error break-words">{error}</p>}
      {done && (
        <p role="status" className="break-all">
          <span className="font-medium text-green-700 dark:text-green-400">Uploaded {done.name}</span>{' '}
          <span className="text-muted">({formatBytes(done.size)}) SHA-256 </span>
          <span className="font-mono" data-testid="upload-sha256">{done.sha256}</span>
          {kinds && !kinds.includes(done.kind) && (
            <span className="block text-muted" data-testid="upload-kind">
              It is {KIND_NAMES[done.kind] === 'ISO' ? 'an' : 'a'} {KIND_NAMES[done.kind]} image, not {kinds.map((k) => KIND_NAMES[k]).join(' or ')}: not picked here; type its path to use it all the same.
            </span>
          )}
        </p>
      )}
    </div>
  );
}

/** List and upload together: what the wizard shows under an install source. */
export function MediaChooser({ kinds, selected, onPick }: { kinds: readonly MediaKind[]; selected?: string; onPick: (path: string) => void }) {
  const { data, error, reload } = useMediaLibrary();
  return (
    <div className="space-y-2">
      <MediaList library={data} kinds={kinds} selected={selected} onPick={onPick} error={error} />
      <MediaUpload library={data} kinds={kinds} onUploaded={(m) => { void reload(); if (kinds.includes(m.kind)) onPick(m.path); }} />
    </div>
  );
}
