// A cpio archive in the "newc" format (what the Linux kernel unpacks into its
// initramfs), for a few small files: the preseed added to an installer's
// initrd. Archives concatenated after an initrd are unpacked over it.

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function entry(name: string, data: Uint8Array, mode: number, ino: number): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header = ['070701', hex8(ino), hex8(mode), hex8(0), hex8(0), hex8(1), hex8(0), hex8(data.length),
    hex8(0), hex8(0), hex8(0), hex8(0), hex8(nameBytes.length), hex8(0)].join('');
  const head = Buffer.concat([Buffer.from(header, 'latin1'), nameBytes]);
  return Buffer.concat([head, Buffer.alloc(pad4(head.length)), Buffer.from(data), Buffer.alloc(pad4(data.length))]);
}

/** Regular files (mode 0600) at the archive's top, then the trailer. */
export function cpioNewc(files: { name: string; data: Uint8Array }[]): Buffer {
  const parts = files.map((f, i) => entry(f.name, f.data, 0o100600, i + 1));
  parts.push(entry('TRAILER!!!', new Uint8Array(), 0, 0));
  return Buffer.concat(parts);
}
