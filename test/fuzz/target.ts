// What a fuzz target is: a decoder that takes bytes from outside, driven through the code that
// ships, with its own structure-aware generator and a classification of every answer it gives.
import type { Prng } from '../../sim/prng.js';
import type { Mutator } from './mutate.js';

/** How the code under test answered one input. A throw from `run` is a finding (a crash). */
export type Outcome =
  | { status: 'accepted' }
  /** `kind` is the low-cardinality class counted in the report; `detail` tells inputs apart for the corpus. */
  | { status: 'rejected'; kind: string; detail: string };

export interface FuzzTarget {
  name: string;
  /** The code it drives, for the report. */
  covers: string;
  /** Largest input the generator makes (the decoders' own limits are tested with length fields). */
  maxInputBytes: number;
  /** Well-formed and known-awkward inputs the mutations start from. */
  seeds(): Uint8Array[];
  /** A new input from the target's grammar: a valid structure with a few structural mutations. */
  generate(rng: Prng, mutator: Mutator): Uint8Array;
  /** Deepest nesting structural mutations build (default MAX_NESTING): printers of deep trees can be the bottleneck. */
  maxNesting?: number;
  /** Tokens that byte-level mutation inserts (keywords, field names, syntax). */
  dictionary: readonly string[];
  run(input: Uint8Array): Outcome | Promise<Outcome>;
  /** The answer to an input depends on earlier inputs (the corpus then checks only that nothing throws). */
  stateful?: boolean;
}

export function accepted(): Outcome {
  return { status: 'accepted' };
}

export function rejected(kind: string, detail: string): Outcome {
  return { status: 'rejected', kind, detail };
}

/** The counted signature of an outcome: kind plus the detail with numbers and quoted text folded. */
export function signatureOf(outcome: Outcome): string {
  if (outcome.status === 'accepted') return 'accepted';
  const folded = outcome.detail
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\d+/g, '#')
    .slice(0, 120);
  return `${outcome.kind}|${folded}`;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

const lenientUtf8 = new TextDecoder('utf-8');

export function text(bytes: Uint8Array): string {
  return lenientUtf8.decode(bytes);
}
