// The version printed by --version: the "version" of the stackraft package.json above this file.
import { readFileSync } from 'node:fs';

/** package.json sits a few directories above the compiled file (dist/agent/cli/ -> the repository). */
const MAX_LEVELS_UP = 5;

let cached: string | undefined;

export function cliVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  let dir = new URL('./', import.meta.url);
  for (let level = 0; level < MAX_LEVELS_UP; level++) {
    dir = new URL('../', dir);
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'stackraft' && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // not here: look one level up
    }
  }
  return cached;
}
