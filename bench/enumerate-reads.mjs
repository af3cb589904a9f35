// `node enumerate-reads.mjs BASE`: the file system work of a vmdeck ENUMERATE
// with no cache and nothing else, in a Node process of its own (plain
// JavaScript: no tsx, no bundle to load). Each directory under BASE is
// stat'ed and listed, each *.ctys in them stat'ed and read, and the ones
// with ctys's QEMU marker counted, as find + grep does. It parses nothing,
// keeps nothing and prints only the count: what is left of the command's
// time above this one is its own work, not the reads a Node process makes.
import { readdirSync, readFileSync, statSync } from 'node:fs';

let found = 0;
let level = [process.argv[2]];
while (level.length) {
  const next = [];
  for (const dir of level) {
    statSync(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory()) next.push(path);
      else if (e.isFile() && e.name.endsWith('.ctys')) {
        statSync(path);
        if (readFileSync(path, 'utf8').includes('#@#MAGICID-QEMU')) found++;
      }
    }
  }
  level = next;
}
process.stdout.write(`${found}\n`);
