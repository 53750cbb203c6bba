// Placement: which sites a resource belongs on. Parsed once at write time (the stored form is the
// parsed one plus the operator's text) and evaluated by every site against its own site record.
//
// Grammar (keywords case-insensitive):
//   selector    := requirement ((',' | 'and') requirement)*
//   requirement := field ('=' | '==' | '!=') value
//                | field ('in' | 'notin' | 'not in') '(' value (',' value)* ')'
//   field       := 'region' | 'country' | 'site' | 'labels.' labelKey
//   value       := bare word [A-Za-z0-9._:@+/-]+ | "double" or 'single' quoted text
// Requirements combine with AND. A missing label matches '!=' and 'notin' and never '=' or 'in'.
import { charCount, checkString, SpecError, type StringRule } from './spec-reader.js';
import { LABEL_KEY, LABEL_VALUE, REGION_NAME, SITE_NAME } from './names.js';
import { normalizeCountryCode } from './countries.js';
import {
  MAX_PLACEMENT_REQUIREMENTS,
  MAX_PLACEMENT_SITES,
  MAX_PLACEMENT_TEXT_CHARS,
  MAX_PLACEMENT_VALUES,
} from './limits.js';
import type {
  Placement,
  PlacementField,
  PlacementOperator,
  PlacementRequirement,
  PlacementTarget,
} from './types.js';

// Placements are built in sorted key order, the order their records are encoded in (codec.ts), so
// encoding a resource does not copy it and everything around it.
export const PLACEMENT_ALL: Placement = Object.freeze({ text: 'all', type: 'all' });

export type PlacementParseResult = { ok: true; placement: Placement } | { ok: false; message: string };

/** Parses what a writer gave; never throws. */
export function parsePlacement(input: unknown): PlacementParseResult {
  try {
    return { ok: true, placement: placementFromInput(input) };
  } catch (error) {
    if (error instanceof SpecError) return { ok: false, message: error.message };
    throw error;
  }
}

/** Throws SpecError (field 'placement') on bad input. */
export function placementFromInput(input: unknown): Placement {
  if (Array.isArray(input)) return siteListPlacement(input);
  if (typeof input !== 'string') {
    throw new SpecError('placement', "placement must be 'all', a list of site names or a selector expression");
  }
  const text = input.trim();
  if (text === 'all' || text === '*') return { text, type: 'all' };
  if (text === '') throw new SpecError('placement', 'placement expression is empty');
  if (charCount(text) > MAX_PLACEMENT_TEXT_CHARS) {
    throw new SpecError('placement', `placement expression is longer than ${MAX_PLACEMENT_TEXT_CHARS} characters`);
  }
  return { requirements: new SelectorParser(text).parse(), text, type: 'selector' };
}

function siteListPlacement(names: unknown[]): Placement {
  if (names.length === 0) throw new SpecError('placement', 'placement site list is empty');
  if (names.length > MAX_PLACEMENT_SITES) {
    throw new SpecError('placement', `placement lists ${names.length} sites (at most ${MAX_PLACEMENT_SITES})`);
  }
  const sites = [...new Set(names.map((name, i) => checkPlacementString(name, `placement[${i}]`, SITE_NAME)))].sort();
  return { sites, text: sites.join(', '), type: 'sites' };
}

function checkPlacementString(value: unknown, what: string, rule: StringRule): string {
  try {
    return checkString(value, what, rule);
  } catch (error) {
    if (error instanceof SpecError) throw new SpecError('placement', error.message);
    throw error;
  }
}

// ---------------------------------------------------------------- evaluation

export function placementSelects(placement: Placement, site: PlacementTarget): boolean {
  switch (placement.type) {
    case 'all':
      return true;
    case 'sites':
      return placement.sites.includes(site.name);
    case 'selector':
      return placement.requirements.every((requirement) => requirementMatches(requirement, site));
  }
}

function siteValue(requirement: PlacementRequirement, site: PlacementTarget): string | undefined {
  switch (requirement.field) {
    case 'region':
      return site.region;
    case 'country':
      return site.country;
    case 'site':
      return site.name;
    case 'label':
      return requirement.key !== undefined && Object.hasOwn(site.labels, requirement.key)
        ? site.labels[requirement.key]
        : undefined;
  }
}

function requirementMatches(requirement: PlacementRequirement, site: PlacementTarget): boolean {
  const value = siteValue(requirement, site);
  const listed = value !== undefined && requirement.values.includes(value);
  return requirement.operator === 'in' || requirement.operator === '=' ? listed : !listed;
}

/** Renders the parsed form back to canonical text (for display and round-trip tests). */
export function formatPlacement(placement: Placement): string {
  switch (placement.type) {
    case 'all':
      return 'all';
    case 'sites':
      return placement.sites.join(', ');
    case 'selector':
      return placement.requirements.map(formatRequirement).join(', ');
  }
}

function formatRequirement(requirement: PlacementRequirement): string {
  const field = requirement.field === 'label' ? `labels.${requirement.key}` : requirement.field;
  const values = requirement.values.map((value) => (BARE_WORD.test(value) ? value : JSON.stringify(value)));
  if (requirement.operator === '=' || requirement.operator === '!=') return `${field} ${requirement.operator} ${values[0]}`;
  return `${field} ${requirement.operator} (${values.join(', ')})`;
}

// ---------------------------------------------------------------- parsing

const BARE_WORD = /^[A-Za-z0-9._:@+/-]+$/;

type Token =
  | { type: 'word'; text: string; at: number }
  | { type: 'quoted'; text: string; at: number }
  | { type: 'punct'; text: '(' | ')' | ',' | '=' | '==' | '!='; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: 'punct', text: c, at: i++ });
    } else if (c === '=' || c === '!') {
      const two = text.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        tokens.push({ type: 'punct', text: two, at: i });
        i += 2;
      } else if (c === '=') {
        tokens.push({ type: 'punct', text: '=', at: i++ });
      } else {
        throw placementError(`unexpected '!' at position ${i + 1} (did you mean '!='?)`);
      }
    } else if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw placementError(`unterminated quote starting at position ${i + 1}`);
      tokens.push({ type: 'quoted', text: text.slice(i + 1, end), at: i });
      i = end + 1;
    } else {
      const match = /^[A-Za-z0-9._:@+/-]+/.exec(text.slice(i));
      if (!match) throw placementError(`unexpected character ${JSON.stringify(c)} at position ${i + 1}`);
      tokens.push({ type: 'word', text: match[0], at: i });
      i += match[0].length;
    }
  }
  return tokens;
}

function placementError(message: string): SpecError {
  return new SpecError('placement', `placement: ${message}`);
}

const VALUE_RULES: Record<PlacementField, StringRule> = {
  region: REGION_NAME,
  country: { min: 2, max: 2 },
  site: SITE_NAME,
  label: LABEL_VALUE,
};

class SelectorParser {
  private readonly tokens: Token[];
  private position = 0;

  constructor(text: string) {
    this.tokens = tokenize(text);
  }

  parse(): PlacementRequirement[] {
    const requirements = [this.requirement()];
    while (!this.atEnd()) {
      const separator = this.next('a comma or "and" between requirements');
      const isAnd = separator.type === 'word' && separator.text.toLowerCase() === 'and';
      if (!isAnd && !(separator.type === 'punct' && separator.text === ',')) {
        throw this.unexpected(separator, 'a comma or "and" between requirements');
      }
      requirements.push(this.requirement());
      if (requirements.length > MAX_PLACEMENT_REQUIREMENTS) {
        throw placementError(`more than ${MAX_PLACEMENT_REQUIREMENTS} requirements`);
      }
    }
    return requirements;
  }

  private requirement(): PlacementRequirement {
    const fieldToken = this.next('a field (region, country, site or labels.<key>)');
    const { field, key } = this.field(fieldToken);
    const operator = this.operator();
    const raw = operator === '=' || operator === '!=' ? [this.value()] : this.valueList();
    const values = [...new Set(raw.map((value) => this.checkValue(field, value)))].sort();
    return key === undefined ? { field, operator, values } : { field, key, operator, values };
  }

  private field(token: Token): { field: PlacementField; key?: string } {
    if (token.type === 'word') {
      const lower = token.text.toLowerCase();
      if (lower === 'region' || lower === 'country' || lower === 'site') return { field: lower };
      if (lower.startsWith('labels.')) {
        const key = token.text.slice('labels.'.length);
        return { field: 'label', key: checkPlacementString(key, `placement label key ${JSON.stringify(key)}`, LABEL_KEY) };
      }
    }
    throw this.unexpected(token, 'a field (region, country, site or labels.<key>)');
  }

  private operator(): PlacementOperator {
    const token = this.next('an operator (in, notin, =, !=)');
    if (token.type === 'punct' && (token.text === '=' || token.text === '==')) return '=';
    if (token.type === 'punct' && token.text === '!=') return '!=';
    if (token.type === 'word') {
      const lower = token.text.toLowerCase();
      if (lower === 'in') return 'in';
      if (lower === 'notin') return 'notin';
      if (lower === 'not') {
        const following = this.next("'in' after 'not'");
        if (following.type === 'word' && following.text.toLowerCase() === 'in') return 'notin';
        throw this.unexpected(following, "'in' after 'not'");
      }
    }
    throw this.unexpected(token, 'an operator (in, notin, =, !=)');
  }

  private value(): string {
    const token = this.next('a value');
    if (token.type === 'word' || token.type === 'quoted') return token.text;
    throw this.unexpected(token, 'a value');
  }

  private valueList(): string[] {
    const open = this.next("'('");
    if (open.type !== 'punct' || open.text !== '(') throw this.unexpected(open, "'(' to open the value list");
    const values = [this.value()];
    for (;;) {
      const token = this.next("',' or ')'");
      if (token.type === 'punct' && token.text === ')') return values;
      if (token.type !== 'punct' || token.text !== ',') throw this.unexpected(token, "',' or ')'");
      values.push(this.value());
      if (values.length > MAX_PLACEMENT_VALUES) throw placementError(`more than ${MAX_PLACEMENT_VALUES} values in one list`);
    }
  }

  private checkValue(field: PlacementField, value: string): string {
    if (field === 'country') {
      const code = normalizeCountryCode(value);
      if (code === undefined) {
        throw placementError(`${JSON.stringify(value)} is not an ISO 3166-1 alpha-2 country code (e.g. CA, US, DE)`);
      }
      return code;
    }
    return checkPlacementString(value, `placement ${field} value ${JSON.stringify(value)}`, VALUE_RULES[field]);
  }

  private atEnd(): boolean {
    return this.position >= this.tokens.length;
  }

  private next(expected: string): Token {
    const token = this.tokens[this.position++];
    if (token === undefined) throw placementError(`expected ${expected} at the end of the expression`);
    return token;
  }

  private unexpected(token: Token, expected: string): SpecError {
    return placementError(`expected ${expected} at position ${token.at + 1}, found ${JSON.stringify(token.text)}`);
  }
}
