// Listening on a UNIX socket (vmdeck serve --socket): in a private directory
// (0700, ours), the socket itself 0600. A socket file left by a server that
// is gone is replaced; one that answers is another server, refused.
import { connect } from 'node:net';
import type { Server } from 'node:http';
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { VmdeckError } from './errors';

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function listenOnSocket(server: Server, path: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
    throw new VmdeckError(400, `socket: '${dir}' must be a private directory of this user (chmod 700 '${dir}')`, 'socket');
  }
  if (await answers(path)) throw new VmdeckError(409, `socket: another server listens on '${path}'`, 'socket');
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
}
