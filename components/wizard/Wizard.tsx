'use client';
// The creation wizard. What the user enters is sent, debounced, to
// POST /api/vms/preview: the server validates it with the same code as
// `vmdeck create-conf` and answers with the files and the QEMU command, or
// with one refusal that names a field, which is shown under that field.
// A field left empty is not scolded before the user has been in it or pressed
// Next: "is required" in red on a form just opened says nothing useful.
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Template } from '@/lib/templates';
import { kvmRuns } from '@/lib/host';
import { api, ApiError, startErrorKey, type HostReport, type Preview, type StartOptions, type WizardSpec } from '../api';
import { FieldErrors, fieldId } from './fields';
import { hostApi, LOCAL, qualify } from '../hosts';
import { HostChoice } from '../HostChoice';
import { ConsoleStep, HardwareStep, IdentityStep, NetworkStep, ReviewStep, StorageStep, TemplateStep } from './steps';
import { UnattendedStep } from './UnattendedStep';
import { CreateProgress } from './CreateProgress';
import { formatForward, newMac, newUuid, parseForward, type Forward } from './values';

export type DiskChoice = 'new' | 'existing' | 'none' | 'debootstrap';

/** Everything the wizard holds: the spec fields, and the few choices that shape them. */
export interface Draft {
  values: WizardSpec;
  disk: DiskChoice;
  existingDisk: string;
  forwards: Forward[];
}

export interface StepProps {
  draft: Draft;
  set: (patch: Partial<WizardSpec>) => void;
  setDraft: (patch: Partial<Draft>) => void;
  template: Template;
  templates: Template[];
  host: HostReport | null;
  usedMacs: ReadonlySet<string>;
  chooseTemplate: (t: Template) => void;
  /** The host the VM is made on (its switches): `local` or a name of GET /api/hosts. */
  onHost: string;
}

const STEPS = [
  { id: 'template', title: 'Template', fields: ['template'] },
  { id: 'identity', title: 'Identity', fields: ['label', 'uuid', 'mac', 'ip', 'netmask', 'gateway', 'os', 'osrel', 'dist', 'distrel'] },
  { id: 'hardware', title: 'Hardware', fields: ['accelerator', 'smp', 'memsize', 'firmware', 'secureBoot', 'tpm', 'arch', 'qemu', 'machine', 'cpu'] },
  {
    id: 'storage', title: 'Storage & install',
    fields: ['disk', 'diskFormat', 'diskSize', 'diskIf', 'cdromIf', 'bootmode', 'instmode', 'instSrcCdrom', 'instSrcFdd', 'instSrcUsb', 'pxeRoot', 'pxeBootFile', 'kernel', 'initrd', 'append'],
  },
  { id: 'unattended', title: 'Automate the install', fields: ['unattended', 'vmUser', 'sshKey', 'passwordHash', 'timezone', 'mirror', 'targetDisk'] },
  { id: 'network', title: 'Network', fields: ['netmode', 'nic', 'hostfwd', 'vdeSwitch', 'tapDevice'] },
  { id: 'console', title: 'Console', fields: ['console', 'vncDisplay', 'vga', 'kbdLayout', 'qemuMonSock', 'argsAdd'] },
  { id: 'review', title: 'Review', fields: [] as string[] },
] as const;

const stepOf = (field: string | null | undefined) => {
  const i = STEPS.findIndex((s) => (s.fields as readonly string[]).includes(field ?? ''));
  return i < 0 ? STEPS.length - 1 : i;
};

function draftFor(t: Template, keep: Partial<WizardSpec>, host: HostReport | null | undefined): Draft {
  const d = t.defaults;
  const values: WizardSpec = { ...d, template: t.id, ...keep };
  // As create-conf does: KVM where it can run this guest, emulation otherwise.
  if (host) values.accelerator = host.kvm && kvmRuns(host.arch, String(d.arch ?? 'x86_64')) ? 'KVM' : 'QEMU';
  // As create-conf does: a template with a disk gets a new image named after the label.
  const disk: DiskChoice = d.diskIf !== 'none' && d.diskSize !== undefined ? 'new' : d.disk ? 'existing' : 'none';
  return { values, disk, existingDisk: d.disk ?? '', forwards: (d.hostfwd ?? []).map(parseForward) };
}

/** The spec as sent to the server: the draft with the disk and the forwards filled in. */
function specOf(draft: Draft): WizardSpec {
  const v: WizardSpec = { ...draft.values };
  const label = v.label ?? '';
  v.disk = draft.disk === 'new' ? (label ? `${label}.${v.diskFormat ?? 'qcow2'}` : '')
    : draft.disk === 'existing' ? draft.existingDisk : '';
  // The server lays the debootstrap VM's disk, boot and seed over these.
  if (draft.disk === 'debootstrap') {
    v.install = 'debootstrap';
    v.unattended = 'cloud-init';
  } else delete v.install;
  v.hostfwd = (v.netmode ?? 'user') === 'user' ? draft.forwards.map(formatForward) : [];
  // A switch chosen and then left for another network mode is not written into the config.
  if (v.netmode !== 'vde') delete v.vdeSwitch;
  for (const k of Object.keys(v) as (keyof WizardSpec)[]) if (v[k] === undefined) delete v[k];
  return v;
}

type PreviewState =
  | { status: 'idle' }
  | { status: 'checking'; last?: PreviewState }
  | { status: 'ok'; preview: Preview }
  | { status: 'error'; error: string; field: string | null };

/** The wizard's step in a history entry's state (next to the router's own, which Next copies in). */
const STEP_KEY = 'vmdeckWizardStep';
const MOUNT_KEY = 'vmdeckWizard';

export function Wizard({ initialTemplate, host: onHost = LOCAL }: { initialTemplate?: string; host?: string }) {
  // The host's own templates, check, VM names, preview and create (its server, through the central one).
  const on = useMemo(() => (onHost === LOCAL ? api : hostApi(onHost)), [onHost]);
  const router = useRouter();
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [host, setHost] = useState<HostReport | null>(null);
  const [usedMacs, setUsedMacs] = useState<ReadonlySet<string>>(new Set());
  const [loadError, setLoadError] = useState<string | null>(null);
  const [draft, setDraftState] = useState<Draft | null>(null);
  const [step, setStep] = useState(0);
  const [preview, setPreview] = useState<PreviewState>({ status: 'idle' });
  const [creating, setCreating] = useState<'create' | 'install' | null>(null);
  const [createError, setCreateError] = useState<{ error: string; field: string | null } | null>(null);
  const [advance, setAdvance] = useState<number | null>(null);
  // Fields the user has changed or left (blur), and steps whose Next was pressed.
  const [touched, setTouched] = useState<ReadonlySet<string>>(new Set());
  const [tried, setTried] = useState<ReadonlySet<number>>(new Set());
  const stepBox = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const [ts, h, vms] = await Promise.all([on.templates(), on.host().catch(() => null), on.vms().catch(() => [])]);
        if (!live) return;
        setTemplates(ts);
        setHost(h);
        const macs = new Set(vms.map((v) => v.mac.toLowerCase()));
        setUsedMacs(macs);
        const t = ts.find((x) => x.id === initialTemplate) ?? ts.find((x) => x.id === 'linux-x86_64') ?? ts[0];
        if (t) setDraftState(draftFor(t, { label: '', uuid: newUuid(), mac: newMac(macs), ip: '' }, h));
      } catch (e) {
        if (live) setLoadError((e as Error).message);
      }
    })();
    return () => {
      live = false;
    };
  }, [initialTemplate, on]);

  const spec = useMemo(() => (draft ? specOf(draft) : null), [draft]);
  const specKey = JSON.stringify(spec);

  useEffect(() => {
    if (!spec) return;
    // Without a label the server can only say that it is required (its words);
    // asking it would log a 400 on every keystroke elsewhere.
    if (!spec.label) {
      setPreview({ status: 'error', error: 'label: is required', field: 'label' });
      return;
    }
    const ctl = new AbortController();
    setPreview((p) => (p.status === 'checking' ? p : { status: 'checking', last: p }));
    const timer = setTimeout(async () => {
      try {
        setPreview({ status: 'ok', preview: await on.preview(spec, ctl.signal) });
      } catch (e) {
        if (ctl.signal.aborted) return;
        const err = e as ApiError;
        setPreview({ status: 'error', error: err.message, field: err.field ?? null });
      }
    }, 250);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
    // specKey stands for spec: a new object with the same content is no change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [specKey]);

  // While a new answer is on its way, the last one stays on screen.
  const settled = preview.status === 'checking' ? preview.last ?? { status: 'idle' as const } : preview;
  const previewError = settled.status === 'error' ? settled : null;
  const errorStepOf = previewError ? stepOf(previewError.field) : -1;
  // An empty field's refusal waits until it was touched, its step's Next pressed, or the review.
  const previewValue = previewError?.field && spec ? (spec as Record<string, unknown>)[previewError.field] : undefined;
  const waiting = previewError !== null && previewError.field !== null && (previewValue === undefined || previewValue === '')
    && !touched.has(previewError.field) && !tried.has(errorStepOf) && step !== STEPS.length - 1;
  const shownError = createError ?? (waiting ? null : previewError);
  const errorStep = shownError ? stepOf(shownError.field) : -1;

  // A pending "Next" goes ahead once the answer is in, unless it names this step.
  useEffect(() => {
    if (advance === null || preview.status === 'checking') return;
    setAdvance(null);
    if (step !== advance) return;
    if (errorStepOf === advance) setTried((t) => new Set(t).add(advance));
    else if (errorStep !== advance) goTo(advance + 1);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [advance, preview.status]);

  // Each step an entry of the browser's history: its Back and Forward go from step to step, what was entered kept.
  // This wizard's own entries (a wizard mounted anew, for another host, has others).
  const mountId = useRef('');
  useEffect(() => {
    mountId.current = Math.random().toString(36).slice(2);
    // The router's state kept beside it (on a first load this runs before the router patches history to copy it).
    window.history.replaceState({ ...window.history.state, [STEP_KEY]: 0, [MOUNT_KEY]: mountId.current }, '');
    // Before the router's own listener (capture): a step's entry is this page, whose state the
    // router would rebuild (what was entered gone); any other entry is the router's to go to.
    const onPop = (e: PopStateEvent) => {
      const state = e.state as Record<string, unknown> | null;
      const at = state?.[STEP_KEY];
      if (state?.[MOUNT_KEY] !== mountId.current || typeof at !== 'number' || at < 0 || at >= STEPS.length) return;
      e.stopImmediatePropagation();
      setStep(at);
    };
    window.addEventListener('popstate', onPop, { capture: true });
    return () => window.removeEventListener('popstate', onPop, { capture: true });
  }, []);

  const goTo = (i: number, focusField?: string) => {
    if (i !== step) window.history.pushState({ ...window.history.state, [STEP_KEY]: i, [MOUNT_KEY]: mountId.current }, '');
    setStep(i);
    requestAnimationFrame(() => {
      const el = (focusField && document.getElementById(fieldId(focusField)))
        || stepBox.current?.querySelector<HTMLElement>('input:not([disabled]), select, textarea, button[data-autofocus]');
      el?.focus();
    });
  };

  if (loadError) return <p role="alert" className="p-4 text-danger">{loadError}</p>;
  if (!templates || !draft || !spec) return <p className="p-4 text-muted">Loading templates…</p>;

  const template = templates.find((t) => t.id === draft.values.template) ?? templates[0];
  // A field the user changed counts as touched at once: emptied on purpose, it says what it needs.
  const touch = (names: string[]) => {
    if (names.some((n) => !touched.has(n))) setTouched((t) => new Set([...t, ...names]));
  };
  const setDraft = (patch: Partial<Draft>) => {
    setCreateError(null);
    if ('existingDisk' in patch) touch(['disk']);
    setDraftState((d) => (d ? { ...d, ...patch } : d));
  };
  const set = (patch: Partial<WizardSpec>) => {
    setCreateError(null);
    touch(Object.keys(patch));
    setDraftState((d) => (d ? { ...d, values: { ...d.values, ...patch } } : d));
  };
  const chooseTemplate = (t: Template) => {
    const v = draft.values;
    setCreateError(null);
    setDraftState(draftFor(t, { label: v.label, uuid: v.uuid, mac: v.mac, ip: v.ip, netmask: v.netmask, gateway: v.gateway }, host));
  };

  const props: StepProps = { draft, set, setDraft, template, templates, host, usedMacs, chooseTemplate, onHost };
  const current = STEPS[step];
  const last = step === STEPS.length - 1;
  const checking = preview.status === 'checking';
  const blocked = errorStep === step && !last && !checking;

  const create = async (install: boolean) => {
    const label = spec.label ?? '';
    setCreating(install ? 'install' : 'create');
    setCreateError(null);
    let startError: string | undefined;
    try {
      // A debootstrap disk is built installed: its first start boots it (its own kernel), no install source.
      const start: StartOptions = draft.disk === 'debootstrap' ? {} : { instmode: true };
      ({ startError } = await on.create(spec, { createImage: draft.disk === 'new', ...(install ? { start } : {}) }));
    } catch (e) {
      const err = e as ApiError;
      setCreateError({ error: err.message, field: err.field ?? null });
      setCreating(null);
      return;
    }
    // Made, whether or not it started: its page says why it did not (and what keeps it from starting).
    const page = `/vms/${encodeURIComponent(qualify(label, onHost))}`;
    if (startError) sessionStorage.setItem(startErrorKey(qualify(label, onHost)), startError);
    router.push(install && !startError ? `${page}?tab=${spec.console === 'VNC' ? 'vnc' : spec.console === 'CLI0' ? 'cli' : 'serial'}` : page);
  };

  return (
    <FieldErrors.Provider value={{ errorField: shownError?.field ?? null, error: shownError?.error ?? null }}>
      <div className="flex min-h-0 flex-1 flex-col">
        <div className="flex shrink-0 items-center gap-4 border-b border-line px-3 py-2">
          <h1 className="text-sm font-semibold">New virtual machine</h1>
          <HostChoice host={onHost} path="/vms/new" id="wizard-host" />
          <ol className="flex min-w-0 items-center gap-0.5 overflow-x-auto whitespace-nowrap" aria-label="Steps">
            {STEPS.map((s, i) => (
              <li key={s.id}>
                <button
                  type="button"
                  onClick={() => goTo(i)}
                  aria-current={i === step ? 'step' : undefined}
                  className={`flex items-center gap-1.5 rounded px-2 py-1 text-xs ${i === step ? 'bg-sunken font-medium text-fg' : 'text-muted hover:bg-sunken hover:text-fg'}`}
                >
                  <span className={`grid size-4 place-items-center rounded-full text-[10px] ${i === step ? 'bg-accent text-accent-fg' : 'bg-sunken'}`}>{i + 1}</span>
                  {s.title}
                  {errorStep === i && <span className="size-1.5 rounded-full bg-danger" aria-label="has a problem" />}
                </button>
              </li>
            ))}
          </ol>
        </div>

        <div className="flex min-h-0 flex-1">
          <form
            className="flex min-h-0 min-w-0 flex-1 flex-col"
            aria-labelledby="step-title"
            noValidate
            onBlur={(e) => {
              const name = (e.target as Element).getAttribute('name');
              if (name && !touched.has(name)) setTouched((t) => new Set(t).add(name));
            }}
            onSubmit={(e) => {
              e.preventDefault();
              if (last || blocked) return;
              // Typed and pressed Enter at once: go on when the server has answered.
              if (checking) setAdvance(step);
              else if (errorStepOf === step && previewError) {
                // An empty field this step needs: now it says so.
                setTried((t) => new Set(t).add(step));
                goTo(step, previewError.field ?? undefined);
              } else goTo(step + 1);
            }}
          >
            <div ref={stepBox} className="min-h-0 flex-1 overflow-auto px-5 py-4">
              <h2 id="step-title" className="mb-3 text-sm font-semibold">{current.title}</h2>
              {current.id === 'template' && <TemplateStep {...props} />}
              {current.id === 'identity' && <IdentityStep {...props} />}
              {current.id === 'hardware' && <HardwareStep {...props} />}
              {current.id === 'storage' && <StorageStep {...props} />}
              {current.id === 'unattended' && <UnattendedStep {...props} />}
              {current.id === 'network' && <NetworkStep {...props} />}
              {current.id === 'console' && <ConsoleStep {...props} />}
              {current.id === 'review' && (
                <ReviewStep
                  {...props}
                  spec={spec}
                  preview={settled.status === 'ok' ? settled.preview : null}
                  checking={preview.status === 'checking'}
                  error={shownError}
                  errorStepTitle={shownError && errorStep !== step ? STEPS[errorStep].title : null}
                  goToError={() => shownError && goTo(errorStep, shownError.field ?? undefined)}
                />
              )}
              {!last && shownError && errorStep < step && (
                <p role="alert" className="mt-4 rounded border border-danger/40 px-2 py-1.5 text-xs text-danger">
                  {STEPS[errorStep].title}: {shownError.error}{' '}
                  <button type="button" className="underline" onClick={() => goTo(errorStep, shownError.field ?? undefined)}>Fix it</button>
                </p>
              )}
            </div>
            {draft.disk === 'debootstrap' && onHost === LOCAL && <CreateProgress label={spec.label ?? ''} active={creating !== null} />}
            <div className="flex shrink-0 items-center gap-2 border-t border-line bg-panel px-5 py-2">
              <Link href="/" className="btn">Cancel</Link>
              <span className="ml-auto text-xs text-muted" aria-live="polite">
                {preview.status === 'checking' ? 'checking…' : settled.status === 'ok' && !shownError ? 'the server accepts this' : ''}
              </span>
              <button type="button" className="btn" disabled={step === 0} onClick={() => goTo(step - 1)}>Back</button>
              {!last ? (
                <button type="submit" className="btn btn-primary" disabled={blocked} aria-busy={advance !== null || undefined}>Next</button>
              ) : (
                <>
                  <button
                    type="button"
                    className="btn"
                    disabled={creating !== null || settled.status !== 'ok' || preview.status === 'checking'}
                    onClick={() => create(true)}
                    title={draft.disk === 'debootstrap' ? 'Create (the disk is built installed), then start it' : `Create, then boot the install source (${spec.instmode ?? 'CD'})`}
                  >
                    {creating === 'install' ? 'Creating…' : draft.disk === 'debootstrap' ? 'Create and start' : 'Create and install'}
                  </button>
                  <button
                    type="button"
                    className="btn btn-primary"
                    disabled={creating !== null || settled.status !== 'ok' || preview.status === 'checking'}
                    onClick={() => create(false)}
                  >
                    {creating === 'create' ? 'Creating…' : 'Create'}
                  </button>
                </>
              )}
            </div>
          </form>
          <Summary spec={spec} template={template} disk={draft.disk} />
        </div>
      </div>
    </FieldErrors.Provider>
  );
}

/** What the VM is so far, beside every step. */
function Summary({ spec, template, disk }: { spec: WizardSpec; template: Template; disk: DiskChoice }) {
  const rows: [string, React.ReactNode][] = [
    ['Template', template.name],
    ['Label', spec.label || <span className="text-muted">—</span>],
    ['Machine', `${spec.arch ?? ''} ${spec.machine ?? ''}`.trim()],
    ['Accelerator', spec.accelerator ?? '—'],
    ['CPUs / memory', `${spec.smp ?? '?'} / ${spec.memsize ?? '?'} MiB`],
    ['Disk', disk === 'new' ? `new ${spec.diskFormat ?? 'qcow2'}, ${spec.diskSize ?? ''}`
      : disk === 'existing' ? spec.disk || '—' : disk === 'debootstrap' ? `Debian built by mmdebstrap, ${spec.diskSize ?? ''}` : 'none'],
    // A debootstrap VM boots its own kernel from its disk, built installed (the server's debootstrapValues).
    ['Boots from', disk === 'debootstrap' ? 'its kernel (KERNEL)' : spec.bootmode ?? '—'],
    ['Installs from', disk === 'debootstrap' ? 'built by mmdebstrap' : spec.instmode ?? '—'],
    ['Network', spec.netmode === 'none' ? 'none' : `${spec.netmode === 'vde' ? `vde ${spec.vdeSwitch || '?'}` : spec.netmode ?? 'user'} · ${spec.nic ?? ''}`],
    ['Console', spec.console ?? '—'],
  ];
  return (
    <aside aria-label="Summary" className="hidden w-64 shrink-0 overflow-auto border-l border-line bg-panel px-3 py-4 lg:block">
      <h2 className="mb-2 text-xs font-semibold uppercase tracking-wide text-muted">Summary</h2>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-xs">
        {rows.map(([k, v]) => (
          <div key={k} className="contents">
            <dt className="text-muted">{k}</dt>
            <dd className="min-w-0 truncate" title={typeof v === 'string' ? v : undefined}>{v}</dd>
          </div>
        ))}
      </dl>
    </aside>
  );
}
