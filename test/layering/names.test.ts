// A name means one thing: no exported type, interface, class, function or constant is declared
// under the same name in drivers/ and in agent/. Where the two sides mean the same thing, drivers/
// defines it and agent/ imports (or re-exports) it; where they differ, the drivers' side carries
// the `Cloud` prefix (CloudFlavorSpec beside the catalog's FlavorSpec).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../config/repo-root.js';

const DECLARATION = /^export\s+(?:declare\s+)?(?:async\s+)?(?:type|interface|enum|class|function\*?|const|let)\s+([A-Za-z_$][\w$]*)/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

export function declaredNames(code: string): string[] {
  return [...code.matchAll(DECLARATION)].map((m) => m[1]);
}

/** name -> files (relative to root) of one folder that declare it. */
function declarations(root: string, folder: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of sourceFiles(join(root, folder))) {
    for (const name of declaredNames(readFileSync(file, 'utf8'))) {
      out.set(name, [...(out.get(name) ?? []), relative(root, file)]);
    }
  }
  return out;
}

test('no exported name is declared both in drivers/ and in agent/', () => {
  const root = repoRoot();
  const drivers = declarations(root, 'drivers');
  const agent = declarations(root, 'agent');
  const clashes = [...drivers.keys()].filter((name) => agent.has(name)).map((name) => `${name}: ${[...drivers.get(name)!, ...agent.get(name)!].join(', ')}`);
  assert.deepEqual(clashes, []);
});

test('the scan sees every kind of declaration (and not a re-export or a comment)', () => {
  const code = [
    'export type A = 1;',
    'export interface B {}',
    'export class C {}',
    'export async function D() {}',
    'export const E = 1;',
    'export declare enum F {}',
    "export type { G } from './g.js';",
    '// export type H = 1;',
  ].join('\n');
  assert.deepEqual(declaredNames(code), ['A', 'B', 'C', 'D', 'E', 'F']);
});
