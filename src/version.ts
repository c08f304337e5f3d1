/** biocredit's own version and install directory, from its package.json. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageJson(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'biocredit') return candidate;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('biocredit package.json not found');
    dir = up;
  }
}

const packageJson = findPackageJson();

export const VERSION: string = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

/** The directory holding biocredit's package.json (and native/, where the addon is built). */
export const PACKAGE_ROOT: string = dirname(packageJson);
