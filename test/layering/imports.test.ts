// The arrows DESIGN.md draws are the arrows the program has: every import between the product's
// folders points the allowed way (consensus <- storage <- agent; drivers independent; sim on top;
// cmd/, the program's entry point, above all). Reads the TypeScript sources, so a type-only import
// counts too, and so do dynamic import() calls and module paths built with `new URL(…, import.meta.url)`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { repoRoot } from '../config/repo-root.js';

/** Which folders each product folder may import from (itself included). */
export const ALLOWED_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  consensus: ['consensus'],
  storage: ['storage', 'consensus'],
  drivers: ['drivers'],
  agent: ['agent', 'consensus', 'storage', 'drivers'],
  sim: ['sim', 'agent', 'consensus', 'storage', 'drivers'],
  cmd: ['cmd', 'sim', 'agent', 'consensus', 'storage', 'drivers'],
};

/** Module specifiers a file names: static imports and re-exports, import(), and `new URL(path, import.meta.url)`. */
const SPECIFIER_PATTERNS = [
  /\b(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\bnew URL\(\s*['"]([^'"]+\.js)['"]\s*,\s*import\.meta\.url\s*\)/g,
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

export function specifiersOf(code: string): string[] {
  const withoutComments = stripComments(code);
  return SPECIFIER_PATTERNS.flatMap((pattern) => [...withoutComments.matchAll(pattern)].map((m) => m[1]));
}

/** The arrows that break the layering, as `file -> specifier (folder)`. */
export function layeringViolations(root: string): string[] {
  const out: string[] = [];
  for (const [folder, allowed] of Object.entries(ALLOWED_IMPORTS)) {
    let files: string[];
    try {
      files = sourceFiles(join(root, folder));
    } catch {
      continue; // a folder that does not exist yet imports nothing
    }
    for (const file of files) {
      for (const spec of specifiersOf(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = relative(root, resolve(dirname(file), spec));
        const top = target.split(sep)[0];
        if (!allowed.includes(top)) out.push(`${relative(root, file)} -> ${spec} (${top}/ is not below ${folder}/)`);
      }
    }
  }
  return out;
}

test('every import between the product folders points the way DESIGN.md draws', () => {
  assert.deepEqual(layeringViolations(repoRoot()), []);
});

/** A dynamic import of a computed path: an arrow nobody can see (commands are registered by static imports). */
const COMPUTED_IMPORT = /\bimport\s*\(\s*(?!['"][^'"]+['"]\s*\))/;

/**
 * The code with every string literal's text replaced by `x` (quotes kept), so words inside strings
 * ("a kind to import (flavor, …)") are not read as code; a template literal keeps its backticks, so
 * `import(\`./${name}.js\`)` still reads as a computed import.
 */
export function withoutStringText(code: string): string {
  return code.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, (literal) => `${literal[0]}x${literal[0]}`);
}

export function hasComputedImport(code: string): boolean {
  return COMPUTED_IMPORT.test(withoutStringText(stripComments(code)));
}

test('no product module loads another by a computed path', () => {
  const root = repoRoot();
  const offenders = Object.keys(ALLOWED_IMPORTS).flatMap((folder) => {
    let files: string[];
    try {
      files = sourceFiles(join(root, folder));
    } catch {
      return [];
    }
    return files.filter((f) => hasComputedImport(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
  });
  assert.deepEqual(offenders, []);
});

test('the scan sees every kind of import (a planted wrong arrow of each kind is caught)', () => {
  const code = [
    "import type { A } from '../agent/x.js';",
    "import '../sim/y.js';",
    "export { B } from '../sim/z.js';",
    "const m = await import('../sim/main.js');",
    "const u = new URL('../../sim/main.js', import.meta.url);",
    "// import { C } from '../sim/comment.js';",
  ].join('\n');
  assert.ok(hasComputedImport('const m = await import(url.href);'));
  assert.ok(hasComputedImport('const m = await import(`./${name}.js`);'));
  assert.ok(!hasComputedImport("const m = await import('../sim/main.js');"));
  assert.ok(!hasComputedImport("const help = `a kind to import (${KINDS.join(', ')})`; const h2 = 'or import (x)';"));
  assert.deepEqual(specifiersOf(code), ['../agent/x.js', '../sim/z.js', '../sim/y.js', '../sim/main.js', '../../sim/main.js']);
});
