// vmdeck serve says when the dashboard's build is older than its sources (a
// checkout updated without setup.sh or npm run build serves the old pages).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sourceNewerThanBuild } from '../../server/http/pages';

test('a source changed after the build is named; none changed, or nothing built, is null', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vd-pages-'));
  try {
    const file = (rel: string, text: string, secondsAgo: number) => {
      const p = join(dir, rel);
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, text);
      const t = Date.now() / 1000 - secondsAgo;
      utimesSync(p, t, t);
    };
    file('app/page.tsx', 'export default 1;\n', 120);
    file('components/deep/Row.tsx', 'export {};\n', 120);
    file('next.config.js', 'module.exports = {};\n', 120);
    assert.equal(sourceNewerThanBuild(dir), null, 'nothing built');
    file('.next/BUILD_ID', 'b1', 60);
    assert.equal(sourceNewerThanBuild(dir), null);
    file('components/deep/Row.tsx', 'export const x = 2;\n', 10);
    assert.equal(sourceNewerThanBuild(dir), 'components/deep/Row.tsx');
    file('.next/BUILD_ID', 'b2', 0);
    assert.equal(sourceNewerThanBuild(dir), null, 'built again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
