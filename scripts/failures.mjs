#!/usr/bin/env node
// What failed, in a few lines each, for the end of scripts/test.sh: CI keeps
// only the tail of a run's output, where the test runners' own reports of a
// failure (long, and printed where it happened) are out of sight.
//   node scripts/failures.mjs tap LOG     node's test runner output (TAP)
//   node scripts/failures.mjs json FILE   Playwright's JSON report
import { readFileSync } from 'node:fs';

const MAX_TESTS = 12;
const MAX_LINES = 6;
// eslint-disable-next-line no-control-regex
const plain = (s) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
const out = [];
const say = (title, where, lines) => {
  out.push(`  ✗ ${title}${where ? `  (${where})` : ''}`);
  const kept = lines.map((l) => plain(l).trimEnd()).filter((l) => l.trim());
  for (const l of kept.slice(0, MAX_LINES)) out.push(`      ${l.trim().slice(0, 240)}`);
  if (kept.length > MAX_LINES) out.push(`      … ${kept.length - MAX_LINES} more lines`);
};

function tap(text) {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
    if (!m) continue;
    const ind = `${m[1]}  `;
    const fields = {};
    let key = null;
    for (let j = i + 2; j < lines.length && lines[j] !== `${ind}...`; j++) {
      const f = new RegExp(`^${ind}([A-Za-z_]+): ?(.*)$`).exec(lines[j]);
      if (f) {
        key = f[1];
        fields[key] = f[2] === '|-' || f[2] === '>-' ? [] : [f[2].replace(/^'(.*)'$/, '$1')];
      } else if (key) fields[key].push(lines[j]);
    }
    if (fields.failureType?.[0] === 'subtestsFailed') continue;
    const stack = (fields.stack ?? []).find((l) => /\/test\/|\/e2e\//.test(l));
    say(m[2], fields.location?.[0], [...(fields.error ?? []), ...(stack ? [`at ${stack.trim()}`] : [])]);
  }
}

function playwright(report) {
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      if (spec.ok) continue;
      const results = spec.tests.flatMap((t) => t.results ?? []);
      const failed = results.find((r) => r.status === 'failed' || r.status === 'timedOut');
      if (!failed) continue;
      const message = failed.errors?.map((e) => e.message ?? '').join('\n') || failed.error?.message || failed.status;
      say(spec.title, `${spec.file}:${spec.line}`, message.split('\n'));
    }
    for (const s of suite.suites ?? []) walk(s);
  };
  for (const s of report.suites ?? []) walk(s);
}

const [kind, file] = process.argv.slice(2);
try {
  const text = readFileSync(file, 'utf8');
  if (kind === 'json') playwright(JSON.parse(text));
  else tap(text);
} catch (e) {
  console.log(`  (no report in ${file}: ${e.message})`);
}
const tests = out.filter((l) => l.startsWith('  ✗')).length;
let shown = 0;
for (const l of out) {
  if (l.startsWith('  ✗') && ++shown > MAX_TESTS) break;
  console.log(l);
}
if (tests > MAX_TESTS) console.log(`  … and ${tests - MAX_TESTS} more`);
