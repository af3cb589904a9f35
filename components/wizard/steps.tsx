'use client';
// The wizard's steps, one component each, in the order the user meets them.
import Link from 'next/link';
import { useEffect, useState } from 'react';
import type { BootMode, InstMode } from '@/lib/spec';
import { kvmRuns } from '@/lib/host';
import type { Preview, WizardSpec } from '../api';
import { CopyBlock, CopyButton } from '../CopyText';
import { MediaChooser } from '../media/MediaLibrary';
import { useSwitches } from '../net/switches';
import { LOCAL } from '../hosts';
import { ChoiceField, Field, NumberField, SelectField, TextField, useFieldError, useInputProps, type Choice } from './fields';
import { formatArgv, shellQuote } from '../format';
import { newMac, newUuid, type Forward } from './values';
import type { StepProps } from './Wizard';

const grid2 = 'grid grid-cols-2 gap-x-4 gap-y-3';
const section = 'max-w-3xl space-y-4';

export function TemplateStep({ templates, template, chooseTemplate }: StepProps) {
  return (
    <div className="max-w-4xl">
      <ChoiceField
        name="template"
        legend="Start from a template: its defaults fill the next steps, and you can change every one."
        value={template.id}
        columns={2}
        onChange={(id) => {
          const t = templates.find((x) => x.id === id);
          if (t) chooseTemplate(t);
        }}
        choices={templates.map((t) => ({
          value: t.id,
          label: t.name,
          description: (
            <>
              {t.description}
              <span className="mt-0.5 block font-mono text-[11px]">
                {t.defaults.arch ?? 'x86_64'} · {t.defaults.machine || 'default machine'} · boots {t.bootModes.join('/\u200b')}
                {t.source !== 'builtin' && ` · ${t.source}`}
              </span>
            </>
          ),
        }))}
      />
    </div>
  );
}

export function IdentityStep({ draft, set, usedMacs }: StepProps) {
  const v = draft.values;
  return (
    <div className={section}>
      <TextField
        name="label"
        label="Label"
        value={v.label ?? ''}
        onChange={(label) => set({ label })}
        hint="The VM's name: its directory and files are named after it."
        placeholder="e.g. web1"
        autoFocus
      />
      <div className={grid2}>
        <TextField
          name="uuid"
          label="UUID"
          mono
          value={v.uuid ?? ''}
          onChange={(uuid) => set({ uuid })}
          after={<button type="button" className="btn" onClick={() => set({ uuid: newUuid() })}>New</button>}
        />
        <TextField
          name="mac"
          label="MAC address"
          mono
          value={v.mac ?? ''}
          onChange={(mac) => set({ mac })}
          hint="Generated in QEMU's 52:54:00 range, unused by your other VMs."
          after={<button type="button" className="btn" onClick={() => set({ mac: newMac(usedMacs) })}>New</button>}
        />
      </div>
      <div className={grid2}>
        <TextField
          name="ip"
          label="IP address"
          mono
          value={v.ip ?? ''}
          onChange={(ip) => set({ ip })}
          placeholder="DHCP"
          hint="Leave empty for DHCP. Recorded in the config (ctys's IP0) for tools that look it up."
        />
        {v.ip ? (
          <div className="grid grid-cols-2 gap-x-3">
            <TextField name="netmask" label="Netmask" mono value={v.netmask ?? ''} onChange={(netmask) => set({ netmask })} placeholder="255.255.255.0" />
            <TextField name="gateway" label="Gateway" mono value={v.gateway ?? ''} onChange={(gateway) => set({ gateway })} />
          </div>
        ) : <div />}
      </div>
      <div className="grid grid-cols-4 gap-x-3">
        <TextField name="os" label="OS" value={v.os ?? ''} onChange={(os) => set({ os })} placeholder="Linux" />
        <TextField name="osrel" label="OS release" value={v.osrel ?? ''} onChange={(osrel) => set({ osrel })} />
        <TextField name="dist" label="Distribution" value={v.dist ?? ''} onChange={(dist) => set({ dist })} placeholder="Debian" />
        <TextField name="distrel" label="Release" value={v.distrel ?? ''} onChange={(distrel) => set({ distrel })} placeholder="12" />
      </div>
    </div>
  );
}

export function HardwareStep({ draft, set, host }: StepProps) {
  const v = draft.values;
  const kvmItem = host?.items.find((i) => i.name === '/dev/kvm');
  const guestArch = String(v.arch ?? 'x86_64');
  const noKvm = host && !host.kvm
    ? <>Not on this host: {kvmItem?.detail ?? 'no /dev/kvm'}.{kvmItem?.fix && <> Fix: {kvmItem.fix}.</>}</>
    : host && !kvmRuns(host.arch, guestArch)
      ? <>KVM runs {host.arch} guests on this {host.arch} host, not {guestArch}.</>
      : undefined;
  const mem = typeof v.memsize === 'number' ? v.memsize : undefined;
  const machineErrors = [useFieldError('arch'), useFieldError('qemu'), useFieldError('machine'), useFieldError('cpu')];
  // Open while a field in it is wrong, and once opened (by the user or an error) open until closed: not shut as a value becomes right under the cursor.
  const [machineOpen, setMachineOpen] = useState(false);
  return (
    <div className={section}>
      <ChoiceField
        name="accelerator"
        legend="Accelerator"
        value={(v.accelerator ?? (host?.kvm && kvmRuns(host.arch, guestArch) ? 'KVM' : 'QEMU')) as 'KVM' | 'QEMU'}
        onChange={(accelerator) => set({ accelerator })}
        columns={2}
        choices={[
          { value: 'KVM', label: 'KVM', description: 'Hardware virtualization: near native speed, same architecture as the host only.', disabled: noKvm },
          { value: 'QEMU', label: 'QEMU (TCG)', description: 'Emulation: any architecture, much slower.' },
        ]}
      />
      <div className="flex gap-8">
        <NumberField name="smp" label="CPUs" value={v.smp} min={1} max={255} onChange={(smp) => set({ smp: smp as number })} />
        <div>
          <NumberField name="memsize" label="Memory" unit="MiB" value={v.memsize} min={8} step={64} onChange={(memsize) => set({ memsize: memsize as number })} />
          <div className="mt-1 flex gap-1" role="group" aria-label="Memory presets">
            {[256, 512, 1024, 2048, 4096, 8192].map((m) => (
              <button key={m} type="button" className={`btn btn-sm ${mem === m ? 'border-accent' : ''}`} onClick={() => set({ memsize: m })}>
                {m >= 1024 ? `${m / 1024}G` : `${m}M`}
              </button>
            ))}
          </div>
        </div>
      </div>
      <div className="grid grid-cols-3 gap-x-3">
        <SelectField name="firmware" label="Firmware" value={(v.firmware ?? 'BIOS') as NonNullable<WizardSpec['firmware']>}
          options={[{ value: 'BIOS', label: 'BIOS (SeaBIOS)' }, { value: 'UEFI', label: 'UEFI (OVMF)' }]} onChange={(firmware) => set({ firmware })} />
        <SelectField name="secureBoot" label="Secure Boot" value={(v.secureBoot ?? 'off') as NonNullable<WizardSpec['secureBoot']>}
          options={[{ value: 'off', label: 'off' }, { value: 'on', label: 'on (UEFI, q35)' }]} onChange={(secureBoot) => set({ secureBoot })} />
        <SelectField name="tpm" label="TPM" value={(v.tpm ?? 'none') as NonNullable<WizardSpec['tpm']>}
          options={[{ value: 'none', label: 'none' }, { value: '2.0', label: 'TPM 2.0 (swtpm)' }]} onChange={(tpm) => set({ tpm })} />
      </div>
      <details className="rounded border border-line px-3 py-2" open={machineOpen || machineErrors.some(Boolean)} onToggle={(e) => setMachineOpen(e.currentTarget.open)}>
        <summary className="cursor-pointer text-xs font-medium text-muted">Machine (from the template)</summary>
        <div className="mt-3 grid grid-cols-4 gap-x-3">
          <TextField name="arch" label="Architecture" mono value={v.arch ?? ''} onChange={(arch) => set({ arch: arch as WizardSpec['arch'] })} />
          <TextField name="qemu" label="QEMU binary" mono value={v.qemu ?? ''} onChange={(qemu) => set({ qemu })} />
          <TextField name="machine" label="Machine type" mono value={v.machine ?? ''} onChange={(machine) => set({ machine })} placeholder="default" />
          <TextField name="cpu" label="CPU model" mono value={v.cpu ?? ''} onChange={(cpu) => set({ cpu })} placeholder="default" />
        </div>
      </details>
    </div>
  );
}

const BOOT_LABELS: Record<BootMode, [string, string]> = {
  VHDD: ['Hard disk', 'the VM\'s disk image'],
  CD: ['CD-ROM', 'an ISO image'],
  DVD: ['DVD', 'an ISO image'],
  PXE: ['Network (PXE)', 'a boot server on the VM\'s network'],
  FDD: ['Floppy', 'a floppy image'],
  USB: ['USB stick', 'a USB disk image'],
  KERNEL: ['Kernel + initrd', 'a Linux kernel and initrd given to QEMU directly'],
};

export function StorageStep({ draft, set, setDraft, template }: StepProps) {
  const v = draft.values;
  const modes = new Set<string>([v.bootmode ?? '', v.instmode ?? '']);
  const label = v.label || 'LABEL';
  return (
    <div className={section}>
      <ChoiceField
        name="diskChoice"
        errorOf={draft.disk === 'existing' ? undefined : 'disk'}
        legend="Disk"
        value={draft.disk}
        columns={3}
        onChange={(disk) => setDraft({ disk })}
        choices={[
          { value: 'new', label: 'New disk image', description: 'Made with qemu-img in the VM\'s directory.' },
          { value: 'existing', label: 'Existing image', description: 'Used as it is; never overwritten.' },
          { value: 'none', label: 'No disk', description: 'For kernel, network or live-CD guests.' },
          { value: 'debootstrap', label: 'Build a Debian system', description: 'From this host\'s package archive (mmdebstrap).' },
        ]}
      />
      {draft.disk === 'debootstrap' && (
        <div className="space-y-2 rounded border border-line p-3 text-xs">
          <p>
            Debian <span className="font-mono">{v.distrel || '12'}</span> (DISTREL, on the identity step) with a kernel, systemd, a serial
            getty, openssh-server and cloud-init, built into <span className="font-mono">{label}.raw</span> and booted in KERNEL mode.
            Its cloud-init seed sets the hostname and network; give an SSH key under &quot;Automate the install&quot;.
            The first build of a release takes a minute or two; later ones come from the cache.
          </p>
          <TextField name="diskSize" label="Size" mono className="max-w-xs" value={v.diskSize ?? ''} onChange={(diskSize) => set({ diskSize })} hint="e.g. 3G" />
        </div>
      )}
      {draft.disk === 'new' && (
        <div className="grid grid-cols-3 gap-x-3">
          <TextField name="diskSize" label="Size" mono value={v.diskSize ?? ''} onChange={(diskSize) => set({ diskSize })} hint="e.g. 512M, 8G" />
          <SelectField name="diskFormat" label="Format" value={(v.diskFormat ?? 'qcow2') as 'qcow2' | 'raw'} options={['qcow2', 'raw'] as const}
            onChange={(diskFormat) => set({ diskFormat })} hint={`${label}.${v.diskFormat ?? 'qcow2'}`} />
          <DiskIf value={v.diskIf} set={set} />
        </div>
      )}
      {draft.disk === 'existing' && (
        <div className="grid grid-cols-3 gap-x-3">
          <TextField name="disk" label="Image path" mono className="col-span-2" value={draft.existingDisk}
            onChange={(existingDisk) => setDraft({ existingDisk })} hint="Absolute, or relative to the VM's directory." />
          <div className="grid grid-cols-2 gap-x-3">
            <SelectField name="diskFormat" label="Format" value={(v.diskFormat ?? 'qcow2') as 'qcow2' | 'raw'} options={['qcow2', 'raw'] as const}
              onChange={(diskFormat) => set({ diskFormat })} />
            <DiskIf value={v.diskIf} set={set} />
          </div>
        </div>
      )}

      <ChoiceField
        name="bootmode"
        legend="Boots from"
        value={(v.bootmode ?? template.bootModes[0]) as BootMode}
        columns={3}
        onChange={(bootmode) => set({ bootmode })}
        choices={template.bootModes.map((m) => ({ value: m, label: BOOT_LABELS[m][0], description: BOOT_LABELS[m][1] }))}
      />
      <SelectField
        name="instmode"
        label="Installs from (Create and install, Install boot)"
        className="max-w-xs"
        value={(v.instmode ?? template.instModes[0]) as InstMode}
        options={template.instModes.map((m) => ({ value: m, label: BOOT_LABELS[m][0] }))}
        onChange={(instmode) => set({ instmode })}
      />

      {(modes.has('CD') || modes.has('DVD')) && (
        <div>
          <TextField name="instSrcCdrom" label="ISO image" mono value={v.instSrcCdrom ?? ''} onChange={(instSrcCdrom) => set({ instSrcCdrom })}
            placeholder="/srv/iso/debian-12.iso" hint="A path on the vmdeck host, or one from the media library below." />
          <MediaChooser kinds={['iso']} selected={v.instSrcCdrom} onPick={(instSrcCdrom) => set({ instSrcCdrom })} />
        </div>
      )}
      {modes.has('FDD') && (
        <div>
          <TextField name="instSrcFdd" label="Floppy image" mono value={v.instSrcFdd ?? ''} onChange={(instSrcFdd) => set({ instSrcFdd })} />
          <MediaChooser kinds={['floppy']} selected={v.instSrcFdd} onPick={(instSrcFdd) => set({ instSrcFdd })} />
        </div>
      )}
      {modes.has('USB') && (
        <div>
          <TextField name="instSrcUsb" label="USB image" mono value={v.instSrcUsb ?? ''} onChange={(instSrcUsb) => set({ instSrcUsb })} />
          <MediaChooser kinds={['usb', 'iso']} selected={v.instSrcUsb} onPick={(instSrcUsb) => set({ instSrcUsb })} />
        </div>
      )}
      {modes.has('KERNEL') && (
        <div className="space-y-3 rounded border border-line p-3">
          <div className={grid2}>
            <TextField name="kernel" label="Kernel" mono value={v.kernel ?? ''} onChange={(kernel) => set({ kernel })} placeholder="/boot/vmlinuz" />
            <TextField name="initrd" label="Initrd" mono value={v.initrd ?? ''} onChange={(initrd) => set({ initrd })} placeholder="optional" />
          </div>
          <TextField name="append" label="Kernel command line" mono value={v.append ?? ''} onChange={(append) => set({ append })} />
        </div>
      )}
      {modes.has('PXE') && (
        <div className={grid2}>
          <TextField name="pxeRoot" label="PXE tree (TFTP)" mono value={v.pxeRoot ?? ''} onChange={(pxeRoot) => set({ pxeRoot })}
            placeholder="/srv/tftp/debian-installer" hint="User-mode NAT serves this directory by TFTP; on a VDE switch the boot server is on the switch." />
          <TextField name="pxeBootFile" label="Boot file" mono value={v.pxeBootFile ?? ''} onChange={(pxeBootFile) => set({ pxeBootFile })}
            placeholder="pxelinux.0" hint="Inside the tree, offered by DHCP." />
        </div>
      )}
    </div>
  );
}

function DiskIf({ value, set }: { value: WizardSpec['diskIf']; set: StepProps['set'] }) {
  return (
    <SelectField
      name="diskIf"
      label="Interface"
      value={(value ?? 'virtio') as NonNullable<WizardSpec['diskIf']>}
      options={['virtio', 'ide', 'scsi', 'sd', 'none'] as const}
      onChange={(diskIf) => set({ diskIf })}
    />
  );
}

/** When the template does not say which NICs its machine takes: the common ones. */
const NICS = ['virtio-net-pci', 'e1000', 'rtl8139', 'ne2k_pci', 'pcnet', 'i82559er', 'lance', 'smc91c111', 'mcf_fec'];

export function NetworkStep({ draft, set, setDraft, template, onHost }: StepProps) {
  const v = draft.values;
  const netmode = (v.netmode ?? 'user') as NonNullable<WizardSpec['netmode']>;
  const choices: Choice<typeof netmode>[] = [
    { value: 'user', label: 'User-mode NAT', description: 'Outgoing connections through the host; reach the guest with port forwards.' },
    { value: 'vde', label: 'VDE switch', description: 'A virtual switch shared with other VMs: they reach each other.' },
    { value: 'none', label: 'No network', description: 'No NIC at all.' },
  ];
  return (
    <div className={section}>
      <ChoiceField name="netmode" legend="Network" value={netmode} columns={3} onChange={(m) => set({ netmode: m })} choices={choices} />
      {netmode === 'vde' && <VdeSwitchField host={onHost} value={v.vdeSwitch ?? ''} onChange={(vdeSwitch) => set({ vdeSwitch })} />}
      {netmode !== 'none' && <NicField value={v.nic ?? ''} onChange={(nic) => set({ nic })} models={template.nicModels} machine={template.defaults.machine} />}
      {netmode === 'user' && <Forwards forwards={draft.forwards} onChange={(forwards) => setDraft({ forwards })} />}
    </div>
  );
}

/** The NIC: one of the models the template's machine takes, or free text where the template does not say. */
function NicField({ value, onChange, models, machine }: { value: string; onChange: (nic: string) => void; models?: string[]; machine?: string }) {
  const nicProps = useInputProps('nic');
  if (!models?.length) {
    return (
      <Field name="nic" label="NIC model" className="max-w-xs" hint="rtl8139, e1000 and virtio-net-pci suit most PC guests.">
        <input {...nicProps} list="nic-models" value={value} onChange={(e) => onChange(e.target.value)} className="input font-mono text-xs" spellCheck={false} />
        <datalist id="nic-models">{NICS.map((n) => <option key={n} value={n} />)}</datalist>
      </Field>
    );
  }
  const options = models.map((m, i) => ({ value: m, label: i === 0 ? `${m} (the template's)` : m }));
  // A value from elsewhere (a user template, an edit) stays choosable, and says so.
  if (value && !models.includes(value)) options.push({ value, label: `${value} (not listed for this machine)` });
  return (
    <SelectField
      name="nic"
      label="NIC model"
      className="max-w-xs"
      value={value}
      options={options}
      onChange={onChange}
      hint={`The models the ${machine || 'default'} machine takes.`}
    />
  );
}

/** The select's choice that reveals the text field: no switch name or path starts with a blank. */
const OTHER = ' other';

/**
 * The switch of a VDE VM: one of the running switches (GET /api/networks),
 * or a name or directory typed in. A switch need not run to be chosen, only
 * when the VM starts, so a name that is not running is a warning, not an error.
 */
function VdeSwitchField({ host, value, onChange }: { host: string; value: string; onChange: (v: string) => void }) {
  const { switches, error: loadError } = useSwitches(host);
  const error = useFieldError('vdeSwitch');
  const [typing, setTyping] = useState(false);
  const running = switches?.filter((s) => s.state === 'running') ?? [];
  const chosen = running.find((s) => s.name === value);
  const other = typing || (value !== '' && switches !== null && !chosen);
  const first = running[0]?.name;

  // Choosing VDE with a switch running: that switch, until the user says otherwise.
  useEffect(() => {
    if (value === '' && !typing && first) onChange(first);
  }, [value, typing, first, onChange]);

  const named = switches?.find((s) => s.name === value);
  // A directory may be any switch's: only names are looked up.
  const warn = value === '' || value.includes('/') || switches === null || named?.state === 'running' ? null
    : named ? `Switch '${value}' is not running (its vde_switch is gone): start it on the Networks page before the VM.`
      : `No switch '${value}' is running: create it before starting the VM.`;
  return (
    <div className="max-w-xl" data-field="vdeSwitch">
      <label htmlFor="f-vdeSwitch" className="label">VDE switch</label>
      <div className="flex items-center gap-2">
        <select
          id="f-vdeSwitch"
          name="vdeSwitch"
          className="input max-w-xs"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'f-vdeSwitch-error' : 'f-vdeSwitch-hint'}
          value={other ? OTHER : value}
          onChange={(e) => {
            if (e.target.value === OTHER) {
              setTyping(true);
              return;
            }
            setTyping(false);
            onChange(e.target.value);
          }}
        >
          {value === '' && !other && <option value="">{switches === null ? 'loading switches…' : 'choose a switch'}</option>}
          {running.map((s) => (
            <option key={s.name} value={s.name}>
              {s.name}{s.vms.length ? ` (${s.vms.length === 1 ? '1 VM' : `${s.vms.length} VMs`}: ${s.vms.join(', ')})` : ' (no VMs yet)'}
            </option>
          ))}
          <option value={OTHER}>another: a name or directory…</option>
        </select>
        <Link href={host === LOCAL ? '/networks' : `/networks?host=${encodeURIComponent(host)}`} target="_blank" className="text-xs text-accent underline">Create a switch</Link>
      </div>
      {other && (
        <input
          aria-label="VDE switch name or directory"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'f-vdeSwitch-error' : 'f-vdeSwitch-hint'}
          className="input mt-1.5 max-w-xs font-mono text-xs"
          value={value}
          autoFocus={typing}
          placeholder="lan, or /path/to/switch-dir"
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => onChange(e.target.value)}
        />
      )}
      {error ? <p id="f-vdeSwitch-error" role="alert" className="field-error">{error}</p> : (
        <p id="f-vdeSwitch-hint" className={`mt-1 text-xs ${warn ? 'text-amber-700 dark:text-amber-300' : 'text-muted'}`}>
          {warn ?? loadError ?? (switches !== null && running.length === 0
            ? 'No switch is running yet: create one (it opens in a new tab; this list follows).'
            : 'VMs on the same switch share one Ethernet segment. The switch must run when the VM starts.')}
        </p>
      )}
    </div>
  );
}

function Forwards({ forwards, onChange }: { forwards: Forward[]; onChange: (f: Forward[]) => void }) {
  const error = useFieldError('hostfwd');
  const put = (i: number, patch: Partial<Forward>) => onChange(forwards.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  return (
    <fieldset data-field="hostfwd" aria-describedby={error ? 'f-hostfwd-error' : undefined}>
      <legend className="label">Port forwards (host → guest)</legend>
      {forwards.length === 0 && <p className="mb-2 text-xs text-muted">None: the guest is not reachable from the host.</p>}
      {forwards.length > 0 && (
        <table className="mb-2 text-[13px]">
          <thead>
            <tr className="text-left text-xs text-muted">
              <th className="pr-2 font-medium">Protocol</th>
              <th className="pr-2 font-medium">Host address</th>
              <th className="pr-2 font-medium">Host port</th>
              <th className="pr-2 font-medium">Guest port</th>
              <th><span className="sr-only">Remove</span></th>
            </tr>
          </thead>
          <tbody>
            {forwards.map((f, i) => (
              <tr key={i}>
                <td className="pr-2 pb-1">
                  <select aria-label={`Forward ${i + 1} protocol`} className="input w-20" value={f.proto} onChange={(e) => put(i, { proto: e.target.value as Forward['proto'] })}>
                    <option value="tcp">tcp</option>
                    <option value="udp">udp</option>
                  </select>
                </td>
                <td className="pr-2 pb-1">
                  <input aria-label={`Forward ${i + 1} host address`} id={i === 0 ? 'f-hostfwd' : undefined} className="input w-36 font-mono text-xs" value={f.hostAddr} onChange={(e) => put(i, { hostAddr: e.target.value })} placeholder="all addresses" />
                </td>
                <td className="pr-2 pb-1">
                  <input aria-label={`Forward ${i + 1} host port`} inputMode="numeric" className="input w-24 font-mono text-xs" value={f.hostPort} onChange={(e) => put(i, { hostPort: e.target.value })} />
                </td>
                <td className="pr-2 pb-1">
                  <input aria-label={`Forward ${i + 1} guest port`} inputMode="numeric" className="input w-24 font-mono text-xs" value={f.guestPort} onChange={(e) => put(i, { guestPort: e.target.value })} />
                </td>
                <td className="pb-1">
                  <button type="button" className="btn btn-sm" aria-label={`Remove forward ${i + 1}`} onClick={() => onChange(forwards.filter((_, j) => j !== i))}>Remove</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button
        type="button"
        className="btn btn-sm"
        onClick={() => onChange([...forwards, { proto: 'tcp', hostAddr: '127.0.0.1', hostPort: forwards.length ? '' : '2222', guestPort: forwards.length ? '' : '22' }])}
      >
        Add port forward
      </button>
      {error && <p id="f-hostfwd-error" role="alert" className="field-error">{error}</p>}
    </fieldset>
  );
}

export function ConsoleStep({ draft, set }: StepProps) {
  const v = draft.values;
  const [args, setArgs] = useState((v.argsAdd ?? []).join(' '));
  return (
    <div className={section}>
      <ChoiceField
        name="console"
        legend="Console"
        value={(v.console ?? 'VNC') as NonNullable<WizardSpec['console']>}
        columns={3}
        onChange={(console) => set({ console })}
        choices={[
          { value: 'VNC', label: 'VNC (graphical)', description: 'The screen in the browser (noVNC); the serial console is there as well.' },
          { value: 'NONE', label: 'Serial only', description: 'No screen: the serial console in the browser or with vmdeck console.' },
          { value: 'CLI0', label: 'CLI0 (text, on a pty)', description: 'QEMU\'s own text console in a terminal that the server holds.' },
        ]}
      />
      <div className="grid grid-cols-3 gap-x-3">
        <SelectField
          name="vga"
          label="Display adapter"
          value={(v.vga ?? '') as NonNullable<WizardSpec['vga']>}
          options={[{ value: '', label: 'machine default' }, ...(['std', 'cirrus', 'virtio', 'qxl', 'vmware', 'none'] as const).map((x) => ({ value: x, label: x }))]}
          onChange={(vga) => set({ vga })}
        />
        <TextField name="kbdLayout" label="Keyboard layout (VNC)" mono value={v.kbdLayout ?? ''} onChange={(kbdLayout) => set({ kbdLayout })} placeholder="en-us" />
        <NumberField
          name="vncDisplay"
          label="Also a TCP VNC display"
          value={v.vncDisplay ?? ''}
          min={0}
          max={99}
          onChange={(n) => set({ vncDisplay: n === '' ? null : (n as number) })}
          hint={typeof v.vncDisplay === 'number' ? `127.0.0.1:${5900 + v.vncDisplay}` : 'Optional: for a desktop VNC viewer.'}
        />
      </div>
      <TextField
        name="argsAdd"
        label="More QEMU arguments"
        mono
        value={args}
        onChange={(s) => {
          setArgs(s);
          set({ argsAdd: s.trim() ? s.trim().split(/\s+/) : [] });
        }}
        hint="Blank-separated, appended to the command as they are (ctys's ARGSADD)."
      />
    </div>
  );
}

export function ReviewStep({ spec, preview, checking, error, errorStepTitle, goToError }: StepProps & {
  spec: WizardSpec;
  preview: Preview | null;
  checking: boolean;
  error: { error: string; field: string | null } | null;
  errorStepTitle: string | null;
  goToError: () => void;
}) {
  const label = spec.label || 'LABEL';
  const files = preview ? Object.entries(preview.files) : [];
  const tabs = [...files.map(([name]) => name), 'QEMU command'];
  const [tab, setTab] = useState(0);
  const shown = Math.min(tab, tabs.length - 1);
  const command = preview ? formatArgv(preview.argv) : '';
  return (
    <div className="flex h-full min-h-[28rem] flex-col gap-3">
      {error && (
        <p role="alert" className="rounded border border-danger/40 px-2 py-1.5 text-danger">
          {error.error}
          {errorStepTitle && <> <button type="button" className="ml-1 underline" onClick={goToError}>Fix it in {errorStepTitle}</button></>}
        </p>
      )}
      {!preview && !error && <p className="text-muted">{checking ? 'Asking the server for the files…' : 'No preview yet.'}</p>}
      {preview && (
        <>
          <p className="text-xs text-muted">
            Nothing is written yet. <b className="text-fg">Create</b> writes these files to <span className="font-mono">{label}/</span>
            {spec.disk && spec.disk === `${spec.label}.${spec.diskFormat ?? 'qcow2'}` ? <> and makes the disk image <span className="font-mono">{spec.disk}</span></> : null}.
          </p>
          {preview.warnings?.map((w) => (
            <p key={w} role="status" data-warning className="rounded border border-amber-500/40 px-2 py-1.5 text-xs text-amber-700 dark:text-amber-300">{w}</p>
          ))}
          <div role="tablist" aria-label="Generated files" className="flex gap-0.5 border-b border-line">
            {tabs.map((name, i) => (
              <button
                key={name}
                type="button"
                role="tab"
                id={`review-tab-${i}`}
                aria-selected={i === shown}
                aria-controls="review-panel"
                onClick={() => setTab(i)}
                className={`-mb-px rounded-t border px-3 py-1 font-mono text-xs ${i === shown ? 'border-line border-b-surface bg-surface text-fg' : 'border-transparent text-muted hover:text-fg'}`}
              >
                {name}
              </button>
            ))}
          </div>
          <div role="tabpanel" id="review-panel" aria-labelledby={`review-tab-${shown}`} className="flex min-h-0 flex-1">
            {shown < files.length ? (
              <CopyBlock className="flex-1" title={files[shown][0]} text={files[shown][1]} />
            ) : (
              <div className="flex min-h-0 flex-1 flex-col gap-2">
                <CopyBlock className="flex-1" title={`what ${label}.sh --print runs`} text={command} />
                <div className="flex justify-end">
                  <CopyButton text={preview.argv.map(shellQuote).join(' ')} label="Copy as one line" />
                </div>
              </div>
            )}
          </div>
        </>
      )}
    </div>
  );
}
