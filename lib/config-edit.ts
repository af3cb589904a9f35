// Changing a variable in a <LABEL>.ctys without touching anything else: the
// config is the user's bash and may hold logic, comments and layout of their
// own. Only a plain top-level assignment of a literal (NAME=word, 'quoted' or
// "quoted" without expansions) is rewritten, in place; a variable set by logic
// (inside an if, computed with $(…) or $((…)), assigned twice) is refused,
// naming its line, since no rewrite of it can be known to mean the same.
import { shellQuote } from './ctys';

export type EditResult = { ok: true; text: string } | { ok: false; field: string; error: string };

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * A whole line `NAME=VALUE` (optionally `export`), VALUE a literal, with an
 * optional trailing comment. A literal may be pieces: shellQuote writes a
 * value with a ' in it as 'it'\''s', which must read back as plain.
 */
const LITERAL = String.raw`(?:'[^']*'|\\'|"[^"$\x60\\]*"|[^\s'"$\x60\\;&|<>()#])*`;

/** How many bash blocks a line opens less how many it closes (its words; quotes are not parsed). */
function blockDelta(line: string): number {
  const code = line.replace(/(^|\s)#.*$/, '');
  let d = 0;
  for (const w of code.split(/[\s;&|]+/)) {
    if (/^(if|case|for|while|until|select|\{)$/.test(w) || /\(\)\{?$/.test(w) && w.endsWith('{')) d++;
    else if (/^(fi|esac|done|\})$/.test(w)) d--;
  }
  return d;
}

export function setAssignment(text: string, name: string, value: string): EditResult {
  if (!NAME_RE.test(name)) return { ok: false, field: name, error: `${name}: not a variable name` };
  const lines = text.split('\n');
  const assign = new RegExp(String.raw`^(\s*(?:export\s+)?)${name}(\+?=)(.*)$`);
  const plain = new RegExp(String.raw`^${LITERAL}(\s+#.*)?$`);
  let depth = 0;
  const hits: { i: number; indent: string; op: string; rest: string; nested: boolean }[] = [];
  lines.forEach((line, i) => {
    const m = assign.exec(line);
    if (m) hits.push({ i, indent: m[1], op: m[2], rest: m[3], nested: depth > 0 });
    depth = Math.max(0, depth + blockDelta(line));
  });
  // Also `NAME=…` used inside a line with more on it (a; b, &&) counts as logic.
  const elsewhere = lines.findIndex((l, i) => !hits.some((h) => h.i === i) && new RegExp(String.raw`(^|[\s;&|({])${name}\+?=`).test(l) && !/^\s*#/.test(l));
  const where = (i: number) => `line ${i + 1}`;
  if (elsewhere >= 0) return { ok: false, field: name, error: `${name}: set by logic on ${where(elsewhere)} of the config; change it there by hand` };
  if (hits.length > 1) return { ok: false, field: name, error: `${name}: assigned more than once (${hits.map((h) => where(h.i)).join(', ')}); change it by hand` };
  const quoted = shellQuote(value);
  if (hits.length === 0) {
    // Not set yet: added at the end, where it overrides nothing the user wrote.
    const body = text.endsWith('\n') ? text : `${text}\n`;
    return { ok: true, text: `${body}${name}=${quoted}\n` };
  }
  const h = hits[0];
  if (h.nested || h.op === '+=' || !plain.test(h.rest)) {
    return { ok: false, field: name, error: `${name}: computed by logic on ${where(h.i)} of the config (${lines[h.i].trim().slice(0, 60)}); change it there by hand` };
  }
  const comment = plain.exec(h.rest)?.[1] ?? '';
  lines[h.i] = `${h.indent}${name}=${quoted}${comment}`;
  return { ok: true, text: lines.join('\n') };
}
