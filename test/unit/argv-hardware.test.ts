// argvHardware: the memory (MiB) and CPUs in a QEMU command line, as the list
// and the VM page show them while a config change waits for the next start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argvHardware } from '../../lib/vm';

test('memory in each of -m\'s forms, CPUs in each of -smp\'s; the last given counts', () => {
  const cases: [string[], { memsize?: number; smp?: number }][] = [
    [['qemu-system-x86_64', '-smp', '2', '-m', '512'], { memsize: 512, smp: 2 }],
    [['-m', '512M', '-smp', '4,sockets=1,cores=4'], { memsize: 512, smp: 4 }],
    [['-m', '1G'], { memsize: 1024 }],
    [['-m', '1.5g'], { memsize: 1536 }],
    [['-m', 'size=2G,slots=2,maxmem=8G', '-smp', 'cpus=3,maxcpus=8'], { memsize: 2048, smp: 3 }],
    [['-m', '524288k'], { memsize: 512 }],
    [['--m', '256', '--smp', '1'], { memsize: 256, smp: 1 }],
    [['-m', '256', '-m', '384'], { memsize: 384 }],
  ];
  for (const [argv, want] of cases) assert.deepEqual(argvHardware(argv), want, argv.join(' '));
});

test('what it cannot read is left out: a word, a flag at the end, a flag with another after it', () => {
  assert.deepEqual(argvHardware(['-m', 'lots', '-smp', 'sockets=2']), {});
  assert.deepEqual(argvHardware(['qemu', '-m']), {});
  assert.deepEqual(argvHardware(['-m', '-smp', '2']), { smp: 2 });
  assert.deepEqual(argvHardware([]), {});
});
