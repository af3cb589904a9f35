// What the benchmarks print with: number formats, PASS/MISS, and the order
// statistics their verdicts are made of.
export const fmt = (n: number, d = 1) => n.toFixed(d);
export const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** The value below which p percent of xs lie (nearest rank). */
export function percentile(xs: number[], p: number): number {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(xs: number[]): number {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The first and third quartiles: the bounds of the middle half. */
export function quartiles(xs: number[]): [number, number] {
  const s = sorted(xs);
  return [s[Math.floor((s.length - 1) / 4)], s[Math.ceil(((s.length - 1) * 3) / 4)]];
}
