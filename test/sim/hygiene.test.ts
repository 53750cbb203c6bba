// A run must be a function of its seed: no wall clock, no ambient randomness, no real timers in
// the simulator's code. This scans the compiled sim/ modules next to this test's build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIM_DIR = fileURLToPath(new URL('../../sim/', import.meta.url));
/** Entry points that may read the wall clock to report speed (not part of a run): `stackraft sim` and the sweep. */
const WALL_CLOCK_ALLOWED = new Set(['main.js', 'sweep.js']);
const FORBIDDEN: Array<[RegExp, string]> = [
  [/Math\.random\s*\(/, 'Math.random'],
  [/Date\.now\s*\(/, 'Date.now'],
  [/new Date\s*\(/, 'new Date'],
  [/performance\.now\s*\(/, 'performance.now'],
  [/\bsetTimeout\s*\(/, 'setTimeout'],
  [/\bsetInterval\s*\(/, 'setInterval'],
  [/process\.hrtime/, 'process.hrtime'],
];

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return jsFiles(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

/** The site composition runs inside every simulated site: it too takes time and chance only through its ports. */
const SITE_DIR = fileURLToPath(new URL('../../agent/site/', import.meta.url));

test('the site composition uses no wall clock, ambient randomness or real timers', () => {
  const files = jsFiles(SITE_DIR);
  assert.ok(files.length >= 3, `found only ${files.length} compiled modules in ${SITE_DIR}`);
  const offences = files.flatMap((file) => {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
    return FORBIDDEN.filter(([pattern]) => pattern.test(code)).map(([, name]) => `${file.slice(SITE_DIR.length)}: ${name}`);
  });
  assert.deepEqual(offences, []);
});

test('simulator modules use no wall clock, ambient randomness or real timers', () => {
  const files = jsFiles(SIM_DIR);
  assert.ok(files.length >= 8, `found only ${files.length} compiled sim modules in ${SIM_DIR}`);
  const offences: string[] = [];
  for (const file of files) {
    if (WALL_CLOCK_ALLOWED.has(file.slice(SIM_DIR.length))) continue;
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1');
    for (const [pattern, name] of FORBIDDEN) if (pattern.test(code)) offences.push(`${file.slice(SIM_DIR.length)}: ${name}`);
  }
  assert.deepEqual(offences, []);
});
