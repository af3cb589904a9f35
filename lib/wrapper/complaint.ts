// What a wrapper's stderr says is wrong, in one line. vmdeck's wrapper ends
// with its one-line `<L>.sh: FIELD: message` (warnings may come first);
// other scripts (ctys's wrapper) put the cause first and advice after it
// ("ERROR:... CTYS_LIBPATH ..." then "ERROR:Refer to ... user manual."), so
// the last line is not always the one that says what is wrong.

/** A line in vmdeck's `FIELD: message` form, with or without the wrapper's name before it. */
const FIELD_LINE = /^(?:[^:\s]*\.sh: )?(--[a-z-]+|[A-Z][A-Z0-9_]*|runtime dir): \S/;
const ERROR_LINE = /\b(?:ERROR|[Ee]rror|FATAL|[Ff]atal)\b/;

/** The wrapper's name before a line, as vmdeck's die writes it. */
export const stripSelf = (line: string) => line.replace(/^[^:\s]*\.sh: /, '');

/**
 * The line that says what is wrong: the first in vmdeck's `FIELD: message`
 * form, else the first that says ERROR, else the last (vmdeck's die without
 * a field, "VM 'x' is already running"). Null when there is none.
 */
export function complaint(stderr: string): string | null {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return null;
  return lines.find((l) => FIELD_LINE.test(l)) ?? lines.find((l) => ERROR_LINE.test(l)) ?? lines[lines.length - 1];
}
