'use client';
// The VM's files and QEMU command, read-only: what is on disk, and what its
// wrapper prints with --print.
import type { VmDetail } from '../api';
import { CopyBlock } from '../CopyText';
import { formatArgv } from '../format';

export function FilesView({ vm }: { vm: VmDetail }) {
  const files = Object.entries(vm.files ?? {});
  return (
    <div className="grid min-h-0 flex-1 grid-cols-2 grid-rows-[minmax(0,1fr)_minmax(0,1fr)] gap-2 overflow-hidden p-2">
      {files.map(([name, text]) => (
        <CopyBlock key={name} title={name} text={text} className="min-h-0" />
      ))}
      <CopyBlock
        className="col-span-2 min-h-0"
        title={`QEMU command (${vm.wrapper.split('/').pop()} --print)`}
        text={vm.argv.length ? formatArgv(vm.argv) : `the wrapper printed no command: ${vm.argvError ?? 'no reason given'}`}
      />
    </div>
  );
}
