'use client';
// The wizard's "Automate the install" step: which install seed vmdeck writes
// beside the VM (cloud-init, preseed, kickstart) and what goes into it. The
// review shows the seed files (the password hash left out) before anything
// is written.
import type { WizardSpec } from '../api';
import { ChoiceField, TextField } from './fields';
import type { StepProps } from './Wizard';

type Kind = NonNullable<WizardSpec['unattended']>;

const grid2 = 'grid grid-cols-2 gap-x-3';

export function UnattendedStep({ draft, set }: StepProps) {
  const v = draft.values;
  // A Debian built by mmdebstrap is reached through its cloud-init seed (lib/debootstrap.ts): no other choice.
  const debootstrap = draft.disk === 'debootstrap';
  const kind = (debootstrap ? 'cloud-init' : v.unattended ?? '') as Kind;
  const notHere = debootstrap ? 'Not for a Debian built by mmdebstrap, which takes its cloud-init seed.' : undefined;
  const kernel = v.bootmode === 'KERNEL' || v.instmode === 'KERNEL';
  const pxe = v.bootmode === 'PXE' || v.instmode === 'PXE';
  const cd = (v.bootmode === 'CD' || v.bootmode === 'DVD' || v.instmode === 'CD' || v.instmode === 'DVD' || v.instmode === undefined) && Boolean(v.instSrcCdrom);
  // Where the preseed goes, in lib/seeds.ts's seedPlan's order.
  const preseed = kernel ? 'Added to the installer\'s initrd, with auto=true priority=critical.'
    : pxe ? 'Served by the VM\'s own PXE tree, with auto=true priority=critical.'
      : cd ? 'The CD\'s installer (/install.amd) booted by kernel with the preseed in its initrd; the CD stays in the drive.'
        : 'Boot the installer in KERNEL mode, by PXE or from a Debian install CD for vmdeck to add it.';
  return (
    <div className="space-y-4">
      <ChoiceField
        name="unattended"
        legend="Unattended install"
        value={kind}
        columns={2}
        onChange={(unattended) => set({ unattended })}
        choices={[
          { value: '', label: 'None', description: 'Install by hand on the console.', disabled: notHere },
          { value: 'cloud-init', label: 'cloud-init (NoCloud)', description: debootstrap ? 'The built Debian\'s seed: its hostname, network and the account below.' : 'A cidata volume for cloud images and debootstrap disks.' },
          { value: 'preseed', label: 'Debian/Ubuntu preseed', description: preseed, disabled: notHere },
          { value: 'kickstart', label: 'Kickstart (RHEL, Fedora)', description: cd && !kernel ? 'The CD\'s Anaconda (/images/pxeboot) booted by kernel with ks.cfg in its initrd.' : 'An OEMDRV volume with ks.cfg.', disabled: notHere },
        ]}
      />
      {kind !== '' && (
        <>
          <div className={grid2}>
            <TextField name="vmUser" label="User" mono value={v.vmUser ?? ''} onChange={(vmUser) => set({ vmUser })} placeholder="vmdeck" />
            <TextField name="timezone" label="Time zone" mono value={v.timezone ?? ''} onChange={(timezone) => set({ timezone })} placeholder="Etc/UTC" />
          </div>
          <TextField name="sshKey" label="SSH public key" mono value={v.sshKey ?? ''} onChange={(sshKey) => set({ sshKey })}
            placeholder="ssh-ed25519 AAAA… you@host" hint="The user logs in with it; one line of your ~/.ssh/id_*.pub." />
          <TextField name="passwordHash" label="Password hash" mono value={v.passwordHash ?? ''} onChange={(passwordHash) => set({ passwordHash })}
            placeholder="$6$…" hint="A crypt(3) hash, e.g. from openssl passwd -6; never a plain password. Empty: no password login." />
          {kind !== 'cloud-init' && (
            <div className={grid2}>
              <TextField name="mirror" label="Package mirror" mono value={v.mirror ?? ''} onChange={(mirror) => set({ mirror })} placeholder="http://deb.debian.org/debian" />
              <TextField name="targetDisk" label="Target disk" mono value={v.targetDisk ?? ''} onChange={(targetDisk) => set({ targetDisk })}
                placeholder={v.diskIf === 'virtio' || v.diskIf === undefined ? '/dev/vda' : '/dev/sda'} />
            </div>
          )}
          <p className="text-xs text-muted">The hostname is the label; the network follows the identity step (the MAC, and IP, netmask and gateway when given).</p>
        </>
      )}
    </div>
  );
}
