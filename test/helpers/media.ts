// A VM's screen read as text, for tests that boot real install media.
import { screenshot } from '../../server/screen';
import { ocr } from './media-files';

export { netbootTree, netinstIso, ocr, rescueIso } from './media-files';

/** Reads the VM's screen until its text matches; returns that text. */
export async function waitForScreen(label: string, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  for (;;) {
    text = await screenshot(label).then(ocr, () => '');
    if (re.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the screen of ${label} never showed ${re} in ${timeoutMs} ms; it read: ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
