// A running dashboard announces itself in `$VMDECK_RUN/server.json` (0600, in
// the private run root): {pid, host, port, startedAt}. `vmdeck console` and
// `vmdeck monitor` read it to attach through the server's console hub instead
// of QEMU's socket, which serves one client at a time and silently queues a
// second. The file is removed on a clean exit; one whose pid is gone is stale
// and ignored.
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRoot, trustedRunRoot, vmdeckHome } from './paths';
import { processStart } from './proc';

export interface ServerAnnouncement {
  pid: number;
  host: string;
  port: number;
  /** The UNIX socket of a `vmdeck serve --socket` (then port is 0). */
  socket?: string;
  /** ISO 8601. */
  startedAt: string;
  /** The process's start time (proc.ts processStart): a pid taken again since (another boot, a new process) is not the server. */
  pidStart?: number;
}

export const serverFile = (root = runRoot()) => join(root, 'server.json');
/** A socket server announces itself apart, so a dashboard on TCP and one for another host's dashboard can both run. */
export const socketServerFile = (root = runRoot()) => join(root, 'serve-socket.json');

/** Writes server.json for this process (atomically, 0600); resolves with the function that removes it again. */
export async function announceServer(host: string, port: number, socket?: string): Promise<() => Promise<void>> {
  const root = await trustedRunRoot();
  const file = socket === undefined ? serverFile(root) : socketServerFile(root);
  const pidStart = processStart(process.pid);
  const info: ServerAnnouncement = { pid: process.pid, host, port, ...(socket === undefined ? {} : { socket }), startedAt: new Date().toISOString(), ...(pidStart === undefined ? {} : { pidStart }) };
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(tmp, file);
  let removed = false;
  return async () => {
    if (removed) return;
    removed = true;
    // Only our own: another server may have announced itself since.
    const now = await readAnnouncement(file);
    if (now && now.pid === info.pid && now.port === info.port) await rm(file, { force: true });
  };
}

async function readAnnouncement(file: string): Promise<ServerAnnouncement | null> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as Partial<ServerAnnouncement>;
    if (!Number.isInteger(v.pid) || (v.pid as number) <= 0) return null;
    const socket = typeof v.socket === 'string' && v.socket.startsWith('/') ? v.socket : undefined;
    if (!Number.isInteger(v.port) || (v.port as number) < (socket ? 0 : 1) || (v.port as number) > 65535) return null;
    if (typeof v.host !== 'string') return null;
    return { pid: v.pid!, host: v.host, port: v.port!, ...(socket ? { socket } : {}), startedAt: String(v.startedAt ?? ''), ...(Number.isInteger(v.pidStart) ? { pidStart: v.pidStart } : {}) };
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie is gone for our purposes.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Whether the announcement's pid is still the process that wrote it (a file from before pidStart was written: taken to be). */
const sameProcess = (info: ServerAnnouncement) => info.pidStart === undefined || processStart(info.pid) === info.pidStart;

/** The dashboard that runs now for this run root (on TCP, else on a socket), or null (none, or stale files). */
export async function liveServer(): Promise<ServerAnnouncement | null> {
  const root = await trustedRunRoot();
  for (const file of [serverFile(root), socketServerFile(root)]) {
    const info = await readAnnouncement(file);
    if (info && alive(info.pid) && sameProcess(info)) return info;
  }
  return null;
}

/** The socket server that runs now for this run root, or null. */
export async function liveSocketServer(): Promise<ServerAnnouncement | null> {
  const info = await readAnnouncement(socketServerFile(await trustedRunRoot()));
  return info && info.socket && alive(info.pid) && sameProcess(info) ? info : null;
}

/** Where a local client reaches a server listening on `host`: a wildcard address means loopback. */
export function loopbackHost(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === 'localhost') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

/** The WebSocket URL of a VM's console on that server. */
export function consoleWsUrl(server: ServerAnnouncement, label: string, kind: 'serial' | 'monitor'): string {
  if (server.socket) return `ws+unix://${server.socket}:/ws/vms/${encodeURIComponent(label)}/${kind}`;
  const host = loopbackHost(server.host);
  return `ws://${host.includes(':') ? `[${host}]` : host}:${server.port}/ws/vms/${encodeURIComponent(label)}/${kind}`;
}

/** The token a CLI presents: VMDECK_TOKEN, or the one the server keeps in $VMDECK_HOME/token (never generated here). */
export function clientToken(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env.VMDECK_TOKEN) return env.VMDECK_TOKEN;
  try {
    return readFileSync(join(vmdeckHome(env as NodeJS.ProcessEnv), 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
