// The REST API of SPEC.md. Each handler reads its input, calls the same
// server/ function as the CLI (one validation, one error text) and returns
// what that function returns.
import { ENV_OPTIONS } from '../../lib/options';
import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { checkSnapshotName } from '../../lib/snapshots';
import { switchNameError } from '../../lib/net';
import { CONSOLES, labelError } from '../../lib/spec';
import type { VmInfo } from '../../lib/vm';
import type { Auth } from '../auth';
import { checkHost } from '../check';
import { cloneVm } from '../clone';
import { confinePath, confineStart } from '../confine';
import { addCd, addDisk, addNic, changeDrive, removeCd, removeDisk, removeNic, resizeDisk, setDiskOptions } from '../devices';
import { editVm, vmSettings } from '../edit';
import { badInput, conflict, notFound } from '../errors';
import { bases, runDir } from '../paths';
import { REPO } from '../repo';
import { sendKeys, typeText } from '../keys';
import { expectScreen, expectSerial, runScript, typeInto } from '../automation';
import { autostartVms, setAutostart, unitStatus, vmAutostart } from '../autostart';
import { changeMedia, ejectMedia, queryMedia } from '../media';
import { listMedia, uploadMedia } from '../media-library';
import { cancelSwitch, createSwitch, listSwitches, switchInfo } from '../net';
import { applyStatus, deleteVm, resolveOrOrphan, runningUnlisted, startVm, stopVm, vmStatus, withStatus, type StartOptions, type StopMode } from '../runner';
import { resolveVm, runtimeFacts } from '../runtime';
import { screenshot } from '../screen';
import { deleteSnapshot, listSnapshots, loadSnapshot, saveSnapshot } from '../snapshots';
import { createVm, enumerate, filterVmstate, previewVm, readVmFiles, wrapperCheck, wrapperPrint, type CreateRequest } from '../store';
import { loadCatalog } from '../templates';
import { startCliSession } from '../ws/consoles';
import { streamEvents } from './events';
import { listTasks } from '../tasks';
import { hostStats, recentCpu, vmStats } from '../stats';
import { Json, Reply, Router, STREAMED, type ApiRequest } from './router';

const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string;

type Body = Record<string, unknown>;

function optString(body: Body, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badInput(field, `${field}: must be text`);
  return v;
}

function reqString(body: Body, field: string): string {
  const v = optString(body, field);
  if (v === undefined || v === '') throw badInput(field, `${field}: is required`);
  return v;
}

function optBoolean(body: Body, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badInput(field, `${field}: must be true or false`);
  return v;
}

/** The VM with its current state. */
async function vmWithStatus(label: string): Promise<VmInfo> {
  const [vm] = await withStatus([await resolveVm(label)]);
  return vm;
}

function startRequest(body: Body): StartOptions {
  const consoleMode = optString(body, 'console')?.toUpperCase();
  if (consoleMode !== undefined && !(CONSOLES as readonly string[]).includes(consoleMode)) {
    throw badInput('console', `console: '${consoleMode}' is not one of ${CONSOLES.join(', ')}`);
  }
  // Paths and their modes: no longer than a path may be, no line breaks or other control characters.
  const option = (field: string) => {
    const v = optString(body, field);
    if (v !== undefined && (v.length > 8192 || /[\x00-\x1f\x7f]/.test(v))) throw badInput(field, `${field}: must be one line of at most 8192 characters (MODE%PATH…)`);
    return v;
  };
  const instmode = body.instmode === true ? true : option('instmode');
  return {
    console: consoleMode,
    bootmode: option('bootmode'),
    instmode: instmode === '' ? undefined : instmode,
    kernelmode: option('kernelmode'),
    reuse: optBoolean(body, 'reuse'),
  };
}

/**
 * Starts a VM. Console CLI or CLI0 means a terminal: the server holds it as a
 * pty, and the browser reaches it on /ws/vms/:label/cli.
 */
async function start(vm: VmInfo, request: StartOptions): Promise<void> {
  await confineStart(request, vm.dir);
  const consoleMode = request.console ?? vm.console.toUpperCase();
  if (consoleMode === 'CLI' || consoleMode === 'CLI0') {
    const status = await vmStatus(vm);
    if (status.state === 'running' || status.state === 'paused') {
      if (request.reuse) return;
      throw conflict(`label: VM '${vm.label}' is already running (pid ${status.pid ?? '?'})`, 'label');
    }
    await startCliSession(vm, { ...request, console: consoleMode });
  } else {
    await startVm(vm.label, { ...request, console: consoleMode });
  }
}

/** Keys of a create request that are not fields of the VM spec. */
const CREATE_OPTIONS = new Set(['label', 'template', 'base', 'force', 'createImage', 'start', 'env', 'install']);

/** A VM spec from the API: the spec's fields, plus what create-conf's options say. */
function createRequest(body: Body): CreateRequest & { start?: boolean | StartOptions } {
  // JSON's "__proto__" is an own key of the body, which the spec's check of unknown fields does not see.
  if (Object.hasOwn(body, '__proto__')) throw badInput('__proto__', "__proto__: unknown field '__proto__'");
  const values = Object.fromEntries(Object.entries(body).filter(([k]) => !CREATE_OPTIONS.has(k)));
  const { start: startValue, env } = body;
  const base = optString(body, 'base');
  if (base !== undefined && !bases().includes(resolve(base))) {
    throw badInput('base', `base: '${base}' is not one of the bases (${bases().join(', ')}); add it to VMDECK_BASES`);
  }
  let envValues: Record<string, string> | undefined;
  if (env !== undefined) {
    if (typeof env !== 'object' || env === null || Array.isArray(env) || Object.values(env).some((v) => typeof v !== 'string')) {
      throw badInput('env', 'env: must be an object of NAME: "value" (create-conf\'s environment options)');
    }
    envValues = env as Record<string, string>;
    // As create-conf refuses NAME=value it has no option for (a typo such as MEMSZE was dropped without a word).
    const unknown = Object.keys(envValues).find((name) => !ENV_OPTIONS.some((o) => o.env === name));
    if (unknown !== undefined) throw badInput('env', `env: ${JSON.stringify(unknown)} is not an option of create-conf (vmdeck create-conf --levo lists them)`);
  }
  let startOption: boolean | StartOptions | undefined;
  if (typeof startValue === 'object' && startValue !== null && !Array.isArray(startValue)) startOption = startRequest(startValue as Body);
  else startOption = optBoolean(body, 'start');
  return {
    label: reqString(body, 'label'),
    template: optString(body, 'template'),
    base,
    env: envValues,
    values,
    createImage: optBoolean(body, 'createImage'),
    force: optBoolean(body, 'force'),
    install: optString(body, 'install'),
    start: startOption,
    confined: true,
  };
}

const deviceIndexError = (n: string) => (/^\d{1,2}$/.test(n) ? null : `n: '${n}' is not a device number (0, 1, …)`);
const driveError = (d: string) => (/^(cd\d{1,2}|fd[ab])$/.test(d) ? null : `drive: '${d}' is not a drive name (cd1, cd2, …, fda, fdb)`);

const TAIL_MAX = 4 * 1024 * 1024;

/**
 * GET serial.log: all that serial0 printed (SPEC), streamed, up to its size
 * when asked; `?bytes=N` is only its last N bytes; `?download=1` makes it an
 * attachment named <label>-serial.log.
 */
async function serialLog(r: ApiRequest, vm: VmInfo): Promise<typeof STREAMED> {
  const bytesParam = r.query.get('bytes');
  let tail: number | undefined;
  if (bytesParam !== null) {
    tail = Number(bytesParam);
    if (!Number.isInteger(tail) || tail < 1 || tail > TAIL_MAX) throw badInput('bytes', `bytes: must be a whole number from 1 to ${TAIL_MAX}`);
  }
  const download = r.query.get('download');
  if (download !== null && download !== '1' && download !== '0') throw badInput('download', `download: '${download}' is not 1 or 0`);
  const path = join(runDir(vm.label), 'serial.log');
  const missing = () => notFound(`serial.log: VM '${vm.label}' has no serial log (${path}); it is written while the VM runs`, 'label');
  // One open file: its size now is where the answer ends, however much QEMU appends meanwhile.
  const fh = await open(path, 'r').catch(() => { throw missing(); });
  let size: number;
  try {
    size = (await fh.stat()).size;
  } catch (e) {
    await fh.close();
    throw e;
  }
  const start = tail === undefined ? 0 : Math.max(0, size - tail);
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(size - start),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  if (download === '1') headers['Content-Disposition'] = `attachment; filename="${vm.label.replace(/[^A-Za-z0-9._-]/g, '_')}-serial.log"`;
  if (r.req.method === 'HEAD' || size === start) {
    await fh.close();
    r.res.writeHead(200, headers).end();
    return STREAMED;
  }
  const stream = createReadStream('', { fd: fh, start, end: size - 1 });
  r.res.writeHead(200, headers);
  stream.on('error', () => r.res.destroy());
  r.res.on('close', () => stream.destroy());
  stream.pipe(r.res);
  return STREAMED;
}

/** ?label=L&limit=N of GET /api/tasks, checked as the CLI checks them. */
function taskQuery(q: URLSearchParams): { label?: string; limit?: number } {
  const label = q.get('label') ?? undefined;
  if (label !== undefined) {
    const problem = labelError(label);
    if (problem) throw badInput('label', problem);
  }
  const limitParam = q.get('limit');
  const limit = limitParam === null ? undefined : Number(limitParam);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 10000)) throw badInput('limit', 'limit: must be a whole number from 1 to 10000');
  return { label, limit };
}

export function apiRoutes(): Router {
  // Every :label is a label (never a path); :name a snapshot or switch name, checked before use.
  const snapshot = { params: { name: checkSnapshotName } };
  const network = { params: { name: switchNameError } };
  return new Router({ label: labelError })
    .add('GET', '/api/health', async () => ({ ok: true, version: VERSION }), { auth: false })
    .add('GET', '/api/host', () => checkHost())
    .add('GET', '/api/templates', () => loadCatalog())
    .add('GET', '/api/vms', async (r) => {
      const found = await enumerate();
      // A VM that runs with its config moved or deleted (as `vmdeck list` has it), with a warning saying so.
      const unlisted = await runningUnlisted(new Set(found.map((v) => v.label)));
      return withStatus(filterVmstate([...found, ...unlisted], r.query.get('vmstate') ?? undefined));
    })
    .add('POST', '/api/vms/preview', async (r) => {
      const { start: _s, ...request } = createRequest(await r.body());
      const preview = await previewVm(request);
      return { spec: preview.spec, files: preview.files, argv: preview.argv, warnings: preview.warnings };
    })
    .add('POST', '/api/vms', async (r) => {
      const { start: startOption, ...request } = createRequest(await r.body());
      const created = await createVm(request);
      // Created is created: a start that fails (a missing ISO, too little
      // memory) is reported beside the new VM, not as a failed request.
      let startError: string | undefined;
      if (startOption) {
        try {
          await start(created.vm, startOption === true ? {} : startOption);
        } catch (e) {
          startError = (e as Error).message;
        }
      }
      return new Json(201, {
        vm: await vmWithStatus(created.vm.label), kept: created.kept, imageCreated: created.imageCreated, problem: created.problem, warnings: created.warnings,
        ...(startError ? { startError } : {}),
      });
    })
    .add('GET', '/api/vms/:label', async (r) => {
      const found = await resolveOrOrphan(r.params.label);
      if (found.config === '') {
        // Running with its config gone (runningOrphan's, no config path): its consoles and stop work by its label; there are no files, command or settings to read.
        const status = await vmStatus(found, { sample: true });
        return { vm: applyStatus(found, status), files: [], argv: null, argvError: found.warnings?.at(-1), runtime: await runtimeFacts(found.label, status), autostart: null };
      }
      // The VM page's look: a fresh screen sample tells a guest that makes no progress.
      const status = await vmStatus(found, { sample: true });
      const vm = applyStatus(found, status);
      // The wrapper's --print and --check, the files and the settings are read at once (two wrapper runs side by side).
      const stopped = vm.state === 'stopped' || vm.state === 'suspended';
      // Deleted while this page was being read.
      const gone = (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') throw notFound(`label: no VM '${vm.label}' (deleted)`, 'label');
        throw e;
      };
      const [files, runtime, printed, problem, settings, autostart] = await Promise.all([
        readVmFiles(vm),
        runtimeFacts(vm.label, status),
        wrapperPrint(vm).then((argv) => ({ argv }), (e: Error) => ({ argv: null, argvError: e.message })),
        // A stopped VM that could not start as configured (a missing ISO or kernel, a dead switch): the wrapper's --check says why.
        stopped ? wrapperCheck(vm, [], vm.accelerator) : null,
        vmSettings(vm).catch(gone),
        vmAutostart(vm).catch(gone),
      ]);
      const { argv } = printed;
      const argvError = 'argvError' in printed ? printed.argvError : undefined;
      return { vm, files, argv, ...(argvError ? { argvError } : {}), ...(problem ? { problem } : {}), runtime, settings, autostart };
    })
    .add('PATCH', '/api/vms/:label', async (r) => {
      // Spec fields to change; dryRun: true answers with the lines it would write.
      const { dryRun, ...values } = await r.body();
      if (dryRun !== undefined && typeof dryRun !== 'boolean') throw badInput('dryRun', 'dryRun: must be true or false');
      const { vm, ...outcome } = await editVm(r.params.label, values, { dryRun, confined: true });
      return { vm: await vmWithStatus(vm.label), ...outcome };
    })
    .add('GET', '/api/vms/:label/disks', async (r) => (await resolveVm(r.params.label)).disks)
    .add('POST', '/api/vms/:label/disks', async (r) => {
      const body = await r.body();
      const file = optString(body, 'file');
      // An existing image given through the API lies under the bases or the media directories.
      if (file) await confinePath('file', file, (await resolveVm(r.params.label)).dir);
      const options = Object.fromEntries(['readOnly', 'cache', 'discard', 'bootIndex'].filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
      const o = await addDisk(r.params.label, { size: optString(body, 'size'), file, interface: optString(body, 'interface'), options });
      return new Json(201, { ...o, vm: await vmWithStatus(o.vm.label) });
    })
    .add('PATCH', '/api/vms/:label/disks/:n', async (r) => {
      // {readOnly, cache, discard, bootIndex}: pending until the next start on a running VM.
      const o = await setDiskOptions(r.params.label, Number(r.params.n), await r.body());
      return { ...o, vm: await vmWithStatus(o.vm.label) };
    }, { params: { n: deviceIndexError } })
    .add('POST', '/api/vms/:label/disks/:n/resize', async (r) => {
      const body = await r.body();
      const o = await resizeDisk(r.params.label, Number(r.params.n), reqString(body, 'size'), optString(body, 'shrink'));
      return { ...o, vm: await vmWithStatus(o.vm.label) };
    }, { params: { n: deviceIndexError } })
    .add('DELETE', '/api/vms/:label/disks/:n', async (r) => {
      const o = await removeDisk(r.params.label, Number(r.params.n));
      return { ...o, vm: await vmWithStatus(o.vm.label) };
    }, { params: { n: deviceIndexError } })
    .add('GET', '/api/vms/:label/cds', async (r) => { const vm = await resolveVm(r.params.label); return { cds: vm.cds, floppies: vm.floppies }; })
    .add('POST', '/api/vms/:label/cds', async (r) => {
      const body = await r.body();
      const iso = optString(body, 'iso');
      if (iso) await confinePath('iso', iso, (await resolveVm(r.params.label)).dir);
      const o = await addCd(r.params.label, { iso, interface: optString(body, 'interface') });
      return new Json(201, { ...o, vm: await vmWithStatus(o.vm.label) });
    })
    .add('DELETE', '/api/vms/:label/cds/:n', async (r) => {
      const o = await removeCd(r.params.label, Number(r.params.n));
      return { ...o, vm: await vmWithStatus(o.vm.label) };
    }, { params: { n: deviceIndexError } })
    .add('PATCH', '/api/vms/:label/drives/:drive', async (r) => {
      // {path}: the image in CD/DVD drive cdN (N ≥ 1) or floppy drive fda/fdb; '' empties it.
      const o = await changeDrive(r.params.label, r.params.drive, optString(await r.body(), 'path') ?? '', { confined: true });
      return { ...o, vm: await vmWithStatus(o.vm.label) };
    }, { params: { drive: driveError } })
    .add('DELETE', '/api/vms/:label/nics/:n', async (r) => {
      const o = await removeNic(r.params.label, Number(r.params.n));
      return { ...o, vm: await vmWithStatus(o.vm.label) };
    }, { params: { n: deviceIndexError } })
    .add('POST', '/api/vms/:label/clone', async (r) => {
      const body = await r.body();
      const o = await cloneVm(r.params.label, reqString(body, 'label'), { linked: optBoolean(body, 'linked') });
      return new Json(201, { ...o, vm: await vmWithStatus(o.vm.label) });
    })
    .add('GET', '/api/vms/:label/nics', async (r) => (await resolveVm(r.params.label)).nics)
    .add('POST', '/api/vms/:label/nics', async (r) => {
      const body = await r.body();
      const o = await addNic(r.params.label, { model: optString(body, 'model'), net: optString(body, 'net') });
      return new Json(201, { ...o, vm: await vmWithStatus(o.vm.label) });
    })
    .add('DELETE', '/api/vms/:label', async (r) => {
      const disks = r.query.get('disks');
      if (disks !== null && disks !== 'delete' && disks !== 'keep') throw badInput('disks', `disks: '${disks}' is not one of delete, keep`);
      return deleteVm(r.params.label, disks === 'delete');
    })
    .add('POST', '/api/vms/:label/start', async (r) => {
      const vm = await resolveVm(r.params.label);
      await start(vm, startRequest(await r.body()));
      return { vm: await vmWithStatus(vm.label) };
    })
    .add('POST', '/api/vms/:label/stop', async (r) => {
      const body = await r.body();
      const mode = reqString(body, 'mode') as StopMode;
      // stopVm checks the mode and the timeout, as for `vmdeck cancel`.
      const status = await stopVm(r.params.label, { mode, timeout: body.timeout as number | undefined, force: optBoolean(body, 'force') });
      // A poweroff the guest ignored leaves it running: the reason says so, as `vmdeck cancel` does.
      // A VM stopped whose config was removed while it ran is stopped all the same: no 404 for it.
      const vm = await vmWithStatus(r.params.label).catch((e: unknown) => {
        if ((e as { status?: number }).status === 404) return undefined;
        throw e;
      });
      return { ...(vm ? { vm } : {}), state: status.state, ...(status.reason ? { reason: status.reason } : {}) };
    })
    .add('GET', '/api/vms/:label/snapshots', (r) => listSnapshots(r.params.label))
    .add('POST', '/api/vms/:label/snapshots', async (r) => {
      const name = reqString(await r.body(), 'name');
      return new Json(201, (await saveSnapshot(r.params.label, name)) ?? { name });
    })
    .add('DELETE', '/api/vms/:label/snapshots/:name', async (r) => (await deleteSnapshot(r.params.label, r.params.name)) ?? { deleted: r.params.name }, snapshot)
    .add('POST', '/api/vms/:label/snapshots/:name/load', async (r) => (await loadSnapshot(r.params.label, r.params.name)) ?? { loaded: r.params.name }, snapshot)
    .add('GET', '/api/vms/:label/media', (r) => queryMedia(r.params.label))
    .add('POST', '/api/vms/:label/media', async (r) => {
      const body = await r.body();
      const action = reqString(body, 'action');
      if (action === 'change') return (await changeMedia(r.params.label, reqString(body, 'path'), { confined: true })) ?? { ok: true };
      if (action === 'eject') return (await ejectMedia(r.params.label)) ?? { ok: true };
      throw badInput('action', `action: '${action}' is not one of change, eject`);
    })
    .add('POST', '/api/vms/:label/keys', async (r) => {
      const body = await r.body();
      if (body.keys !== undefined) {
        if (!Array.isArray(body.keys) || body.keys.length === 0 || body.keys.some((k) => typeof k !== 'string')) {
          throw badInput('keys', 'keys: must be a list of key names like ["ctrl", "alt", "delete"]');
        }
        return (await sendKeys(r.params.label, body.keys as string[])) ?? { ok: true };
      }
      // Pasted text: as it is, in the VM's keyboard layout.
      if (body.text !== undefined) return (await typeText(r.params.label, reqString(body, 'text'))) ?? { ok: true };
      throw badInput('keys', 'keys: give keys (a list of key names) or text');
    })
    .add('GET', '/api/vms/:label/screenshot', async (r) => new Reply(200, await screenshot(r.params.label), 'image/png'))
    .add('GET', '/api/vms/:label/serial.log', async (r) => serialLog(r, await resolveVm(r.params.label)))
    .add('GET', '/api/networks', () => listSwitches())
    .add('GET', '/api/networks/:name', (r) => switchInfo(r.params.name), network)
    .add('POST', '/api/networks', async (r) => {
      const body = await r.body();
      // The PXE tree is served to every guest on the switch by TFTP: held to the bases and media directories, as a VM's PXEROOT is.
      const pxe = optString(body, 'pxe');
      if (pxe !== undefined) {
        if (!isAbsolute(pxe)) throw badInput('pxe', `pxe: '${pxe}' is not an absolute path (a PXE tree under the bases or the media directories)`);
        await confinePath('pxe', pxe, '/');
      }
      return new Json(201, await createSwitch(reqString(body, 'name'), {
        tap: optString(body, 'tap'), bridge: optString(body, 'bridge'),
        dhcp: optBoolean(body, 'dhcp'), pxe, bootfile: optString(body, 'bootfile'), confined: true,
      }));
    })
    .add('DELETE', '/api/networks/:name', async (r) => {
      const force = r.query.get('force');
      return cancelSwitch(r.params.name, { force: force === '1' || force === 'true' });
    }, network)
    .add('GET', '/api/events', (r) => streamEvents(r.req, r.res))
    .add('GET', '/api/tasks', async (r) => listTasks(taskQuery(r.query)))
    .add('GET', '/api/vms/:label/stats', (r) => vmStats(r.params.label, r.query.get('range') ?? '1h'))
    .add('GET', '/api/stats/cpu', async () => recentCpu())
    .add('GET', '/api/host/stats', () => hostStats())
    .add('POST', '/api/vms/:label/type', async (r) => {
      const body = await r.body();
      await typeInto(r.params.label, reqString(body, 'text'), { serial: optBoolean(body, 'serial') });
      return { ok: true };
    })
    .add('POST', '/api/vms/:label/expect', async (r) => {
      const body = await r.body();
      const timeout = body.timeout;
      if (timeout !== undefined && typeof timeout !== 'number') throw badInput('timeout', 'timeout: must be a number of seconds');
      const opts = { send: optString(body, 'send'), timeout };
      if (body.screen !== undefined) {
        if (body.serial !== undefined) throw badInput('screen', 'screen: wait for serial or screen, not both');
        return expectScreen(r.params.label, reqString(body, 'screen'), opts);
      }
      return expectSerial(r.params.label, reqString(body, 'serial'), opts);
    })
    .add('POST', '/api/vms/:label/script', async (r) => runScript(r.params.label, reqString(await r.body(), 'script')))
    .add('GET', '/api/autostart', async () => {
      const [vms, unit] = await Promise.all([autostartVms(), unitStatus()]);
      return { unit, vms: vms.map(({ vm, ...setting }) => ({ label: vm.label, ...setting })) };
    })
    .add('POST', '/api/vms/:label/autostart', async (r) => {
      const body = await r.body();
      return setAutostart(r.params.label, body.enabled as boolean, { order: body.order, delay: body.delay });
    })
    .add('GET', '/api/media', () => listMedia())
    // The image is the body itself (application/octet-stream), its file name in ?name=.
    .add('POST', '/api/media', async (r) => {
      try {
        return new Json(201, await uploadMedia(r.query.get('name') ?? '', r.req));
      } catch (e) {
        // The rest of a refused body is not read: the connection ends with the answer.
        if (!r.req.readableEnded) r.res.setHeader('Connection', 'close');
        throw e;
      }
    }, { rawBody: 'application/octet-stream' });
}

/** The dashboard's sessions: listed (never their cookies or secrets) and revocable; a logout or a token change ends them too. */
export function sessionRoutes(router: Router, auth: Auth): Router {
  const handle = { params: { handle: (v: string) => (/^[A-Za-z0-9_-]{1,64}$/.test(v) ? null : `handle: '${v}' is not a session handle`) } };
  return router
    .add('GET', '/api/sessions', async () => auth.sessions.list().map(({ handle: h, created, lastSeen, address }) => ({ handle: h, created, lastSeen, address })))
    .add('DELETE', '/api/sessions/:handle', async (r) => {
      if (!auth.sessions.revoke(r.params.handle)) throw notFound(`handle: no session '${r.params.handle}'`, 'handle');
      return { revoked: r.params.handle };
    }, handle);
}
