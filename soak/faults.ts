// Faults for `npm run soak` (and a short form in npm test): the server
// killed with SIGKILL in the middle of a create, a start, a suspend and
// console traffic, then started again; QEMU killed in the middle of a
// snapshot. What must hold: no half-written VM (a VM is listed whole or not
// at all, nothing but hidden temporaries of a dead create in the base, and
// those go at the next create), every VM that ran runs on (or is suspended
// whole), consoles come back, a disk that saw a killed snapshot is sound and
// its VM starts again.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { verdict } from '../bench/report';
import { demoVmSpec, sandbox, type Sandbox } from '../test/helpers/guest';
import { api, bearer, spawnServer, type ChildServer } from '../test/helpers/server';

export interface FaultFigures {
  rounds: number;
  /** One line per broken promise: what was done, what was found. */
  problems: string[];
  /** What each round found, e.g. "create killed at 120 ms: listed". */
  outcomes: string[];
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(100);
  }
}

const vmState = async (s: ChildServer, label: string) => (await api(s.base, 'GET', `/api/vms/${label}`)).json?.vm?.state as string | undefined;

/** Every entry of the base is a whole VM (its config, its wrapper) or a hidden temporary of a create. */
function halfWritten(sb: Sandbox): string[] {
  const base = join(sb.home, 'vms');
  if (!existsSync(base)) return [];
  return readdirSync(base).filter((d) => !d.startsWith('.')
    && !(existsSync(join(base, d, `${d}.ctys`)) && existsSync(join(base, d, `${d}.sh`))));
}

/** The serial console gives output: the first frame (recent output), then what the guest prints. */
function serialTicks(s: ChildServer, label: string, ms = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${s.base.replace('http', 'ws')}/ws/vms/${label}/serial`, { headers: bearer });
    let text = '';
    let frames = 0;
    const t = setTimeout(() => { ws.terminate(); reject(new Error(`serial of ${label}: no tick within ${ms / 1000} s (${JSON.stringify(text.slice(-200))})`)); }, ms);
    ws.on('message', (d: Buffer) => {
      if (frames++ === 0) return;
      text += d.toString('latin1');
      if (/tick-\d+/.test(text)) {
        clearTimeout(t);
        ws.close();
        resolve(text);
      }
    });
    ws.on('close', (code) => { clearTimeout(t); reject(new Error(`serial of ${label}: closed ${code}`)); });
    ws.on('error', () => undefined);
  });
}

export async function serverKills(rounds: number): Promise<FaultFigures> {
  const sb = sandbox('kills');
  const problems: string[] = [];
  const outcomes: string[] = [];
  const t0 = Date.now();
  const guest = demoVmSpec(128);
  let server = await spawnServer(sb);
  const restart = async () => {
    await server.kill();
    server = await spawnServer(sb);
  };
  try {
    // A guest printing all the time: console traffic whenever the server dies.
    const ticker = await api(server.base, 'POST', '/api/vms', { label: 'ticker', ...guest, start: true });
    if (ticker.status !== 201 || ticker.json.startError) throw new Error(`faults: the ticking VM did not start: ${ticker.text}`);
    const shell = new WebSocket(`${server.base.replace('http', 'ws')}/ws/vms/ticker/serial`, { headers: bearer });
    let booted = '';
    shell.on('message', (d: Buffer) => { booted += d.toString('latin1'); });
    await waitUntil('the ticking guest\'s shell', () => /guest:[^\r\n]*# /.test(booted), 120_000);
    shell.send('i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done\r');
    await waitUntil('the first tick', () => /tick-\d+/.test(booted));
    shell.close();
    for (let r = 0; r < rounds; r++) {
      const action = (['create', 'start', 'suspend', 'console'] as const)[r % 4];
      // Within the window each action takes here (a suspend of this small guest takes a few hundred ms).
      const delay = action === 'suspend' ? 40 + Math.floor(Math.random() * 120) : Math.floor(Math.random() * 400);
      const label = `k${r}`;
      let request: Promise<unknown> = Promise.resolve();
      if (action === 'create') {
        request = api(server.base, 'POST', '/api/vms', { label, ...guest }).catch(() => undefined);
      } else if (action === 'start') {
        const made = await api(server.base, 'POST', '/api/vms', { label, ...guest });
        if (made.status !== 201) throw new Error(`faults: ${label} was not made: ${made.text}`);
        request = api(server.base, 'POST', `/api/vms/${label}/start`, {}).catch(() => undefined);
      } else if (action === 'suspend') {
        const made = await api(server.base, 'POST', '/api/vms', { label, ...guest, start: true });
        if (made.status !== 201 || made.json.startError) throw new Error(`faults: ${label} did not start: ${made.text}`);
        await sleep(1500);
        request = api(server.base, 'POST', `/api/vms/${label}/stop`, { mode: 'suspend' }).catch(() => undefined);
      } else {
        // Three clients reading the ticks as the server dies.
        request = Promise.all([0, 1, 2].map(() => serialTicks(server, 'ticker').catch(() => undefined)));
      }
      await sleep(delay);
      await restart();
      void request;
      const listed = ((await api(server.base, 'GET', '/api/vms')).json as { label: string; state: string }[]);
      const half = halfWritten(sb);
      if (half.length) problems.push(`${action} killed at ${delay} ms: half-written in the base: ${half.join(', ')}`);
      const mine = listed.find((v) => v.label === label);
      let found = mine ? mine.state : 'not listed';
      if (action === 'suspend' && mine) {
        // The save goes on in QEMU without the server: it must end whole, either way.
        await waitUntil(`${label} after a suspend cut short`, async () => ['running', 'suspended'].includes((await vmState(server, label)) ?? ''), 30_000)
          .catch((e: Error) => problems.push(`suspend killed at ${delay} ms: ${label} is ${mine.state} (${e.message})`));
        found = (await vmState(server, label)) ?? 'gone';
        const dir = join(sb.home, 'vms', label);
        const parts = readdirSync(dir).filter((f) => f.includes('.suspend.part'));
        if (parts.length) problems.push(`suspend killed at ${delay} ms: ${parts.join(', ')} left behind`);
        if (found === 'suspended') {
          // Whole: the next start resumes it.
          const resumed = await api(server.base, 'POST', `/api/vms/${label}/start`, {});
          const state = resumed.json?.vm?.state;
          if (resumed.status !== 200 || state !== 'running') problems.push(`suspend killed at ${delay} ms: ${label} did not resume: ${resumed.status} ${state ?? resumed.text}`);
          else found = 'suspended, resumed';
        }
      }
      if (action === 'start' && mine && !['running', 'stopped'].includes(mine.state)) problems.push(`start killed at ${delay} ms: ${label} is ${mine.state}`);
      if (action === 'create' && mine && mine.state !== 'stopped') problems.push(`create killed at ${delay} ms: ${label} is ${mine.state}`);
      // The VM that ran through it all runs on, and its console comes back.
      if ((await vmState(server, 'ticker')) !== 'running') problems.push(`${action} killed at ${delay} ms: the ticking VM is ${await vmState(server, 'ticker')}`);
      else await serialTicks(server, 'ticker').catch((e: Error) => problems.push(`${action} killed at ${delay} ms: ${e.message}`));
      outcomes.push(`${action} killed at ${delay} ms: ${label} ${found}`);
      // Nothing of this round runs into the next.
      for (const v of ((await api(server.base, 'GET', '/api/vms')).json as { label: string; state: string }[])) {
        if (v.label !== 'ticker' && (v.state === 'running' || v.state === 'paused')) await api(server.base, 'POST', `/api/vms/${v.label}/stop`, { mode: 'force' });
      }
    }
    // A dead create's hidden temporary goes at the next create of its label.
    for (const r of Array.from({ length: rounds }, (_, i) => i).filter((i) => i % 4 === 0)) {
      await api(server.base, 'DELETE', `/api/vms/k${r}?disks=delete`);
      await api(server.base, 'POST', '/api/vms', { label: `k${r}`, ...guest, createImage: false });
    }
    const base = join(sb.home, 'vms');
    const leftovers = readdirSync(base).filter((d) => d.includes('.tmp-'));
    if (leftovers.length) problems.push(`temporaries of killed creates left after the next create: ${leftovers.join(', ')}`);
    await api(server.base, 'POST', '/api/vms/ticker/stop', { mode: 'force' });
    return { rounds, problems, outcomes, ms: Date.now() - t0 };
  } finally {
    await server.kill();
    sb.cleanup();
  }
}

/** QEMU killed while `savevm` writes: the disk is sound (qemu-img check), the VM starts again and boots. */
export async function snapshotKills(rounds: number): Promise<FaultFigures> {
  const sb = sandbox('snapkill');
  const problems: string[] = [];
  const outcomes: string[] = [];
  const t0 = Date.now();
  const server = await spawnServer(sb);
  try {
    // A server gone at once says what it said (a rehearsal of CI once met "fetch failed" here).
    const made = await api(server.base, 'POST', '/api/vms', { label: 'snap', ...demoVmSpec(256) })
      .catch((e: Error) => { throw new Error(`faults: the snapshot VM's create: ${e.message} (${(e.cause as Error | undefined)?.message ?? ''}); the server ${server.proc.exitCode ?? server.proc.signalCode ?? 'runs'}, said: ${server.output().slice(-800)}`); });
    if (made.status !== 201) throw new Error(`faults: the snapshot VM was not made: ${made.text}`);
    const disk = made.json.vm.disk as string;
    for (let r = 0; r < rounds; r++) {
      const started = await api(server.base, 'POST', '/api/vms/snap/start', {});
      if (started.status !== 200) { problems.push(`round ${r}: the VM did not start again: ${started.text}`); break; }
      await sleep(1000);
      const pid = Number(readFileSync(join(sb.run, 'snap', 'qemu.pid'), 'utf8').trim());
      const delay = Math.floor(Math.random() * 120);
      const saving = api(server.base, 'POST', '/api/vms/snap/snapshots', { name: `s${r}` });
      await sleep(delay);
      try { process.kill(pid, 'SIGKILL'); } catch { /* it had ended */ }
      const answer = await saving;
      const oneLine = typeof answer.json?.error !== 'string' || !answer.json.error.includes('\n');
      if (!oneLine) problems.push(`round ${r}: the refusal is not one line: ${answer.text}`);
      await waitUntil('QEMU gone', async () => (await vmState(server, 'snap')) === 'stopped').catch(async (e: Error) => { throw new Error(`${e.message}: ${(await api(server.base, 'GET', '/api/vms/snap')).text.slice(0, 600)} answer ${answer.status} ${answer.text}`); });
      let check = '';
      try {
        check = execFileSync('qemu-img', ['check', disk], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        const err = e as { status?: number; stdout?: string };
        // 3: leaked clusters only (space lost, nothing wrong); 2 or 1: corrupt or unreadable.
        check = err.stdout ?? '';
        if (err.status !== 3) problems.push(`round ${r} (killed at ${delay} ms): qemu-img check: ${check.trim().split('\n').pop()}`);
      }
      outcomes.push(`snapshot killed at ${delay} ms: answer ${answer.status}, disk ${/No errors/.test(check) ? 'clean' : /leaked/.test(check) ? 'leaked clusters only' : 'see above'}`);
    }
    const again = await api(server.base, 'POST', '/api/vms/snap/start', {});
    if (again.status !== 200) problems.push(`the VM does not start after the killed snapshots: ${again.text}`);
    else {
      const log = () => { try { return readFileSync(join(sb.run, 'snap', 'serial.log'), 'latin1'); } catch { return ''; } };
      await waitUntil('the guest\'s shell after the killed snapshots', () => /guest:[^\r\n]*# /.test(log()), 120_000)
        .catch((e: Error) => problems.push(e.message));
      await api(server.base, 'POST', '/api/vms/snap/stop', { mode: 'force' });
    }
    return { rounds, problems, outcomes, ms: Date.now() - t0 };
  } finally {
    await server.kill();
    sb.cleanup();
  }
}

export function printFaults(name: string, f: FaultFigures): boolean {
  const ok = f.problems.length === 0;
  console.log(`${name}: ${f.rounds} rounds in ${(f.ms / 1000).toFixed(1)} s: ${f.outcomes.join('; ')}`);
  for (const p of f.problems) console.log(`${name}:   ${p}`);
  console.log(`${name}: ${f.problems.length} broken promises ${verdict(ok)}`);
  return ok;
}
