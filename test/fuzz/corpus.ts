// The saved corpus: inputs that made a target answer in a distinct way, kept in the repository as
// regression tests (test/fuzz/corpus/<target>/<sha256 prefix>.bin) with the outcome each gave
// (expected.json). `npm run fuzz -- --save-corpus` refreshes it.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../config/repo-root.js';
import { corpusFileName, type TargetReport } from './runner.js';

/** Kept per target: enough for every rejection kind and then some, small enough for git. */
export const MAX_CORPUS_PER_TARGET = 64;

export interface CorpusEntry {
  file: string;
  input: Uint8Array;
  /** The outcome signature recorded when it was saved. */
  signature: string;
}

export function corpusDir(target: string): string {
  return join(repoRoot(), 'test', 'fuzz', 'corpus', target);
}

export function loadCorpus(target: string): CorpusEntry[] {
  const dir = corpusDir(target);
  if (!existsSync(dir)) return [];
  const manifestFile = join(dir, 'expected.json');
  const manifest = existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, string>) : {};
  return readdirSync(dir)
    .filter((name) => name.endsWith('.bin'))
    .sort()
    .map((file) => ({ file, input: new Uint8Array(readFileSync(join(dir, file))), signature: manifest[file] ?? '' }));
}

/** One input per rejection kind first (the smallest), then other signatures, smallest first. Keeps what is there. */
export function saveCorpus(report: TargetReport): number {
  const dir = corpusDir(report.target);
  mkdirSync(dir, { recursive: true });
  const existing = loadCorpus(report.target);
  const manifest: Record<string, string> = Object.fromEntries(existing.map((e) => [e.file, e.signature]));
  const known = new Set(existing.map((e) => e.signature));
  const bySize = [...report.interesting].filter((i) => !known.has(i.signature)).sort((a, b) => a.inputHex.length - b.inputHex.length);
  const kindOf = (signature: string) => signature.split('|')[0];
  const kindsSaved = new Set(existing.map((e) => kindOf(e.signature)));
  const chosen: typeof bySize = [];
  for (const item of bySize) {
    if (!kindsSaved.has(kindOf(item.signature))) {
      kindsSaved.add(kindOf(item.signature));
      chosen.push(item);
    }
  }
  for (const item of bySize) if (!chosen.includes(item)) chosen.push(item);
  let added = 0;
  for (const item of chosen) {
    if (existing.length + added >= MAX_CORPUS_PER_TARGET) break;
    const input = Buffer.from(item.inputHex, 'hex');
    const file = corpusFileName(input);
    if (manifest[file] !== undefined) continue;
    writeFileSync(join(dir, file), input);
    manifest[file] = item.signature;
    added++;
  }
  const sorted = Object.fromEntries(Object.entries(manifest).sort(([a], [b]) => (a < b ? -1 : 1)));
  writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(sorted, null, 1)}\n`);
  return added;
}
