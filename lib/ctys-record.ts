// ctys's machine-readable ENUMERATE record (`ctys -a enumerate=machine`):
// 47 fields separated by ';', one record per interface, in the order of
// ctys's GENERIC/ENUMERATE/canonize.awk for MACHINE output. Where ctys
// asks a program (QEMU's version, DNS), vmdeck leaves the field empty; where
// ctys is wrong (VRAM 128, VCPU 1 for every QEMU VM) it gives the VM's own
// values (docs/CTYS.md).
import type { VmInfo, VmInterface } from './vm';

/** The field names, as ctys's TITLE output prints them. */
export const CTYS_RECORD_FIELDS = [
  'ContainingMachine', 'SessionType', 'Label', 'ID', 'UUID', 'MAC', 'TCP', 'DISPLAY', 'ClientAccessPort',
  'ServerAccessPort', 'VNCbasePort', 'Distro', 'Distrorel', 'OS', 'OSrel', 'VersNo', 'SerialNo', 'Category',
  'VMstate', 'hyperrel', 'StackCap', 'StackReq', 'HWCAP', 'HWREQ', 'ExecLocation', 'RelocationCapacity',
  'SSHport', 'netname', 'hyperrelrun', 'accellerator', 'exepath', 'rsrv', 'IFname', 'CTYSRelease', 'netmask',
  'gateway', 'relay', 'Arch', 'Platform', 'VRAM', 'VCPU', 'ContextStg', 'UserStrg', 'UID', 'GID', 'DefHOSTs',
  'DefCONSOLE',
] as const;

export interface RecordHost {
  /** The machine the VM is on (ctys's MYHOST). */
  host: string;
  uid: string;
  gid: string;
  /** The name of an address (ctys: DNS or its macmap), '' when unknown. */
  netname?: (ip: string) => string;
}

/** ctys's separator in a field: a ';' in a value would shift every field after it. */
const field = (v: string | number | undefined) => String(v ?? '').replace(/[;\n]/g, ' ');

/** The records of one VM, from its facts and its markers (readMarkers(...).values). */
export function ctysRecords(vm: VmInfo, markers: Record<string, string>, host: RecordHost): string[] {
  const none: VmInterface = { index: 0, mac: '', ip: '', netmask: '', relay: '', ifname: '', sshport: '', gateway: '' };
  const ifs = vm.interfaces.length ? vm.interfaces : [none];
  return ifs.map((i) => [
    host.host, 'QEMU', vm.label, vm.config, vm.uuid, i.mac, i.ip,
    markers.VNCACCESSDISPLAY, markers.VNCACCESSPORT, markers.SPORT, markers.VNCBASEPORT,
    vm.dist, vm.distrel, vm.os, vm.osrel, markers.VERSION, markers.SERNO, 'VM', vm.vmstate,
    markers.INST_HYPERREL, markers.STACKCAP, markers.STACKREQ, markers.HWCAP, markers.HWREQ,
    markers.EXECLOCATION, markers.RELOCCAP, i.sshport, i.ip && host.netname ? host.netname(i.ip) : '',
    '', vm.accelerator, vm.qemu, '', i.ifname, markers.CTYSRELEASE ?? markers.CTYSREL, i.netmask, i.gateway,
    i.relay, markers.ARCH || vm.arch, markers.PLATFORM, vm.memsize, vm.smp, markers.CSTRG, markers.USTRG,
    host.uid, host.gid, markers.DEFAULTHOSTS || 'VNC', markers.DEFAULTCONSOLE || 'VNC',
  ].map(field).join(';'));
}
