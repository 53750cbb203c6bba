// Building blocks for zod schemas whose errors read "expected a positive integer, got -5": used by
// the config file and by the admin API, so an operator sees the same style of message everywhere.
import { z } from 'zod';

const MAX_SHOWN_STRING = 60;

/** A short, safe rendering of a value a user supplied, for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const shown = value.length > MAX_SHOWN_STRING ? `${value.slice(0, MAX_SHOWN_STRING)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** zod `error` parameter: "required field is missing" for absent values, else "expected WHAT, got VALUE". */
export function expecting(what: string): { error: (issue: { input?: unknown }) => string } {
  return {
    error: (issue) => (issue.input === undefined ? 'required field is missing' : `expected ${what}, got ${describeValue(issue.input)}`),
  };
}

export function integerIn(min: number, max: number, what = `an integer from ${min} to ${max}`) {
  const e = expecting(what);
  return z.number(e).int(e).min(min, e).max(max, e);
}

export function positiveInteger(max = Number.MAX_SAFE_INTEGER) {
  return integerIn(1, max, max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `a positive integer up to ${max}`);
}

export function nonNegativeInteger(what = 'a non-negative integer') {
  return integerIn(0, Number.MAX_SAFE_INTEGER, what);
}

export function patternString(pattern: RegExp, what: string) {
  const e = expecting(what);
  return z.string(e).regex(pattern, e);
}

export function boundedString(maxLength: number, what = `a non-empty string of at most ${maxLength} characters`) {
  const e = expecting(what);
  return z.string(e).min(1, e).max(maxLength, e);
}

export function booleanValue() {
  return z.boolean(expecting('true or false'));
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, expecting(`one of ${values.join(', ')}`));
}

/** Renders a zod issue path as `timing.tickMs` or `peers[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Names of the object fields a schema accepts at `path` (through optional/default/union/array wrappers). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown[] = [schema];
  for (const part of [...path, null]) {
    const next: unknown[] = [];
    const keys = new Set<string>();
    for (const node of current.flatMap(unwrapSchema)) {
      const def = (node as { _zod: { def: Record<string, unknown> } })._zod.def;
      if (def.type === 'object') {
        const shape = def.shape as Record<string, unknown>;
        for (const key of Object.keys(shape)) keys.add(key);
        if (part !== null && typeof part === 'string' && shape[part]) next.push(shape[part]);
      } else if (def.type === 'array' && typeof part === 'number') {
        next.push(def.element);
      } else if (def.type === 'record' && part !== null) {
        next.push(def.valueType);
      }
    }
    if (part === null) return [...keys];
    current = next;
  }
  return [];
}

function unwrapSchema(node: unknown): unknown[] {
  const def = (node as { _zod: { def: Record<string, unknown> } })._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return unwrapSchema(def.innerType);
    case 'pipe':
      return unwrapSchema(def.in);
    case 'union':
      return (def.options as unknown[]).flatMap(unwrapSchema);
    case 'intersection':
      return [...unwrapSchema(def.left), ...unwrapSchema(def.right)];
    default:
      return [node];
  }
}

/** The known name closest to a mistyped one, if it is close enough to be a likely typo. */
export function closestName(typo: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const distance = name.toLowerCase() === typo.toLowerCase() ? 0 : editDistance(typo, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(2, Math.floor(typo.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = row;
  }
  return previous[b.length];
}

export interface FieldProblem {
  /** `timing.tickMs`; '' for the whole document. */
  field: string;
  path: PropertyKey[];
  message: string;
}

/** One readable problem per zod issue; unknown fields become one problem each, with a suggestion. */
export function describeIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const suggestion = closestName(key, known);
        const path = [...issue.path, key];
        problems.push({
          field: formatPath(path),
          path,
          message: `unknown field${suggestion ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (known fields: ${known.join(', ')})` : ''}`,
        });
      }
      continue;
    }
    problems.push({ field: formatPath(issue.path), path: [...issue.path], message: issue.message });
  }
  return problems;
}
