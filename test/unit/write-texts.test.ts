// writeTexts: ENUMERATE's cache file and output written through one reused
// buffer must be byte for byte the texts joined, whatever their sizes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeTextsFile } from '../../server/fsutil';

test('writeTextsFile writes the texts joined, across the buffer\'s edges and past its size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmdeck-write-texts-'));
  try {
    const texts: string[] = [];
    // Small records with multi-byte characters (2, 3 and 4 bytes of UTF-8), enough to fill the 1 MiB buffer several times.
    for (let i = 0; i < 3000; i++) texts.push(`{"label": "vm${i}", "note": "é€😀 ${'x'.repeat(i % 700)}"}\n`);
    // One text larger than the buffer, and one that does not fit in what is left of it.
    texts.splice(1500, 0, 'ü'.repeat(700_000), 'y'.repeat(400_000));
    texts.push('');
    const file = join(dir, 'out');
    writeTextsFile(file, texts);
    assert.equal(readFileSync(file, 'utf8'), texts.join(''));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // Written again, shorter: the file is truncated, and the buffer reused.
    writeTextsFile(file, ['a', 'b']);
    assert.equal(readFileSync(file, 'utf8'), 'ab');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
