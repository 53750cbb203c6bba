// Generating YAML documents for the two YAML decoders: a seed document's tree mutated and printed
// by the yaml library, or YAML-specific constructs the printer never writes (anchors and aliases,
// alias bombs, tags, merge keys, flow collections, directives, several documents, deep nesting).
import { stringify } from 'yaml';
import type { Prng } from '../../../sim/prng.js';
import type { Mutator } from '../mutate.js';

export const YAML_TOKENS: readonly string[] = [
  '&a ', '*a', '<<: *a', '!!binary ', '!!str ', '!!int ', '!!float ', '!!map ', '!!seq ', '!!set ', '!!omap ', '!!timestamp ', '!custom ', '!<tag:yaml.org,2002:js/function> ',
  '---\n', '...\n', '%YAML 1.2\n', '%TAG ! tag:x:\n', '? ', ': ', '- ', '[', ']', '{', '}', ',', '|\n', '>-\n', '"', "'", '\\x00', '\\uD800', '#', '\t', '\r\n', '\uFEFF', '~', '.inf', '.nan', '0x7f', '0o17', '1e400', '-0', 'null',
];

/** A classic alias bomb: each level references the previous one ten times. */
function aliasBomb(levels: number): string {
  const lines = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= levels; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

function deepFlow(depth: number): string {
  return `${'['.repeat(depth)}x${']'.repeat(depth)}\n`;
}

function deepBlock(depth: number): string {
  let out = '';
  for (let i = 0; i < depth; i++) out += `${' '.repeat(i)}k${i}:\n`;
  return `${out}${' '.repeat(depth)}x\n`;
}

/** Nesting below which blockYaml prints block collections; deeper ones are printed as flow (JSON), whose size stays linear. */
const BLOCK_DEPTH = 12;
/** A scalar that reads back as the same string when written plain (no quotes): no indicator, number, keyword or ': '. */
const PLAIN_STRING = /^[A-Za-z_/][\w./@-]*(?::[\w./@-]+)*$/;
const KEYWORDS = /^(?:true|false|null|True|False|Null|TRUE|FALSE|NULL|y|n|yes|no|on|off|Yes|No|On|Off|YES|NO|ON|OFF)$/;

function scalarYaml(value: unknown): string {
  if (typeof value === 'string') return PLAIN_STRING.test(value) && !KEYWORDS.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number') return Number.isNaN(value) ? '.nan' : value === Infinity ? '.inf' : value === -Infinity ? '-.inf' : Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(value) ?? 'null';
}

function isNonEmptyCollection(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

function blockLines(value: Record<string, unknown> | unknown[], indent: string, depth: number, out: string[]): void {
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v) => ['-', v]) : Object.keys(value).map((k) => [`${scalarYaml(k)}:`, value[k]]);
  for (const [lead, member] of entries) {
    if (isNonEmptyCollection(member) && depth < BLOCK_DEPTH) {
      out.push(`${indent}${lead}`);
      blockLines(member, `${indent}  `, depth + 1, out);
    } else {
      out.push(`${indent}${lead} ${isNonEmptyCollection(member) || typeof member === 'object' ? (JSON.stringify(member) ?? 'null') : scalarYaml(member)}`);
    }
  }
}

/**
 * Block YAML of a plain value, written directly (the yaml library's stringify builds a whole
 * document first and costs most of a generated input): block mappings and sequences, plain
 * scalars where they read back unchanged, JSON (valid YAML) for other strings and deep subtrees.
 */
export function blockYaml(value: unknown): string {
  if (!isNonEmptyCollection(value)) return `${scalarYaml(value)}\n`;
  const out: string[] = [];
  blockLines(value, '', 0, out);
  return `${out.join('\n')}\n`;
}

/** The library's rendering of a seed, which never changes: printed once. */
const printedSeeds = new WeakMap<object, string>();
function stringifySeed(seed: unknown): string {
  if (typeof seed !== 'object' || seed === null) return stringify(seed);
  let text = printedSeeds.get(seed);
  if (text === undefined) printedSeeds.set(seed, (text = stringify(seed)));
  return text;
}

/** A YAML text built around `seed` (a plain JS object). */
export function generateYaml(seed: unknown, rng: Prng, m: Mutator): string {
  switch (rng.int(40)) {
    case 0:
      return aliasBomb(1 + rng.int(9));
    case 1:
      // Deep documents are slow to parse and seldom new: mostly shallow ones. Past ~1,000 levels the yaml
      // library overflows the stack and reports it (a ConfigError); 8 KiB of '[' takes it ~0.6 s.
      return rng.chance(0.5) ? deepFlow(1 + rng.int(rng.chance(0.9) ? 100 : 2_000)) : deepBlock(1 + rng.int(rng.chance(0.9) ? 50 : 350));
    case 2:
    case 3: {
      const body = stringifySeed(seed);
      return `base: &a\n${body.replace(/^/gm, '  ')}merged:\n  <<: *a\n  extra: *a\n`;
    }
    case 4:
      return `${stringifySeed(seed)}---\n${blockYaml(m.tree(seed, false))}`;
    default: {
      let value: unknown;
      try {
        value = m.tree(seed, false);
        // One in four through the library's printer, for the styles it writes (block scalars, anchors for shared objects).
        return rng.chance(0.25) ? stringify(value, { aliasDuplicateObjects: rng.chance(0.5) }) : blockYaml(value);
      } catch {
        return stringifySeed(seed);
      }
    }
  }
}
