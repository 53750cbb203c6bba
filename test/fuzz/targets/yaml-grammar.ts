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
      const body = stringify(seed);
      return `base: &a\n${body.replace(/^/gm, '  ')}merged:\n  <<: *a\n  extra: *a\n`;
    }
    case 4:
      return `${stringify(seed)}---\n${stringify(m.tree(seed, false))}`;
    default: {
      let value: unknown;
      try {
        value = m.tree(seed, false);
        return stringify(value, { aliasDuplicateObjects: rng.chance(0.5) });
      } catch {
        return stringify(seed);
      }
    }
  }
}
