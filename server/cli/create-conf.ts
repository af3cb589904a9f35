// vmdeck create-conf: ctys-createConfVM. Values come from the template, ctys's
// environment options (or NAME=VALUE arguments), and on a TTY from prompts.
import { dirname, resolve } from 'node:path';
import { shellWord } from '../../lib/ctys';
import { ENV_OPTIONS, composeSpec, envValues, fieldValue } from '../../lib/options';
import { parseSpec, VmSpecSchema, type VmSpecInput } from '../../lib/spec';
import { DEFAULT_TEMPLATE } from '../../lib/templates';
import { VmdeckError } from '../errors';
import { exists } from '../fsutil';
import { bases } from '../paths';
import { createVm, enumerate, hostFacts } from '../store';
import { findTemplate, loadCatalog } from '../templates';
import { flagString, parseArgs, UsageError, type Io } from './args';

export const usage = `vmdeck create-conf --label L [--base DIR] [--template T] [--auto-all|--auto]
                   [--no-create-image] [--force] [--json]
                   [--unattended=cloud-init|preseed|kickstart] [--install=debootstrap] [NAME=VALUE…]
                                         writes a VM's config, wrapper and disk (ctys-createConfVM);
                                         NAME=VALUE and the environment take ctys's options;
                                         --unattended also writes the install seed (VMUSER, SSHKEY,
                                         PASSWORD_HASH, TIMEZONE, …) beside the VM and attaches it;
                                         --install=debootstrap builds a Debian DISTREL system on
                                         its disk with mmdebstrap (cloud-init seed included)
vmdeck create-conf --levo [--template T]  every environment option, its default and where it comes from`;

type Values = Partial<VmSpecInput>;

/** The questions a person is asked, in order; each only where it applies. */
const QUESTIONS: { field: keyof VmSpecInput; ask: string; when?: (v: Record<string, unknown>) => boolean }[] = [
  { field: 'os', ask: 'Operating system (OS)' },
  { field: 'dist', ask: 'Distribution (DIST)' },
  { field: 'distrel', ask: 'Distribution release (DISTREL)' },
  { field: 'memsize', ask: 'Memory in MiB (MEMSIZE)' },
  { field: 'smp', ask: 'CPUs (SMP)' },
  { field: 'accelerator', ask: 'Accelerator, KVM or QEMU (ACCELERATOR)' },
  { field: 'diskSize', ask: 'Disk size (HDDBOOTIMAGE_INST_SIZE)', when: (v) => v.disk !== '' && v.disk !== undefined },
  { field: 'bootmode', ask: 'Boot mode (DEFAULTBOOTMODE)' },
  { field: 'instSrcCdrom', ask: 'Install ISO (INSTCDROM)', when: (v) => ['CD', 'DVD'].includes(String(v.bootmode)) || ['CD', 'DVD'].includes(String(v.instmode)) },
  { field: 'kernel', ask: 'Kernel (INST_KERNEL)', when: (v) => v.bootmode === 'KERNEL' || v.instmode === 'KERNEL' },
  { field: 'initrd', ask: 'Initrd (INST_INITRD)', when: (v) => v.bootmode === 'KERNEL' || v.instmode === 'KERNEL' },
  { field: 'append', ask: 'Kernel command line (INST_APPEND)', when: (v) => v.bootmode === 'KERNEL' || v.instmode === 'KERNEL' },
  { field: 'netmode', ask: 'Network: user, vde, tap or none (NETMODE)' },
  { field: 'console', ask: 'Console: VNC, SDL, CLI, CLI0 or NONE (DEFAULTCONSOLE)' },
];

async function prompt(label: string, templateId: string, env: Values, io: Io, force: boolean): Promise<{ label: string; template: string; values: Values }> {
  // Loaded for the questions only: not a cost of every create-conf's start.
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const ask = async (q: string, def: string) => (await rl.question(`${q} [${def}]: `)).trim() || def;
    // The label first, and checked at once: not after every other question.
    const taken = new Set((await enumerate()).map((v) => v.label));
    for (;;) {
      while (!label) label = (await rl.question('Label of the new VM: ')).trim();
      const r = parseSpec({ label });
      const problem = taken.has(label) && !force ? `label: a VM '${label}' exists already (--force replaces it)`
        : !r.ok && r.field === 'label' ? r.error : null;
      if (!problem) break;
      io.err(`${problem}\n`);
      label = '';
    }
    const catalog = await loadCatalog();
    io.out(`Templates: ${catalog.map((t) => t.id).join(', ')}\n`);
    for (;;) {
      templateId = await ask('Template', templateId);
      if (catalog.some((t) => t.id === templateId)) break;
      io.err(`template: '${templateId}' is not in the catalog\n`);
      templateId = DEFAULT_TEMPLATE;
    }
    const template = await findTemplate(templateId);
    const values: Values = {};
    const host = await hostFacts();
    for (const q of QUESTIONS) {
      for (;;) {
        const { input } = composeSpec(label, template, host, { uuid: '00000000-0000-4000-8000-000000000000', mac: '52:54:00:00:00:00' }, env, values);
        if (q.when && !q.when(input)) break;
        const current = input[q.field];
        const answer = await ask(q.ask, current === undefined || current === null ? '' : String(current));
        const v = fieldValue(q.field as never, answer);
        const r = parseSpec({ ...input, [q.field]: v });
        if (!r.ok && r.field === q.field) { io.err(`${r.error}\n`); continue; }
        (values as Record<string, unknown>)[q.field] = v;
        break;
      }
    }
    return { label, template: templateId, values };
  } finally {
    rl.close();
  }
}

/** A refusal of a value the user gave as NAME=VALUE names NAME, the word the user typed. */
function inUserWords(e: unknown, env: Record<string, string | undefined>): unknown {
  if (!(e instanceof VmdeckError) || !e.field) return e;
  const option = ENV_OPTIONS.find((o) => o.field === e.field && env[o.env] !== undefined);
  if (!option || !e.message.startsWith(`${e.field}:`)) return e;
  return new VmdeckError(e.status, `${option.env}:${e.message.slice(e.field.length + 1)}`, e.field);
}

async function levo(templateId: string, io: Io, json: boolean): Promise<number> {
  const template = await findTemplate(templateId);
  const { input, origin } = composeSpec('LABEL', template, await hostFacts(), { uuid: '(generated)', mac: '(generated, unique)' }, envValues(io.env), {});
  const rows = ENV_OPTIONS.map((o) => {
    let v: unknown = input[o.field];
    let from = origin[o.field];
    // Nothing gave it: the spec's own default, as the config will be written (PXEBOOTFILE's pxelinux.0).
    if (v === undefined && from === undefined) {
      const d = (VmSpecSchema.shape as Record<string, { safeParse?: (x: unknown) => { success: boolean; data?: unknown } }>)[o.field]?.safeParse?.(undefined);
      if (d?.success && d.data !== undefined && d.data !== '' && !(Array.isArray(d.data) && d.data.length === 0)) {
        v = d.data;
        from = 'vmdeck';
      }
    }
    const shown = Array.isArray(v) ? v.join(' ') : v === undefined || v === null ? '' : String(v);
    return { name: o.env, value: shown, from: from ?? 'empty', meaning: o.help };
  });
  if (json) {
    io.out(`${JSON.stringify({ template: template.id, options: rows }, null, 2)}\n`);
    return 0;
  }
  io.out(`Environment options of vmdeck create-conf (template ${template.id}):\n`);
  // A value longer than its column (a kernel command line) goes on a line of its own.
  io.out(`${'NAME'.padEnd(24)}${'DEFAULT'.padEnd(34)}${'FROM'.padEnd(13)}MEANING\n`);
  for (const r of rows) {
    const shown = r.value || "''";
    if (shown.length < 33) io.out(`${r.name.padEnd(24)}${shown.padEnd(34)}${r.from.padEnd(13)}${r.meaning}\n`);
    else io.out(`${r.name.padEnd(24)}${''.padEnd(34)}${r.from.padEnd(13)}${r.meaning}\n${''.padEnd(26)}${shown}\n`);
  }
  return 0;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, ['label', 'base', 'template', 'unattended', 'install'], ['auto-all', 'auto', 'no-create-image', 'force', 'json', 'levo']);
  const assignments: Record<string, string> = {};
  for (const a of p.positional) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/s.exec(a);
    if (!m) throw new UsageError(`unexpected argument '${a}' (options are --name, settings NAME=VALUE)`);
    if (!ENV_OPTIONS.some((o) => o.env === m[1])) throw new UsageError(`${m[1]}: not an option of create-conf (see vmdeck create-conf --levo)`);
    assignments[m[1]] = m[2];
  }
  const env: Record<string, string | undefined> = { ...io.env, ...assignments };
  const unattended = flagString(p, 'unattended');
  if (unattended !== undefined) env.UNATTENDED = unattended;
  const templateId = flagString(p, 'template') ?? DEFAULT_TEMPLATE;
  if (p.flags.has('levo')) return levo(templateId, { ...io, env }, p.flags.has('json'));

  let label = flagString(p, 'label') ?? '';
  let template = templateId;
  let values: Values = {};
  const interactive = io.isTTY && !p.flags.has('auto-all') && !p.flags.has('json');
  if (interactive && !p.flags.has('auto')) {
    ({ label, template, values } = await prompt(label, templateId, envValues(env), io, p.flags.has('force')));
  } else if (!label) {
    throw new VmdeckError(400, 'label: is required (--label NAME)', 'label');
  }
  const created = await createVm({
    // No --template: the store picks one for ARCH when ARCH is given.
    label, template: template === DEFAULT_TEMPLATE && !flagString(p, 'template') ? undefined : template, base: flagString(p, 'base'), env, values,
    createImage: !p.flags.has('no-create-image'), force: p.flags.has('force'),
    install: flagString(p, 'install'),
    progress: (line) => io.err(`${line}\n`),
  }).catch((e: unknown) => { throw inUserWords(e, env); });
  if (p.flags.has('json')) {
    io.out(`${JSON.stringify({ vm: created.vm, kept: created.kept, imageCreated: created.imageCreated, problem: created.problem, warnings: created.warnings }, null, 2)}\n`);
  } else {
    const { vm } = created;
    io.out(`created VM '${vm.label}' in ${vm.dir}\n  config:  ${vm.config}\n  wrapper: ${vm.wrapper}\n`);
    if (vm.disk) {
      const what = created.imageCreated ? `new, ${created.spec.diskSize} ${created.spec.diskFormat}`
        : (await exists(vm.disk)) ? 'existing, kept' : 'not created: --no-create-image';
      io.out(`  disk:    ${vm.disk} (${what})\n`);
    }
    for (const k of created.kept) io.out(`  kept:    ${k}\n`);
    // Written as asked, but it will not start as it is: say why now, not at the first start.
    if (created.problem) io.err(`vmdeck create-conf: warning: ${created.problem}\n`);
    for (const w of created.warnings) io.err(`vmdeck create-conf: warning: ${w}\n`);
    // By label only where vmdeck looks (its bases); elsewhere by its config's path.
    const found = bases(env as NodeJS.ProcessEnv).some((b) => resolve(b) === dirname(vm.dir) || resolve(b) === vm.dir);
    // Ready to paste, whatever the base's path holds.
    io.out(`start it: vmdeck start ${found ? vm.label : shellWord(vm.config)}   (or run ${shellWord(vm.wrapper)})\n`);
  }
  return 0;
}
