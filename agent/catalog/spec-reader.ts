// Small readers that check one field of untrusted input and name it when it is wrong. They throw
// SpecError, which the op executor turns into a VALIDATION result: apply itself never throws.

export class SpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'SpecError';
  }
}

export type Fields = Record<string, unknown>;

export interface StringRule {
  min: number;
  max: number;
  pattern?: RegExp;
  /** Shown when `pattern` does not match, e.g. "letters, digits, '.', '_' or '-'". */
  patternHint?: string;
  /** Allow tab and newlines (descriptions); other control characters are always refused. */
  multiline?: boolean;
  /** Refuse leading or trailing white space (Nova's name format). */
  trimmed?: boolean;
}

export interface IntRule {
  min: number;
  max: number;
}

export function fieldPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

export function isPlainObject(value: unknown): value is Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function expectObject(value: unknown, field: string): Fields {
  if (!isPlainObject(value)) throw new SpecError(field, `${field} must be an object`);
  return value;
}

export function rejectUnknownFields(obj: Fields, allowed: readonly string[], parent: string): void {
  const unknown = Object.keys(obj)
    .filter((key) => !allowed.includes(key))
    .sort();
  if (unknown.length > 0) {
    const name = unknown[0];
    throw new SpecError(fieldPath(parent, name), `unknown field '${name}' (allowed: ${allowed.join(', ')})`);
  }
}

function hasField(obj: Fields, key: string): boolean {
  return Object.hasOwn(obj, key) && obj[key] !== undefined && obj[key] !== null;
}

/** Characters as the OpenStack services count them (code points, not UTF-16 units). */
export function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const CONTROL_CHARS_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function checkString(value: unknown, field: string, rule: StringRule): string {
  if (typeof value !== 'string') throw new SpecError(field, `${field} must be a string`);
  if (!unitsWithin(value.length, rule)) {
    const length = charCount(value);
    if (length < rule.min || length > rule.max) {
      const range = rule.min === rule.max ? `${rule.min}` : `${rule.min}-${rule.max}`;
      throw new SpecError(field, `${field} must be ${range} characters long (got ${length})`);
    }
  }
  const control = rule.multiline ? CONTROL_CHARS_EXCEPT_WHITESPACE : CONTROL_CHARS;
  if (control.test(value)) throw new SpecError(field, `${field} must not contain control characters`);
  if (rule.trimmed && value.trim() !== value) {
    throw new SpecError(field, `${field} must not start or end with white space`);
  }
  if (rule.pattern && !rule.pattern.test(value)) {
    const hint = rule.patternHint ? `: ${rule.patternHint}` : '';
    throw new SpecError(field, `${field} has an invalid format ${JSON.stringify(value)}${hint}`);
  }
  return value;
}

/**
 * Whether a string of `units` UTF-16 units is within the rule's length whatever it holds: it has
 * between units / 2 (all surrogate pairs) and units code points. Saves counting the code points of
 * every string of every apply (a 256-character description walked one code point at a time).
 */
function unitsWithin(units: number, rule: StringRule): boolean {
  return units <= rule.max && Math.ceil(units / 2) >= rule.min;
}

export function readString(obj: Fields, key: string, parent: string, rule: StringRule): string {
  const field = fieldPath(parent, key);
  if (!hasField(obj, key)) throw new SpecError(field, `${field} is required`);
  return checkString(obj[key], field, rule);
}

export function readOptionalString(obj: Fields, key: string, parent: string, rule: StringRule): string | undefined {
  return hasField(obj, key) ? checkString(obj[key], fieldPath(parent, key), rule) : undefined;
}

export function checkInt(value: unknown, field: string, rule: IntRule): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new SpecError(field, `${field} must be an integer`);
  }
  if (value < rule.min || value > rule.max) {
    throw new SpecError(field, `${field} must be between ${rule.min} and ${rule.max} (got ${value})`);
  }
  return value === 0 ? 0 : value; // no -0 in stored state
}

export function readInt(obj: Fields, key: string, parent: string, rule: IntRule, fallback?: number): number {
  const field = fieldPath(parent, key);
  if (!hasField(obj, key)) {
    if (fallback === undefined) throw new SpecError(field, `${field} is required`);
    return fallback;
  }
  return checkInt(obj[key], field, rule);
}

export function readOptionalInt(obj: Fields, key: string, parent: string, rule: IntRule): number | undefined {
  return hasField(obj, key) ? checkInt(obj[key], fieldPath(parent, key), rule) : undefined;
}

/** A finite number in (minExclusive, max]. */
export function readPositiveNumber(obj: Fields, key: string, parent: string, max: number, fallback: number): number {
  const field = fieldPath(parent, key);
  if (!hasField(obj, key)) return fallback;
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SpecError(field, `${field} must be a number`);
  if (value <= 0 || value > max) throw new SpecError(field, `${field} must be greater than 0 and at most ${max}`);
  return value;
}

export function readBoolean(obj: Fields, key: string, parent: string, fallback: boolean): boolean {
  const field = fieldPath(parent, key);
  if (!hasField(obj, key)) return fallback;
  const value = obj[key];
  if (typeof value !== 'boolean') throw new SpecError(field, `${field} must be true or false`);
  return value;
}

export function checkEnum<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    const shown = typeof value === 'string' ? ` (got ${JSON.stringify(value)})` : '';
    throw new SpecError(field, `${field} must be one of ${allowed.join(', ')}${shown}`);
  }
  return value as T;
}

export function readEnum<T extends string>(
  obj: Fields,
  key: string,
  parent: string,
  allowed: readonly T[],
  fallback?: T,
): T {
  const field = fieldPath(parent, key);
  if (!hasField(obj, key)) {
    if (fallback === undefined) throw new SpecError(field, `${field} is required (one of ${allowed.join(', ')})`);
    return fallback;
  }
  return checkEnum(obj[key], field, allowed);
}

export interface StringMapRule {
  maxEntries: number;
  key: StringRule;
  value: StringRule;
}

/** A string -> string map, returned with sorted keys. Absent = {}. */
export function readStringMap(obj: Fields, key: string, parent: string, rule: StringMapRule): Record<string, string> {
  const field = fieldPath(parent, key);
  if (!hasField(obj, key)) return {};
  const map = expectObject(obj[key], field);
  const keys = Object.keys(map).sort();
  if (keys.length > rule.maxEntries) {
    throw new SpecError(field, `${field} has ${keys.length} entries (at most ${rule.maxEntries})`);
  }
  const entries: Array<[string, string]> = [];
  for (const entryKey of keys) {
    checkString(entryKey, `${field} key`, rule.key);
    entries.push([entryKey, checkString(map[entryKey], `${field}.${entryKey}`, rule.value)]);
  }
  return Object.fromEntries(entries);
}

export interface StringListRule {
  maxItems: number;
  minItems?: number;
  item: StringRule;
  /** Refuse duplicates (otherwise they are kept). */
  unique?: boolean;
}

/** A list of strings. Absent = [] (unless minItems > 0). */
export function readStringList(obj: Fields, key: string, parent: string, rule: StringListRule): string[] {
  const field = fieldPath(parent, key);
  const minItems = rule.minItems ?? 0;
  if (!hasField(obj, key)) {
    if (minItems > 0) throw new SpecError(field, `${field} is required`);
    return [];
  }
  const list = obj[key];
  if (!Array.isArray(list)) throw new SpecError(field, `${field} must be a list`);
  if (list.length < minItems || list.length > rule.maxItems) {
    throw new SpecError(field, `${field} must have ${minItems}-${rule.maxItems} items (got ${list.length})`);
  }
  const items = list.map((item, i) => checkString(item, `${field}[${i}]`, rule.item));
  if (rule.unique) {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item)) throw new SpecError(`${field}[${i}]`, `${field} lists ${JSON.stringify(item)} twice`);
      seen.add(item);
    });
  }
  return items;
}

/** The name field may be left out (it defaults to the resource id, already checked) but must not contradict it. */
export function readNameEqualToId(spec: Fields, key: string, id: string): string {
  const given = spec[key];
  if (given === undefined || given === null) return id;
  if (given !== id) throw new SpecError(`spec.${key}`, `spec.${key} must equal the resource id ${JSON.stringify(id)}`);
  return id;
}
