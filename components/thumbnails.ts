'use client';
// Live screen thumbnails for the VM list, cheap with a thousand rows: one
// IntersectionObserver and one timer for the whole page, and only the
// thumbnails on screen are refreshed, only while the tab is visible.
// A screen is fetched before it is shown: a failed fetch (QEMU just started
// and its QMP socket is not there yet, or it just stopped) keeps the last
// screen, or none, instead of a broken image, and is tried on the next tick.
import { csrfHeaders } from './session';

const REFRESH_MS = 5000;

const visible = new Set<HTMLImageElement>();
let observer: IntersectionObserver | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
let count = 0;

/** The object URL each thumbnail shows, released when it is replaced or unwatched. */
const shown = new Map<HTMLImageElement, string>();

async function load(img: HTMLImageElement) {
  // One request per thumbnail at a time: a slow server is not piled on.
  if (img.dataset.loading === '1' || !img.dataset.src) return;
  img.dataset.loading = '1';
  let blob: Blob | null = null;
  try {
    const res = await fetch(img.dataset.src, { cache: 'no-store', credentials: 'same-origin', headers: csrfHeaders() });
    if (res.ok) blob = await res.blob();
  } catch {
    // The server cannot be reached: the list says so; the thumbnail waits.
  }
  img.dataset.loading = '';
  if (!blob || !img.isConnected || !visible.has(img)) return;
  img.dataset.loaded = '1';
  const url = URL.createObjectURL(blob);
  const old = shown.get(img);
  shown.set(img, url);
  img.src = url;
  if (old) URL.revokeObjectURL(old);
}

function tick() {
  if (document.visibilityState !== 'visible') return;
  for (const img of visible) void load(img);
}

function onVisibility() {
  if (document.visibilityState === 'visible') tick();
}

function start() {
  observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const img = e.target as HTMLImageElement;
      if (e.isIntersecting) {
        visible.add(img);
        if (!img.dataset.loaded) void load(img);
      } else {
        visible.delete(img);
      }
    }
  });
  timer = setInterval(tick, REFRESH_MS);
  document.addEventListener('visibilitychange', onVisibility);
}

function stop() {
  observer?.disconnect();
  observer = null;
  if (timer) clearInterval(timer);
  timer = null;
  document.removeEventListener('visibilitychange', onVisibility);
  visible.clear();
}

/** A ref callback for a thumbnail <img data-src=…>; returns its cleanup (React 19). */
export function watchThumbnail(img: HTMLImageElement | null): (() => void) | undefined {
  if (!img) return undefined;
  if (count++ === 0) start();
  observer!.observe(img);
  return () => {
    observer?.unobserve(img);
    visible.delete(img);
    const url = shown.get(img);
    if (url) URL.revokeObjectURL(url);
    shown.delete(img);
    if (--count === 0) stop();
  };
}
