// ctys's MAC/IP/hostname database (macmap.fdb, `<name>;<MAC>;<IP>` per line,
// as ctys-extractMAClst writes it from a dhcpd.conf) and /etc/ethers
// (`<MAC> <name or IP>`): reading it, looking up by label, MAC or IP, and
// the MAC/IP pairs of a VM it disagrees with (ctys's ENUMERATE warning).
import type { VmInterface } from './vm';

export interface MacmapEntry {
  name: string;
  /** Lower case, as vmdeck writes MACs. */
  mac: string;
  ip: string;
}

const MAC = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
/** 0:50:56:a:b:c as 00:50:56:0a:0b:0c. */
const normMac = (m: string) => m.split(':').map((x) => x.padStart(2, '0').toLowerCase()).join(':');

export function parseMacmap(text: string): MacmapEntry[] {
  const out: MacmapEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    if (line.includes(';')) {
      const [name = '', mac = '', ip = ''] = line.split(';').map((s) => s.trim());
      if (MAC.test(mac)) out.push({ name, mac: normMac(mac), ip });
      continue;
    }
    const [mac = '', other = ''] = line.split(/\s+/);
    if (!MAC.test(mac)) continue;
    out.push(IPV4.test(other) ? { name: '', mac: normMac(mac), ip: other } : { name: other, mac: normMac(mac), ip: '' });
  }
  return out;
}

export class Macmap {
  constructor(readonly entries: MacmapEntry[]) {}

  /** ctys-createConfVM's lookups: the label as host name (short or full), else nothing. */
  byName(name: string): MacmapEntry[] {
    return this.entries.filter((e) => e.name === name || e.name.split('.')[0] === name);
  }

  /** The IP of a MAC: from an entry with both, else from another entry (ethers lines name one each). */
  ipOf(mac: string): string {
    const m = normMac(mac);
    return this.entries.find((e) => e.mac === m && e.ip)?.ip ?? '';
  }

  nameOf(ip: string): string {
    return this.entries.find((e) => e.ip === ip && e.name)?.name ?? '';
  }

  /** One line per interface whose MAC/IP pair the database has otherwise (ctys: "Inconsistent MAC-IP-pair"). */
  disagreements(interfaces: VmInterface[]): string[] {
    const out: string[] = [];
    for (const i of interfaces) {
      if (!i.ip || !i.mac) continue;
      const known = this.entries.filter((e) => e.ip === i.ip);
      if (known.length && !known.some((e) => e.mac === normMac(i.mac))) {
        out.push(`macmap: IP${i.index} ${i.ip} has MAC ${known[0].mac} in the macmap database, but MAC${i.index} is ${i.mac.toLowerCase()}`);
      }
    }
    return out;
  }
}
