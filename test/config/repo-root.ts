// Finds the repository (for files that are not compiled: deploy/, docs/). The compiled tests may
// live in dist/test/ inside it or in a build folder elsewhere; then the working directory is used.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function isRepo(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'stackraft' && existsSync(join(dir, 'deploy'));
  } catch {
    return false;
  }
}

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (isRepo(dir)) return dir;
    dir = dirname(dir);
  }
  if (isRepo(process.cwd())) return process.cwd();
  throw new Error('cannot find the stackraft repository (run the tests from its root)');
}
