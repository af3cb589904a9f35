// Other hosts in the browser (issue 14): a remote VM is `LABEL@HOST`, as
// ctys writes a target, so its page, row, thumbnail and consoles take the
// same label-shaped value as a local one and api.ts routes it to
// /api/hosts/HOST/… and /ws/hosts/HOST/…; the host-level routes of one host.
import type { VmInfo } from '@/lib/vm';
import type { Template } from '@/lib/templates';
import type { HostReport } from '@/lib/host';
import { call, type Preview, type StartOptions, type SwitchInfo, type CancelResult, type WizardSpec } from './api';

export const LOCAL = 'local';

/** `web@lab2` → {label: 'web', host: 'lab2'}; a local label has no host. */
export function splitLabel(label: string): { label: string; host?: string } {
  const at = label.indexOf('@');
  return at < 0 ? { label } : { label: label.slice(0, at), host: label.slice(at + 1) };
}

export const qualify = (label: string, host: string) => (host === LOCAL ? label : `${label}@${host}`);
export const hostOf = (label: string) => splitLabel(label).host ?? LOCAL;

/** GET /api/hosts: each host's check (`local` first); one that cannot be reached has ok false and ssh's reason. */
export interface HostCheck {
  name: string;
  dest: string;
  vmdeck: string;
  ok: boolean;
  version?: string;
  error?: string;
  report?: HostReport;
}

export const hostsApi = {
  list: () => call<HostCheck[]>('GET', '/api/hosts'),
  add: (name: string, dest: string, vmdeck?: string) => call<HostCheck>('POST', '/api/hosts', { name, dest, ...(vmdeck ? { vmdeck } : {}) }),
  remove: (name: string) => call<unknown>('DELETE', `/api/hosts/${encodeURIComponent(name)}`),
};

/** The routes of one host that are not a VM's: what the list and the wizard ask a host. */
export function hostApi(host: string) {
  const root = host === LOCAL ? '/api' : `/api/hosts/${encodeURIComponent(host)}`;
  return {
    host: () => call<HostReport>('GET', `${root}/host`),
    templates: () => call<Template[]>('GET', `${root}/templates`),
    /** Its VMs, labels qualified with the host. */
    vms: async () => (await call<VmInfo[]>('GET', `${root}/vms`)).map((v) => ({ ...v, label: qualify(v.label, host) })),
    preview: (spec: WizardSpec, signal?: AbortSignal) => call<Preview>('POST', `${root}/vms/preview`, spec, signal),
    create: (spec: WizardSpec, opts: { createImage: boolean; start?: boolean | StartOptions }) =>
      call<{ vm: VmInfo; problem?: string | null; startError?: string }>('POST', `${root}/vms`, { ...spec, ...opts }),
    networks: () => call<SwitchInfo[]>('GET', `${root}/networks`),
    createNetwork: (name: string, opts: { tap?: string; bridge?: string } = {}) => call<SwitchInfo>('POST', `${root}/networks`, { name, ...opts }),
    cancelNetwork: (name: string, force: boolean) =>
      call<CancelResult>('DELETE', `${root}/networks/${encodeURIComponent(name)}${force ? '?force=1' : ''}`),
  };
}
