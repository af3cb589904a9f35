// A client for vde_switch's management socket (what unixterm does): one
// command per connection, answered with its data lines, then disconnected.
import { connect } from 'node:net';
import { parseMgmtReply, type MgmtReply } from '../lib/net';
import { VmdeckError } from './errors';

/** Runs one management command, e.g. `port/allprint`; rejects on a failure code or a timeout. */
export function vdeCommand(mgmtSock: string, command: string, timeoutMs = 3000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(mgmtSock);
    let buf = '';
    let sent = false;
    let from = 0;
    let done = false;
    const finish = (err: Error | null, reply?: MgmtReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else if (reply!.code !== 1000) reject(new VmdeckError(500, `vde_switch: '${command}' failed: ${reply!.code} ${reply!.message}`));
      else resolve(reply!.data);
    };
    const timer = setTimeout(() => finish(new VmdeckError(500, `vde_switch: no answer to '${command}' on ${mgmtSock} within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      // The banner ends with the first prompt; the answer is what follows it.
      if (!sent) {
        const prompt = buf.indexOf('vde$ ');
        if (prompt < 0) return;
        sent = true;
        from = prompt + 5;
        sock.write(`${command}\n`);
        return;
      }
      const reply = parseMgmtReply(buf.slice(from));
      if (reply) finish(null, reply);
    });
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new VmdeckError(500, `vde_switch: ${mgmtSock} closed before answering '${command}'`)));
  });
}
