// A quick "zod would accept this as it is" test, compiled once from a zod schema, for the admin
// API's hot path: every write body and spec is checked on the leader before it is proposed, and a
// zod parse costs microseconds of generic machinery (payload objects, issue lists, output copies)
// that a valid request does not need. The test only ever says yes or "ask zod": a request it does
// not accept is parsed by the schema as before, so every error message stays the schema's. The
// rules are the schema's own too: the test runs the schema's checks (`_zod.check`: lengths,
// patterns, ranges, refinements) and adds only the type tests in front of them.
//
// What it accepts, zod accepts with an output equal to the input (no transforms, defaults or
// stripped keys are compiled): callers may use the input as the parsed value. A schema with any
// part it does not know (transforms, defaults, formats such as url, coercion) compiles to null, and
// then zod is always asked. test/admin/quick-accept.test.ts checks both halves against zod.
import type { z } from 'zod';

export type QuickAccept = (value: unknown) => boolean;

interface ZodInternals {
  _zod: { def: Record<string, unknown> & { type: string; checks?: ZodCheck[] }; values?: Set<unknown> };
}

interface ZodCheck {
  _zod: { check(payload: { value: unknown; issues: unknown[] }): unknown; def: Record<string, unknown> };
}

/** Keys a JSON body may carry that an object copy would not keep as an own data property. */
const UNSAFE_KEY = '__proto__';

const compiled = new WeakMap<object, QuickAccept | null>();

/** The test for `schema`, compiled on first use; null when the schema has a part the test does not know. */
export function quickAcceptOf(schema: z.ZodType): QuickAccept | null {
  let test = compiled.get(schema);
  if (test === undefined) {
    test = compile(schema as unknown as ZodInternals);
    compiled.set(schema, test);
  }
  return test;
}

function compile(schema: ZodInternals): QuickAccept | null {
  const def = schema._zod.def;
  // A schema that is itself a check (z.int(), z.url()...) or coerces its input: not compiled.
  if ((def.check !== undefined && def.type !== 'custom') || def.coerce === true || def.format !== undefined) return null;
  const checks = passesChecks(def.checks ?? []);
  if (checks === null) return null;
  const shape = compileType(schema, def);
  if (shape === null) return null;
  return checks === ALWAYS ? shape : (value) => shape(value) && checks(value);
}

const ALWAYS: QuickAccept = () => true;

/** The schema's own checks, run as zod runs them; any issue (or an async check) means "ask zod". */
function passesChecks(checks: ZodCheck[]): QuickAccept | null {
  if (checks.length === 0) return ALWAYS;
  for (const check of checks) if (typeof check._zod?.check !== 'function') return null;
  return (value) => {
    const payload = { value, issues: [] as unknown[] };
    for (const check of checks) {
      const outcome = check._zod.check(payload);
      if (outcome instanceof Promise || payload.issues.length > 0) return false;
    }
    return true;
  };
}

function compileType(schema: ZodInternals, def: ZodInternals['_zod']['def']): QuickAccept | null {
  switch (def.type) {
    case 'string':
      return (value) => typeof value === 'string';
    case 'number':
      return (value) => typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'enum': {
      const values = schema._zod.values;
      return values ? (value) => typeof value === 'string' && values.has(value) : null;
    }
    case 'literal': {
      const values = def.values as unknown[];
      return (value) => values.includes(value);
    }
    case 'custom': {
      const fn = def.fn as (value: unknown) => unknown;
      return (value) => fn(value) === true;
    }
    case 'optional': {
      const inner = compile(def.innerType as ZodInternals);
      return inner && ((value) => value === undefined || inner(value));
    }
    case 'nullable': {
      const inner = compile(def.innerType as ZodInternals);
      return inner && ((value) => value === null || inner(value));
    }
    case 'array': {
      const element = compile(def.element as ZodInternals);
      return element && ((value) => Array.isArray(value) && value.every((item) => element(item)));
    }
    case 'union': {
      // Each option gives back its input, so whichever zod settles on, the output is the input.
      const options = (def.options as ZodInternals[]).map(compile);
      if (options.some((option) => option === null)) return null;
      return (value) => options.some((option) => option!(value));
    }
    case 'record':
      return compileRecord(def);
    case 'object':
      return compileObject(def);
    default:
      return null;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compileRecord(def: ZodInternals['_zod']['def']): QuickAccept | null {
  const key = compile(def.keyType as ZodInternals);
  const member = compile(def.valueType as ZodInternals);
  if (key === null || member === null) return null;
  return (value) => {
    if (!isPlainObject(value)) return false;
    for (const k of Object.keys(value)) if (k === UNSAFE_KEY || !key(k) || !member(value[k])) return false;
    return true;
  };
}

/**
 * A strict object (unknown keys refused) or a loose one (kept): both give back what they were given.
 * A plain z.object() strips unknown keys, so an input with one is left to zod.
 */
function compileObject(def: ZodInternals['_zod']['def']): QuickAccept | null {
  const shape = def.shape as Record<string, ZodInternals>;
  const catchall = (def.catchall as ZodInternals | undefined)?._zod.def.type;
  if (catchall !== undefined && catchall !== 'never' && catchall !== 'unknown') return null;
  const keepsUnknown = catchall === 'unknown';
  const fields: Array<[string, QuickAccept]> = [];
  for (const [key, fieldSchema] of Object.entries(shape)) {
    const field = compile(fieldSchema);
    if (field === null) return null;
    fields.push([key, field]);
  }
  return (value) => {
    if (!isPlainObject(value)) return false;
    for (const [key, field] of fields) if (!field(Object.hasOwn(value, key) ? value[key] : undefined)) return false;
    for (const key of Object.keys(value)) {
      if (key === UNSAFE_KEY) return false;
      if (!keepsUnknown && !Object.hasOwn(shape, key)) return false;
    }
    return true;
  };
}
