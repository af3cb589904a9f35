// Values the wizard generates or converts: identifiers for a new VM, and
// port forwards between QEMU's hostfwd text and editable rows.

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return b;
}

/** A random (version 4) UUID; crypto.randomUUID needs a secure origin, this does not. */
export function newUuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A MAC in QEMU's locally administered 52:54:00 range, avoiding the ones in use. */
export function newMac(used: ReadonlySet<string> = new Set()): string {
  for (;;) {
    const mac = ['52', '54', '00', ...[...randomBytes(3)].map((x) => x.toString(16).padStart(2, '0'))].join(':');
    if (!used.has(mac)) return mac;
  }
}

export interface Forward {
  proto: 'tcp' | 'udp';
  hostAddr: string;
  hostPort: string;
  guestPort: string;
}

const FWD = /^(tcp|udp):([^:]*):(\d*)-([^:]*):(\d*)$/;

export function parseForward(s: string): Forward {
  const m = FWD.exec(s);
  if (!m) return { proto: 'tcp', hostAddr: '127.0.0.1', hostPort: '', guestPort: '' };
  return { proto: m[1] as 'tcp' | 'udp', hostAddr: m[2], hostPort: m[3], guestPort: m[5] };
}

/** QEMU's hostfwd form, e.g. tcp:127.0.0.1:2222-:22 (the guest address left to DHCP). */
export function formatForward(f: Forward): string {
  return `${f.proto}:${f.hostAddr}:${f.hostPort}-:${f.guestPort}`;
}
