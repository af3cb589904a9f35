// WebSocket close codes of the console endpoints (SPEC.md), and the standard
// ones the bridges use.
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  internalError: 1011,
  /** The console socket is held by another program (a `vmdeck console` attached directly): retry later. */
  tryAgainLater: 1013,
  unauthorized: 4401,
  unknownVm: 4404,
  notRunning: 4409,
  vmStopped: 4410,
  /** The client read too slowly and was dropped. */
  tooSlow: 4429,
} as const;

/** A close reason fits in 123 bytes of UTF-8. */
export function closeReason(text: string): string {
  let s = text;
  while (Buffer.byteLength(s) > 123) s = s.slice(0, -1);
  return s;
}
