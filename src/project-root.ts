import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding Datapact's package.json. This module sits in src/ under tsx, in dist/ when
 * built, and in .build/src/ when the tests run compiled, so no fixed number of `../` fits all three:
 * walk up to the first package.json instead (.build/ has none of its own).
 */
export const PROJECT_ROOT = packageFolderAbove(dirname(fileURLToPath(import.meta.url)));

function packageFolderAbove(start: string): string {
  for (let folder = start; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json'))) return folder;
    if (dirname(folder) === folder) throw new Error(`no package.json in ${start} or above it`);
  }
}
