// ctys's action suboption strings, for scripts written for ctys:
//   create=l:LABEL,b:BASE,reuse,instmode:CD%default%VHDD%default%INIT,console:vnc
//   cancel=l:LABEL,poweroff:20,force
// As ctys's cliSplitSubOpts/cliGetKey/cliGetArg read them: suboptions split at
// single commas (",," is a comma), the key before the first ':' in any case,
// the argument after it. They become vmdeck's own options (one meaning each).

export interface CtysAddress {
  label?: string;
  /** BASEPATH|BASE|B: where to look, %-separated. */
  base?: string;
  /** ID|I|PATHNAME|PNAME|P: the config's absolute path. */
  pname?: string;
  /** FILENAME|FNAME|F: the config's file name. */
  fname?: string;
  uuid?: string;
  mac?: string;
  /** TCP|T: the VM's IP address. */
  tcp?: string;
}

export interface CtysAction {
  action: 'create' | 'cancel';
  address: CtysAddress;
  /** vmdeck's options for the command, e.g. ['--reuse', '--console=VNC']. */
  options: string[];
}

const ACTION = /^(create|cancel)=(.*)$/i;

/** Whether an argument is a ctys action string (`create=…`, `cancel=…`). */
export const isCtysAction = (arg: string) => ACTION.test(arg);

/** Splits at single commas; a doubled comma is one comma in a value. */
function splitSubopts(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ',' && s[i + 1] === ',') { cur += ','; i++; continue; }
    if (s[i] === ',') { out.push(cur); cur = ''; continue; }
    cur += s[i];
  }
  out.push(cur);
  return out.filter((x) => x !== '');
}

const bad = (action: string, msg: string) => new Error(`${action}: ${msg}`);

const ENUMERATE = /^enumerate=(.*)$/i;

/** Whether an argument is ctys's `enumerate=…`. */
export const isCtysEnumerate = (arg: string) => ENUMERATE.test(arg);

/**
 * ctys's `enumerate=machine,title,b:BASE%BASE,matchvstat:S%S` as vmdeck
 * enumerate's options (--ctys, --title, --base=, --vmstate=); throws
 * naming a suboption it does not know.
 */
export function parseCtysEnumerate(arg: string): string[] {
  const m = ENUMERATE.exec(arg);
  if (!m) throw new Error(`'${arg}' is not ctys's enumerate=…`);
  const options: string[] = [];
  for (const sub of splitSubopts(m[1])) {
    const colon = sub.indexOf(':');
    const key = (colon < 0 ? sub : sub.slice(0, colon)).toUpperCase();
    const value = colon < 0 ? '' : sub.slice(colon + 1);
    if (key === 'MACHINE') options.push('--ctys');
    else if (key === 'TITLE') options.push('--title');
    else if ((key === 'B' || key === 'BASE' || key === 'BASEPATH') && value) options.push(`--base=${value}`);
    else if (key === 'MATCHVSTAT' && value) options.push(`--vmstate=${value}`);
    else throw new Error(`'${sub}' is not an enumerate= suboption vmdeck knows (machine, title, b:BASE, matchvstat:STATE)`);
  }
  return options;
}

/** Parses `create=…` or `cancel=…`; throws `create: …`/`cancel: …` naming the suboption. */
export function parseCtysAction(arg: string): CtysAction {
  const m = ACTION.exec(arg);
  if (!m) throw new Error(`'${arg}' is not a ctys action (create=… or cancel=…)`);
  const action = m[1].toLowerCase() as CtysAction['action'];
  const address: CtysAddress = {};
  const options: string[] = [];
  let mode: string | undefined;
  for (const sub of splitSubopts(m[2])) {
    const colon = sub.indexOf(':');
    const key = (colon < 0 ? sub : sub.slice(0, colon)).toUpperCase();
    const value = colon < 0 ? undefined : sub.slice(colon + 1);
    const need = () => {
      if (!value) throw bad(action, `${key.toLowerCase()} needs a value (${key.toLowerCase()}:VALUE)`);
      return value;
    };
    switch (key) {
      case 'LABEL': case 'L': address.label = need(); continue;
      case 'BASEPATH': case 'BASE': case 'B': address.base = need(); continue;
      case 'ID': case 'I': case 'PATHNAME': case 'PNAME': case 'P':
        if (!need().startsWith('/')) throw bad(action, `pname: '${value}' is not an absolute path (use f: for a file name)`);
        address.pname = value; continue;
      case 'FILENAME': case 'FNAME': case 'F': address.fname = need(); continue;
      case 'UUID': case 'U': address.uuid = need(); continue;
      case 'MAC': case 'M': address.mac = need(); continue;
      case 'TCP': case 'T': address.tcp = need(); continue;
    }
    if (action === 'create') {
      switch (key) {
        case 'REUSE': case 'CONNECT': case 'RECONNECT': options.push('--reuse'); continue;
        case 'RESUME': continue; // a suspended VM resumes at every start
        case 'CONSOLE': {
          const c = need().toUpperCase();
          const vnc = /^VNC:(\d{1,2})$/.exec(c);
          if (vnc) options.push('--console=VNC', `--vncaccessdisplay=${vnc[1]}`);
          else options.push(`--console=${c}`);
          continue;
        }
        case 'BOOTMODE': options.push(`--bootmode=${need()}`); continue;
        case 'INSTMODE': options.push(value ? `--instmode=${value}` : '--instmode'); continue;
        case 'KERNELMODE': options.push(`--kernelmode=${need()}`); continue;
      }
    } else {
      switch (key) {
        case 'FORCE': options.push('--force'); continue;
        case 'POWEROFF': case 'S5': mode = 'poweroff'; options.push(value ? `--poweroff=${value}` : '--poweroff'); continue;
        case 'TIMEOUT': options.push(`--poweroff=${need()}`); continue;
        case 'RESET': case 'REBOOT': mode = 'reset'; options.push('--reset'); continue;
        case 'PAUSE': case 'S3': mode = 'pause'; options.push('--pause'); continue;
        case 'SUSPEND': case 'S4': mode = 'suspend'; options.push('--suspend'); continue;
        // ctys's scope of a cancel: vmdeck ends the VM, which has no client side to keep.
        case 'SERVER': case 'BOTH': case 'SELF': continue;
      }
    }
    throw bad(action, `'${sub}' is not a ${action} suboption vmdeck knows`);
  }
  if (mode && options.includes('--force') && mode !== 'poweroff') throw bad(action, `force goes with poweroff only, not ${mode}`);
  if (!Object.values(address).some(Boolean)) throw bad(action, 'no VM given (l:LABEL, p:PATH, f:FILE, uuid:, mac: or t:IP)');
  return { action, address, options };
}
