// The template catalog as the user sees it: built-ins, plus the user's own
// files under $VMDECK_HOME/templates/: <id>.json (a template, optionally
// "extends" another) and defaults.ctys (assignments laid over every template,
// as ctys's defaults-QEMU.ctys).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCtysPlain } from '../lib/ctys';
import { specFromVars } from '../lib/options';
import { BUILTIN_TEMPLATES, mergeCatalog, type Template, type TemplateDefaults } from '../lib/templates';
import { badInput } from './errors';
import { templatesDir } from './paths';

export async function loadCatalog(env = process.env): Promise<Template[]> {
  const dir = templatesDir(env);
  let names: string[] = [];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return mergeCatalog(BUILTIN_TEMPLATES, [], {});
  }
  const users: (Partial<Template> & { id: string; extends?: string })[] = [];
  let defaults: TemplateDefaults = {};
  for (const name of names) {
    const file = join(dir, name);
    if (name.endsWith('.json')) {
      let t: Partial<Template> & { extends?: string };
      try {
        t = JSON.parse(await readFile(file, 'utf8'));
      } catch (e) {
        throw badInput('template', `template file ${file} is not valid JSON: ${(e as Error).message}`);
      }
      users.push({ ...t, id: t.id ?? name.slice(0, -5), source: file });
    } else if (name === 'defaults.ctys') {
      const vars = parseCtysPlain(await readFile(file, 'utf8'));
      if (!vars) throw badInput('template', `${file}: only plain assignments (NAME='value') are read here`);
      defaults = specFromVars(vars) as TemplateDefaults;
    }
  }
  return mergeCatalog(BUILTIN_TEMPLATES, users, defaults);
}

export async function findTemplate(id: string, env = process.env): Promise<Template> {
  const catalog = await loadCatalog(env);
  const t = catalog.find((c) => c.id === id);
  if (!t) throw badInput('template', `template: '${id}' is not in the catalog (one of: ${catalog.map((c) => c.id).join(', ')})`);
  return t;
}
