// A picture of the VM's display: QMP screendump. QEMU 7.1+ writes PNG itself
// when built with libpng (Debian's is); otherwise it writes PPM, which is
// turned into PNG here.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePpm, pngSize, ppmToPng, type Image } from '../lib/png';
import { VmdeckError } from './errors';
import { QmpError } from './qmp';
import { qmpCall, qmpMessage, resolveVm, runtimePaths, withQmp } from './runtime';

let counter = 0;

export async function screenshot(label: string): Promise<Buffer> {
  const vm = await resolveVm(label);
  // QEMU writes the file itself: into the VM's private runtime dir.
  const base = join(runtimePaths(vm.label).dir, `screendump-${process.pid}-${++counter}`);
  return withQmp(vm, async (c) => {
    try {
      try {
        await qmpCall(c, 'screendump', { filename: `${base}.png`, format: 'png' });
        const png = await readFile(`${base}.png`);
        if (pngSize(png)) return png;
      } catch (e) {
        // An older QEMU, or one without libpng: PPM it is.
        if (!(e instanceof QmpError) || !/format|png/i.test(e.message)) throw e;
      }
      await qmpCall(c, 'screendump', { filename: `${base}.ppm` });
      return ppmToPng(await readFile(`${base}.ppm`));
    } catch (e) {
      if (e instanceof VmdeckError) throw e;
      throw new VmdeckError(500, `screen: no screenshot of VM '${vm.label}': ${qmpMessage(e)}`, 'screen');
    } finally {
      await rm(`${base}.png`, { force: true });
      await rm(`${base}.ppm`, { force: true });
    }
  });
}

/** The VM's display as pixels (QMP screendump's PPM, which every QEMU writes): what OCR reads (server/ocr.ts). */
export async function screenImage(label: string): Promise<Image> {
  const vm = await resolveVm(label);
  const file = join(runtimePaths(vm.label).dir, `screendump-${process.pid}-${++counter}.ppm`);
  return withQmp(vm, async (c) => {
    try {
      await qmpCall(c, 'screendump', { filename: file });
      return parsePpm(await readFile(file));
    } catch (e) {
      if (e instanceof VmdeckError) throw e;
      throw new VmdeckError(500, `screen: no screenshot of VM '${vm.label}': ${qmpMessage(e)}`, 'screen');
    } finally {
      await rm(file, { force: true });
    }
  });
}
