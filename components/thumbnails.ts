'use client';
// Live screen thumbnails for the VM list, cheap with a thousand rows: one
// IntersectionObserver and one timer for the whole page, and only the
// thumbnails on screen are refreshed, only while the tab is visible.
const REFRESH_MS = 5000;

const visible = new Set<HTMLImageElement>();
let observer: IntersectionObserver | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
let count = 0;

function load(img: HTMLImageElement) {
  // One request per thumbnail at a time: a slow server is not piled on.
  if (img.dataset.loading === '1' || !img.dataset.src) return;
  img.dataset.loading = '1';
  img.src = `${img.dataset.src}?t=${Date.now()}`;
}

function tick() {
  if (document.visibilityState !== 'visible') return;
  for (const img of visible) load(img);
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
        if (!img.dataset.loaded) load(img);
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
  const done = (e: Event) => {
    img.dataset.loading = '';
    img.dataset.loaded = '1';
    // A VM without a display (or one that just stopped) has no screen to show.
    img.dataset.failed = e.type === 'error' ? '1' : '';
  };
  img.addEventListener('load', done);
  img.addEventListener('error', done);
  observer!.observe(img);
  return () => {
    img.removeEventListener('load', done);
    img.removeEventListener('error', done);
    observer?.unobserve(img);
    visible.delete(img);
    if (--count === 0) stop();
  };
}
