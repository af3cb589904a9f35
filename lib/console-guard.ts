// What the dashboard's consoles let a client type into QEMU's HMP monitor.
// A stolen session must not turn the monitor into a host shell: `migrate
// "exec:…"` runs a program, and other commands open host files or sockets.
// Those are refused unless the VM's config says MONITOR_UNSAFE=yes.
//
// The monitor's line editor is QEMU's readline (util/readline.c): arrows,
// history, Tab completion and Ctrl-A/E/D/W move through or change the line
// in ways only QEMU knows. So a guarded monitor takes printable ASCII,
// backspace and Enter only, and the line QEMU holds is exactly the one
// tracked here; everything else is dropped before it reaches QEMU.

/**
 * HMP commands that reach beyond the VM (QEMU 7.2's `help`): run a program
 * (migrate exec:, netdev_add tap's script=), open or write a host file
 * (change, drive_add, screendump, memsave, logfile, …), listen or connect
 * (hostfwd_add, gdbserver, nbd_server_start, chardev-add), or pass host
 * devices through (device_add, object_add).
 */
export const HOST_REACHING_COMMANDS: ReadonlySet<string> = new Set([
  'migrate', 'migrate_incoming', 'migrate_recover',
  'change', 'drive_add', 'drive_mirror', 'drive_backup', 'snapshot_blkdev', 'qemu-io',
  'chardev-add', 'chardev-change', 'netdev_add', 'hostfwd_add', 'object_add', 'device_add', 'qom-set',
  'dump-guest-memory', 'dumpdtb', 'memsave', 'pmemsave', 'screendump', 'logfile', 'wavcapture',
  'gdbserver', 'nbd_server_start',
]);

export const MONITOR_UNSAFE_HINT = 'set MONITOR_UNSAFE=yes in the VM\'s config to allow it, or run it with vmdeck monitor LABEL COMMAND';

/** Why the dashboard refuses this monitor command line, or null. */
export function monitorCommandError(line: string): string | null {
  // The name as QEMU's HMP reads it (get_command_name): it ends at a blank or a '/' (x/10x's format), so
  // 'screendump/tmp/f' is screendump with the file /tmp/f.
  const name = /^\s*([^\s/]*)/.exec(line)![1];
  if (!HOST_REACHING_COMMANDS.has(name)) return null;
  return `monitor: '${name}' reaches the host (runs programs, opens host files or sockets, or passes devices through); refused here: ${MONITOR_UNSAFE_HINT}`;
}

/** What one client's input becomes: the bytes QEMU gets, and refusals to show that client. */
export interface Guarded {
  forward: Buffer;
  refused: string[];
}

/** QEMU's readline holds at most this much (READLINE_CMD_BUF_SIZE). */
const LINE_MAX = 4095;
const BACKSPACE = 0x7f;

/**
 * The monitor's line as QEMU's readline holds it, shared by every client of
 * the hub (QEMU has one line). `reset()` is what the hub sends first: it
 * ends an escape sequence and erases whatever another program left typed.
 */
export class MonitorLineGuard {
  private line = '';
  private esc: 'none' | 'esc' | 'csi' | 'ss3' = 'none';

  static reset(): Buffer {
    // Ctrl-E twice (the first may only end an escape sequence), then as many DELs as the line can hold.
    return Buffer.concat([Buffer.from([5, 5]), Buffer.alloc(LINE_MAX, BACKSPACE)]);
  }

  input(data: Buffer): Guarded {
    const out: number[] = [];
    const refused: string[] = [];
    for (const b of data) {
      if (this.esc !== 'none') {
        // An escape sequence (arrows, Home/End, Delete): dropped whole.
        if (this.esc === 'esc') this.esc = b === 0x5b ? 'csi' : b === 0x4f ? 'ss3' : 'none';
        else if (this.esc === 'ss3' || (b >= 0x40 && b <= 0x7e)) this.esc = 'none';
        continue;
      }
      if (b === 0x1b) this.esc = 'esc';
      else if (b >= 0x20 && b < 0x7f) {
        if (this.line.length < LINE_MAX) {
          this.line += String.fromCharCode(b);
          out.push(b);
        }
      } else if (b === 0x7f || b === 0x08) {
        this.line = this.line.slice(0, -1);
        out.push(b);
      } else if (b === 0x0d || b === 0x0a) {
        const problem = monitorCommandError(this.line);
        if (problem) {
          // Not entered: erased from QEMU's line instead.
          for (let i = 0; i < this.line.length; i++) out.push(BACKSPACE);
          refused.push(problem);
        } else out.push(b);
        this.line = '';
      }
      // Any other control byte, and bytes past ASCII (155 is a CSI to QEMU), are dropped.
    }
    return { forward: Buffer.from(out), refused };
  }
}

/** The serial line's escape character (QEMU's mux: Ctrl-a). */
const MUX_ESCAPE = 0x01;

export const MUX_MONITOR_REFUSED = 'serial: Ctrl-a c (the monitor behind the serial line) is off in the dashboard; use its Monitor console, or set MONITOR_UNSAFE=yes in the VM\'s config';

/** What HMP prints for a prompt: after a switch to the monitor, and first to a client that connects while it has the line. */
const HMP_PROMPT = Buffer.from('(qemu) ');

export const MUX_ON_MONITOR_NOTICE = 'the serial line is on QEMU\'s monitor (another terminal left it there, or the guest printed its prompt): what you type is guarded as in the Monitor console; Ctrl-a c returns to the guest';

/** What the line's output tells the guard: bytes to send to QEMU first, and a notice for every client. */
export interface MuxSeen {
  toQemu?: Buffer;
  notice?: string;
}

/**
 * The serial console's mux (serial0 shares its line with an HMP monitor).
 * On the guest's side, Ctrl-a c, which switches to the monitor, is refused;
 * every other byte, Ctrl-a a and the other Ctrl-a commands pass as typed. A
 * Ctrl-a at the end of a frame waits for the next byte.
 *
 * The line may already be on the monitor: a terminal outside the dashboard
 * switched it and left (QEMU keeps the switch). QEMU shows that by its
 * prompt: it prints `(qemu) ` to a client that connects while the monitor
 * has the line, and after every switch to it. So `output()` sees every byte
 * QEMU sends; from a prompt at the end of the output on, what is typed goes
 * through the monitor's own guard (MonitorLineGuard, as the Monitor console),
 * and Ctrl-a c passes, back to the guest. A guest can print a prompt too:
 * that only puts its own line under the stricter guard (the safe side); a
 * real switch to the monitor always ends in a prompt, so the guard never
 * believes the guest has the line while the monitor does.
 */
export class MuxGuard {
  private escaped = false;
  private monitor: MonitorLineGuard | null = null;
  /** The last bytes of output, for a prompt split across reads. */
  private tail = Buffer.alloc(0);

  /** Whether the guard takes the line to be on the monitor. */
  get onMonitor(): boolean {
    return this.monitor !== null;
  }

  output(data: Buffer): MuxSeen {
    if (this.monitor || data.length === 0) return {};
    // Only the last bytes are kept (a copy: the chunk itself is not held), joined to the ones before when the chunk is shorter.
    const n = HMP_PROMPT.length;
    this.tail = data.length >= n ? Buffer.from(data.subarray(-n)) : Buffer.concat([this.tail, data]).subarray(-n);
    if (!this.tail.equals(HMP_PROMPT)) return {};
    this.monitor = new MonitorLineGuard();
    // Whatever the other terminal left typed on the monitor's line is not ours to enter.
    return { toQemu: MonitorLineGuard.reset(), notice: MUX_ON_MONITOR_NOTICE };
  }

  input(data: Buffer): Guarded {
    const out: number[] = [];
    const refused: string[] = [];
    let run: number[] = [];
    // Bytes typed on the monitor go through its guard, a run at a time.
    const flush = () => {
      if (!run.length) return;
      if (this.monitor) {
        const g = this.monitor.input(Buffer.from(run));
        out.push(...g.forward);
        refused.push(...g.refused);
      } else out.push(...run);
      run = [];
    };
    for (const b of data) {
      if (this.escaped) {
        this.escaped = false;
        if (b === 0x63) {
          if (this.monitor) {
            flush();
            // Back to the guest: QEMU prints no prompt for that, and a prompt after it means the monitor again.
            this.monitor = null;
            this.tail = Buffer.alloc(0);
            out.push(MUX_ESCAPE, b);
          } else refused.push(MUX_MONITOR_REFUSED);
        } else {
          flush();
          out.push(MUX_ESCAPE, b);
        }
      } else if (b === MUX_ESCAPE) this.escaped = true;
      else run.push(b);
    }
    flush();
    return { forward: Buffer.from(out), refused };
  }
}

/** Whether a config value of MONITOR_UNSAFE turns the guards off. */
export const monitorUnsafe = (value: unknown) => typeof value === 'string' && /^(yes|on|true|1)$/i.test(value.trim());
