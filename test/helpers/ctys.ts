// ctys-made VM directories for the tests, from test/fixtures/ctys/: the
// config template filled in as ctys-createConfVM's exchangeMARKER does, and
// the stand-in for ctys's wrapper beside it.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixtures = fileURLToPath(new URL('../fixtures/ctys/', import.meta.url));
const CONFIG_TEMPLATE = readFileSync(join(fixtures, 'template.QEMU.ctys'), 'utf8');
const WRAPPER_TEMPLATE = readFileSync(join(fixtures, 'template.QEMU.sh'), 'utf8');

/** createConfVM's values, by the name after MARKER_ (LABEL, MAC, IP, HDD_A, …). */
export type Markers = Record<string, string>;

/** What createConfVM fills in when it is not told otherwise (its defaults-QEMU.ctys). */
export const CREATE_DEFAULTS: Markers = {
  EDITOR: 'tester', DATE: '2010.06.01', CTYSREL: '01.11.022', VERNO: '01.11.022', SERNO: '20100601120000',
  UID: 'tester', GID: 'tester', HOST: 'buildhost', INST_DIST: 'debian', INST_RELEASE: '5.0', INST_OS_: 'Linux',
  INST_OSREL: '2.6.26', QEMUBASE__: '/usr/bin/qemu', QEMUBASE_ACCELERATOR: 'QEMU', UUID: '', IP: '', MAC: '',
  DIST: '', RELEASE: '', OS_: '', OSREL: '', CATEGORY: 'VM', VMSTATE: 'ACTIVE', ARCH: 'x86_64', DEFAULTHOSTS: 'VNC',
  DEFAULTCONSOLE: 'VNC', DEFAULTSTARTERCALL: 'qemu-system-x86_64', ACCELERATOR: 'QEMU', HDD_A: 'hda.img',
  HDDBOOTIMAGE_INST_SIZE: '8G', DEFAULTBOOTMODE: '', DEFAULTINSTMODE: '', DEFAULTINSTTARGET: '', SMP: '1',
  MEMSIZE: '512', KBD_LAYOUT: 'de', INSTSRCCDROM: '', INSTSRCFDD: '', INSTSRCUSB: '',
};

/** exchangeMARKER: every MARKER_X replaced (longest names first), IGNORE turned off for an ACTIVE VM. */
export function fillMarkers(template: string, values: Markers): string {
  let out = template;
  for (const name of Object.keys(values).sort((a, b) => b.length - a.length)) {
    out = out.split(`MARKER_${name}`).join(values[name]);
  }
  if ((values.VMSTATE ?? 'ACTIVE') === 'ACTIVE') out = out.split('MAGICID-IGNORE').join('MAGICID-do-not-IGNORE =>ACTIVATED');
  return out;
}

export interface CtysVm {
  dir: string;
  config: string;
  wrapper: string;
  /** Set when ctys's wrapper was run: it leaves this file. */
  ranMarker: string;
}

/**
 * A ctys-made VM <base>/<sub>/<LABEL>.{ctys,sh}: values as createConfVM
 * takes them, `edits` appended as the user's own lines (ctys's configs are
 * adapted by hand: a kernel, a second interface, …).
 */
export function writeCtysVm(base: string, sub: string, values: Markers & { LABEL: string }, edits = '', opts: { activate?: boolean } = {}): CtysVm {
  const dir = join(base, sub);
  mkdirSync(dir, { recursive: true });
  const all = { ...CREATE_DEFAULTS, ...values };
  const config = join(dir, `${values.LABEL}.ctys`);
  const wrapper = join(dir, `${values.LABEL}.sh`);
  let text = fillMarkers(CONFIG_TEMPLATE, all);
  // A VM activated first and given another state by hand later (a backup copy).
  if (opts.activate) text = text.split('MAGICID-IGNORE').join('MAGICID-do-not-IGNORE =>ACTIVATED');
  writeFileSync(config, text + (edits ? `\n#Adapted by hand:\n${edits}\n` : ''));
  writeFileSync(wrapper, fillMarkers(WRAPPER_TEMPLATE, all));
  chmodSync(wrapper, 0o755);
  return { dir, config, wrapper, ranMarker: join(dir, 'WRAPPER-RAN') };
}
