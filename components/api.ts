// The browser's side of the HTTP API (SPEC "HTTP API"): one function per
// route, so components never build URLs or parse errors themselves.
import type { CancelResult, SwitchInfo } from '@/lib/net';
import type { Disk, Nic, VmInfo, VmRuntime, VmState } from '@/lib/vm';
import type { CdDrive } from '@/lib/hardware';
import type { Template } from '@/lib/templates';
import type { Snapshot } from '@/lib/snapshots';
import type { VmSpecInput } from '@/lib/spec';
import { csrfHeaders, toLogin, withCsrf } from './session';
import type { Task } from '@/lib/tasks';
import type { StatPoint } from '@/lib/stats';
import type { MediaLibrary, UploadResult } from '@/lib/media';
import { qualify, splitLabel } from './hosts';

/** A refusal from the server: its own one-line message and the field it names. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      signal,
      headers: body === undefined ? csrfHeaders() : { ...csrfHeaders(), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'the vmdeck server cannot be reached');
  }
  if (res.status === 401 && typeof window !== 'undefined') toLogin();
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const err = data as { error?: string; field?: string } | string | undefined;
    const message = typeof err === 'object' && err?.error ? err.error : typeof err === 'string' && err ? err.split('\n')[0] : `${res.status} ${res.statusText}`;
    const field = typeof err === 'object' ? err?.field : undefined;
    // A session whose page secret this browser lost: only a new login hands one out.
    if (res.status === 403 && field === 'csrf' && typeof window !== 'undefined') window.location.assign(`/login?error=${encodeURIComponent(message)}`);
    throw new ApiError(res.status, message, field);
  }
  return data as T;
}

/** A VM of another host is `LABEL@HOST` (ctys's target): its routes are /api/hosts/HOST/vms/LABEL (components/hosts.ts). */
const vmPath = (label: string) => {
  const { label: l, host } = splitLabel(label);
  return host ? `/api/hosts/${encodeURIComponent(host)}/vms/${encodeURIComponent(l)}` : `/api/vms/${encodeURIComponent(l)}`;
};

import type { CheckItem, HostReport } from '../lib/host';

export type { CheckItem, HostReport };

/** GET /api/vms/:label: the VM, its files and the wrapper's QEMU command. */
export interface VmDetail extends VmInfo {
  files: Record<string, string>;
  argv: string[];
  /** Why the wrapper printed no command (its one-line complaint). */
  argvError?: string;
  /** Its runtime directory; sockets and start time while it runs. */
  runtime?: VmRuntime;
  /** Stopped: why it cannot start as configured (the wrapper's --check), if it cannot. */
  problem?: string;
  /** The editable settings as the config gives them, and those its logic sets (with why they cannot be edited here). */
  settings?: { values: Record<string, unknown>; locked: Record<string, string> };
  /** Start on host boot, as the config says (AUTOSTART, AUTOSTART_ORDER, AUTOSTART_DELAY). */
  autostart?: AutostartSetting;
}

export interface AutostartSetting {
  enabled: boolean;
  order: number | null;
  delay: number;
}

/** POST /api/vms/:label/autostart: the VM's setting now and the host's unit. */
export interface AutostartState extends AutostartSetting {
  label: string;
  unit: { path: string; scope: 'system' | 'user'; manager: 'running' | 'offline' | 'none'; installed: boolean; enabled: boolean; note?: string };
}

export const setAutostart = (label: string, body: { enabled: boolean; order?: number | null; delay?: number }) =>
  call<AutostartState>('POST', `${vmPath(label)}/autostart`, body);

/** One config line a change writes (PATCH /api/vms/:label). */
export interface WrittenLine {
  field: string;
  variable: string;
  line: number;
  text: string;
  /** The line it replaces; null when it is added at the end. */
  before: string | null;
}

/** POST /api/vms/:label/disks|nics: the device as the config now has it, the lines written, and whether it was hot-plugged. */
export interface DeviceResult<T> {
  vm: VmInfo;
  device: T;
  lines: string[];
  kept: string;
  live: boolean;
  /** Written as asked, but the VM cannot start as it is (a VDE switch not running). */
  warning?: string;
}

/** PATCH /api/vms/:label's answer. */
export interface EditResult {
  vm: VmInfo;
  /** The previous config, kept; absent for a dry run or when nothing changed. */
  kept?: string;
  lines: string[];
  changes: WrittenLine[];
  dryRun: boolean;
  /** The VM runs: the change waits for its next start. */
  pending: boolean;
}

export interface Preview {
  files: Record<string, string>;
  argv: string[];
  spec?: Record<string, unknown>;
  /** Made as asked, likely not as meant (an unattended account nobody can log in to). */
  warnings?: string[];
}

/** POST /api/vms/:label/start; instmode true is the config's own install mode. */
export interface StartOptions {
  console?: string;
  bootmode?: string;
  instmode?: string | true;
}

export type StopMode = 'poweroff' | 'force' | 'reset' | 'pause' | 'resume' | 'suspend';

/**
 * POST /api/vms/:label/stop: the VM as it is afterwards. A poweroff the guest
 * ignored leaves it running, with the reason (on the answer or on its vm).
 */
export interface StopResult {
  vm?: VmInfo;
  state?: VmState;
  reason?: string;
}

/** GET /api/vms/:label/media, and POST's answer: the CD/DVD drive now. */
export interface MediaState {
  device: string;
  /** The image in the drive, or null when it is empty. */
  file: string | null;
  trayOpen: boolean;
  locked: boolean;
}

export type { Snapshot } from '@/lib/snapshots';
export type { Task } from '@/lib/tasks';

/** GET /api/vms/:label/stats (server/stats.ts StatsAnswer). */
export interface VmStats {
  label: string;
  range: string;
  step: number;
  points: StatPoint[];
  now: StatPoint | null;
}

/** GET /api/host/stats. */
export interface HostStats {
  cpu: number;
  cores: number;
  memTotal: number;
  memAvailable: number;
  bases: { path: string; total: number; free: number }[];
  vms: { running: number; cpu: number; rss: number };
}

/** install: 'debootstrap' builds the disk with a Debian system (create-conf --install=debootstrap). */
export type WizardSpec = Partial<VmSpecInput> & { template: string; install?: 'debootstrap' };

export const api = {
  host: () => call<HostReport>('GET', '/api/host'),
  templates: () => call<Template[]>('GET', '/api/templates'),
  vms: () => call<VmInfo[]>('GET', '/api/vms'),
  vm: async (label: string) => {
    const vm = unwrapVm(await call<unknown>('GET', vmPath(label)));
    // Another host's VM keeps its LABEL@HOST, so what the page does with it goes there too.
    const { host } = splitLabel(label);
    return host ? { ...vm, label: qualify(vm.label, host) } : vm;
  },
  preview: (spec: WizardSpec, signal?: AbortSignal) => call<Preview>('POST', '/api/vms/preview', spec, signal),
  /** start: true starts it as configured; { instmode: true } boots its install source. */
  create: (spec: WizardSpec, opts: { createImage: boolean; start?: boolean | StartOptions }) =>
    call<{ vm: VmInfo; problem?: string | null; startError?: string }>('POST', '/api/vms', { ...spec, ...opts }),
  /** Changes config values (spec fields); a running VM takes them at its next start. dryRun: only the lines it would write. */
  edit: (label: string, values: Record<string, unknown>, dryRun = false) =>
    call<EditResult>('PATCH', vmPath(label), dryRun ? { ...values, dryRun } : values),
  /** Adds a disk (a new image of size, or an existing file); live on a running VM. */
  addDisk: (label: string, disk: { size?: string; file?: string; interface?: string }) =>
    call<DeviceResult<Disk>>('POST', `${vmPath(label)}/disks`, disk),
  /** Grows disk n to size (shrinking needs shrink: the VM's label); live on a running VM. */
  resizeDisk: (label: string, n: number, size: string, shrink?: string) =>
    call<DeviceResult<Disk> & { from: number; to: number }>('POST', `${vmPath(label)}/disks/${n}/resize`, shrink ? { size, shrink } : { size }),
  /** Disk n's options (readOnly, cache, discard, bootIndex): pending on a running VM. */
  setDiskOptions: (label: string, n: number, options: { readOnly?: boolean; cache?: string; discard?: boolean; bootIndex?: number | null }) =>
    call<DeviceResult<Disk> & { pending: boolean }>('PATCH', `${vmPath(label)}/disks/${n}`, options),
  /** Takes disk n out of the config (its image stays); live on a running VM. */
  removeDisk: (label: string, n: number) =>
    call<DeviceResult<Disk>>('DELETE', `${vmPath(label)}/disks/${n}`),
  /** Adds a NIC (net: user, vde:SWITCH, tap:IF, none); live on a running VM. */
  addNic: (label: string, nic: { model?: string; net?: string }) =>
    call<DeviceResult<Nic>>('POST', `${vmPath(label)}/nics`, nic),
  /** Takes NIC n out of the config (the later ones move down); live on a running VM, where only the last can go. */
  removeNic: (label: string, n: number) =>
    call<DeviceResult<Nic>>('DELETE', `${vmPath(label)}/nics/${n}`),
  /** Adds CD/DVD drive N (with an ISO, or empty); pending on a running VM. */
  addCd: (label: string, cd: { iso?: string; interface?: string }) =>
    call<DeviceResult<CdDrive> & { pending: boolean }>('POST', `${vmPath(label)}/cds`, cd),
  /** Takes CD/DVD drive N ≥ 1 out of the config (the later ones move down); pending on a running VM. */
  removeCd: (label: string, n: number) =>
    call<DeviceResult<CdDrive> & { pending: boolean }>('DELETE', `${vmPath(label)}/cds/${n}`),
  /** Puts an image into drive cdN (N ≥ 1), fda or fdb, or empties it (path ''): live on a running VM, and written. */
  changeDrive: (label: string, drive: string, path: string) =>
    call<{ drive: string; file: string; lines: string[]; live: boolean; pending: boolean }>('PATCH', `${vmPath(label)}/drives/${drive}`, { path }),
  /** A new VM from this stopped one: a full copy, or linked (overlays on its disks). */
  clone: (label: string, newLabel: string, linked: boolean) =>
    call<{ vm: VmInfo; linked: boolean }>('POST', `${vmPath(label)}/clone`, { label: newLabel, linked }),
  remove: (label: string, deleteDisks: boolean) =>
    call<unknown>('DELETE', `${vmPath(label)}${deleteDisks ? '?disks=delete' : ''}`),
  start: (label: string, opts: StartOptions = {}) =>
    call<unknown>('POST', `${vmPath(label)}/start`, opts),
  stop: (label: string, mode: StopMode, timeout?: number) =>
    call<StopResult>('POST', `${vmPath(label)}/stop`, timeout === undefined ? { mode } : { mode, timeout }),
  snapshots: (label: string) => call<Snapshot[]>('GET', `${vmPath(label)}/snapshots`),
  saveSnapshot: (label: string, name: string) => call<unknown>('POST', `${vmPath(label)}/snapshots`, { name }),
  loadSnapshot: (label: string, name: string) =>
    call<unknown>('POST', `${vmPath(label)}/snapshots/${encodeURIComponent(name)}/load`, {}),
  deleteSnapshot: (label: string, name: string) =>
    call<unknown>('DELETE', `${vmPath(label)}/snapshots/${encodeURIComponent(name)}`),
  media: (label: string) => call<MediaState>('GET', `${vmPath(label)}/media`),
  changeMedia: (label: string, path: string) => call<MediaState>('POST', `${vmPath(label)}/media`, { action: 'change', path }),
  ejectMedia: (label: string) => call<MediaState>('POST', `${vmPath(label)}/media`, { action: 'eject' }),
  keys: (label: string, keys: string[]) => call<unknown>('POST', `${vmPath(label)}/keys`, { keys }),
  typeText: (label: string, text: string) => call<unknown>('POST', `${vmPath(label)}/keys`, { text }),
  /** GET /api/tasks: the task log, newest first (of one VM with label). */
  tasks: (label?: string) => call<Task[]>('GET', `/api/tasks${label ? `?label=${encodeURIComponent(label)}` : ''}`),
  /** GET /api/vms/:label/stats: the history over a range, and the figures now. */
  stats: (label: string, range: string) => call<VmStats>('GET', `${vmPath(label)}/stats?range=${encodeURIComponent(range)}`),
  /** GET /api/stats/cpu: the last minutes of CPU of each running VM. */
  recentCpu: () => call<Record<string, (number | null)[]>>('GET', '/api/stats/cpu'),
  hostStats: () => call<HostStats>('GET', '/api/host/stats'),
  networks: () => call<SwitchInfo[]>('GET', '/api/networks'),
  createNetwork: (name: string, opts: { tap?: string; bridge?: string } = {}) =>
    call<SwitchInfo>('POST', '/api/networks', { name, ...opts }),
  /** force: also while VMs are on it (they keep running, cable pulled). */
  cancelNetwork: (name: string, force: boolean) =>
    call<CancelResult>('DELETE', `/api/networks/${encodeURIComponent(name)}${force ? '?force=1' : ''}`),
  mediaLibrary: () => call<MediaLibrary>('GET', '/api/media'),
  uploadMedia,
};

export type { MediaFile, MediaLibrary, UploadResult } from '@/lib/media';

/**
 * POST /api/media: the file itself as the body, streamed by the browser.
 * XMLHttpRequest, not fetch, because only it reports upload progress.
 */
function uploadMedia(file: File, onProgress: (sent: number, total: number) => void, signal?: AbortSignal): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/media?name=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    for (const [k, v] of Object.entries(csrfHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let data: { error?: string; field?: string } & Partial<UploadResult> = {};
      try {
        data = JSON.parse(xhr.responseText);
      } catch { /* not JSON: the status says it */ }
      if (xhr.status === 201) resolve(data as UploadResult);
      else reject(new ApiError(xhr.status, data.error ?? `${xhr.status} ${xhr.statusText}`, data.field));
    };
    xhr.onerror = () => reject(new ApiError(0, 'the upload failed: the vmdeck server cannot be reached'));
    xhr.onabort = () => reject(new ApiError(0, 'the upload was cancelled; nothing was kept'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}

export type { CancelResult, SwitchInfo, SwitchPort } from '@/lib/net';

export const screenshotUrl = (label: string) => `${vmPath(label)}/screenshot`;
/** All that serial0 printed, served as an attachment (`?bytes=N` would be only the tail). */
export const serialLogUrl = (label: string) => withCsrf(`${vmPath(label)}/serial.log?download=1`);

/** ws(s)://<this host>/ws/vms/:label/<kind>: same origin, so the session cookie goes along, and the page secret. */
export function consoleUrl(label: string, kind: 'vnc' | 'serial' | 'monitor' | 'cli'): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const { label: l, host } = splitLabel(label);
  return withCsrf(`${proto}//${window.location.host}/ws/${host ? `hosts/${encodeURIComponent(host)}/` : ''}vms/${encodeURIComponent(l)}/${kind}`);
}

function unwrapVm(data: unknown): VmDetail {
  const d = data as { vm: VmDetail; files?: Record<string, string>; argv?: string[] | null; argvError?: string; problem?: string; runtime?: VmRuntime; settings?: VmDetail['settings']; autostart?: AutostartSetting };
  return { ...d.vm, files: d.files ?? {}, argv: d.argv ?? [], argvError: d.argvError, problem: d.problem, runtime: d.runtime, settings: d.settings, autostart: d.autostart };
}


/** A state change from GET /api/events. */
export interface VmEvent {
  label: string;
  state?: VmState;
  [k: string]: unknown;
}

/** Where the wizard leaves (in sessionStorage) the message of a start that failed right after it made the VM; its page says it once. */
export const startErrorKey = (label: string) => `vmdeck:start-error:${label}`;
