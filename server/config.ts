// Reading a VM's <LABEL>.ctys back: literally when it holds only assignments,
// otherwise by letting bash source it exactly as the wrapper does.
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { CONFIG_VAR_NAMES, parseCtysPlain, type ConfigVars } from '../lib/ctys';
import { EXTRA_DEVICE_VARS } from '../lib/hardware';
import { CTYS_ENV } from '../lib/wrapper/body';
import { runGroup } from './proc';

// Sources the config the way the wrapper does (same VMDIR, CONF_NAME,
// working directory and ctys's variables) and prints each variable
// NUL-separated: a scalar as NAME s VALUE, an array as NAME a COUNT ELEMENTS...
// Besides the names asked for, every MACn, IPn, NETMASKn and GATEWAYn.
const DUMP = `${CTYS_ENV}
VMDIR=$1 CONF_NAME=$2 CONF_TEXT=$3; shift 3
cd -- "$VMDIR" || exit 1
ctys_env "$VMDIR" "\${CONF_NAME%.ctys}.sh"
# Its own output is dropped; what bash says of it (a syntax error) goes to stderr.
source "\${CONF_TEXT:-$VMDIR/$CONF_NAME}" >/dev/null </dev/null
unset CONF_TEXT
for n in $(compgen -v); do
  [[ $n =~ ^(MAC|IP|NETMASK|GATEWAY)[0-9]+$ ]] && set -- "$@" "$n"
done
for n; do
  if [[ $(declare -p "$n" 2>/dev/null) == "declare -a"* ]]; then
    declare -n ref=$n
    printf '%s\\0a\\0%s\\0' "$n" "\${#ref[@]}"
    (( \${#ref[@]} )) && printf '%s\\0' "\${ref[@]}"
    unset -n ref
  elif [[ -v $n ]]; then
    printf '%s\\0s\\0%s\\0' "$n" "\${!n}"
  fi
done
exit 0
`;

/**
 * The variables of the config at path as the wrapper has them once it has
 * sourced it; `opts.source` is another file to source in its place (the text
 * a change would write), from the config's directory and under its name.
 */
export async function evalConfig(path: string, names: readonly string[] = [...CONFIG_VAR_NAMES, ...EXTRA_DEVICE_VARS], opts: { source?: string } = {}): Promise<ConfigVars> {
  return (await sourceConfig(path, names, opts)).vars;
}

/**
 * The config sourced by bash (evalConfig): its variables, and the syntax
 * error that stopped bash's reading of it, as "line N: …" (the values
 * assigned after it are not there; the wrapper stops at it too).
 */
async function sourceConfig(path: string, names: readonly string[], opts: { source?: string }): Promise<{ vars: ConfigVars; syntaxError?: string }> {
  // In a process group of its own, killed whole at the timeout: a config that waits (a sleep, a read)
  // left its command running after bash was killed, one more at every listing.
  const { stdout: out, stderr: errors } = await runGroup('bash', ['-c', DUMP, 'vmdeck-read-config', dirname(path), basename(path), opts.source ?? '', ...names],
    { timeout: 5000, maxBuffer: 4 * 1024 * 1024 }).catch((err: { killed?: boolean; code?: number | null; stderr?: string }) => {
    // What bash said, or how it ended: never the command line, which the error's message starts with.
    const said = (err.stderr ?? '').trim().split('\n').pop()?.trim();
    const how = err.killed ? 'it ran for more than 5 s (a loop, or a command that waits?)' : `it exited with status ${err.code ?? '?'}`;
    throw new Error(`${path}: bash could not evaluate the config: ${how}${said ? `: ${said}` : ''}`);
  });
  const parts = out.split('\0');
  const vars: ConfigVars = {};
  let i = 0;
  while (i < parts.length - 1) {
    const name = parts[i++];
    const kind = parts[i++];
    if (kind === 's') vars[name] = parts[i++];
    else {
      const count = Number(parts[i++]);
      vars[name] = parts.slice(i, i + count);
      i += count;
    }
  }
  // "/dir/L.ctys: line 7: syntax error near unexpected token `then'": bash's own word of the file it sourced,
  // not of an eval or another file the config sources (bash reads on after those), nor the config's own output.
  const sourced = opts.source || path;
  const syntax = errors.split('\n').find((l) => l.startsWith(`${sourced}: line `) && / line \d+: syntax error/.test(l));
  return syntax ? { vars, syntaxError: syntax.slice(sourced.length + 2).trim() } : { vars };
}

export interface ConfigRead {
  text: string;
  vars: ConfigVars;
  /** True when the config holds logic that only bash could evaluate. */
  dynamic: boolean;
  /** Where bash stopped reading it, when it did: "line N: syntax error …". */
  syntaxError?: string;
}

export async function readConfig(path: string): Promise<ConfigRead> {
  const text = await readFile(path, 'utf8');
  const plain = parseCtysPlain(text);
  if (plain) return { text, vars: plain, dynamic: false };
  const { vars, syntaxError } = await sourceConfig(path, [...CONFIG_VAR_NAMES, ...EXTRA_DEVICE_VARS], {});
  return { text, vars, dynamic: true, ...(syntaxError ? { syntaxError } : {}) };
}
