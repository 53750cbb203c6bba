// The file `stackraft apply -f FILE` reads: YAML or JSON, one or more documents, each a resource, a
// list of resources, or { resources: [...] }. Every entry becomes one op of one atomic batch.
import { parseAllDocuments } from 'yaml';
import { RESOURCE_KINDS, isResourceKind, type JsonObject, type WriteOp } from '../admin/service.js';
import { MAX_BATCH_OPS } from '../admin/vocabulary.js';
import { CliError, EXIT } from './errors.js';

/** Every field of any admin write op (WriteOp), so an entry reads as the request it becomes. */
type EntryField = WriteOp extends infer O ? (O extends unknown ? keyof O : never) : never;
const ENTRY_FIELDS: ReadonlySet<string> = new Set(['kind', 'id', 'op', 'spec', 'patch', 'placement', 'expectedRevision'] satisfies EntryField[]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fileError(file: string, message: string): CliError {
  return new CliError(`${file}: ${message}`, EXIT.USAGE);
}

export function parseResourceFile(text: string, file: string): WriteOp[] {
  const entries: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      const error = doc.errors[0];
      const pos = error.linePos?.[0];
      throw fileError(file, `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}YAML syntax error: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?\s*$/, '')}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) entries.push(...value);
    else if (isObject(value) && Array.isArray(value.resources) && Object.keys(value).length === 1) entries.push(...value.resources);
    else entries.push(value);
  }
  if (entries.length === 0) throw fileError(file, 'no resources in the file');
  if (entries.length > MAX_BATCH_OPS) throw fileError(file, `${entries.length} resources; one apply takes at most ${MAX_BATCH_OPS} (split the file)`);
  const ops = entries.map((entry, index) => entryToOp(entry, `${file}: resource ${index + 1}`));
  const seen = new Set<string>();
  for (const op of ops) {
    const key = `${op.kind}/${op.id}`;
    if (seen.has(key)) throw fileError(file, `${key} appears more than once`);
    seen.add(key);
  }
  return ops;
}

function entryToOp(entry: unknown, where: string): WriteOp {
  if (!isObject(entry)) throw new CliError(`${where}: expected a mapping with kind, id and spec`, EXIT.USAGE);
  for (const field of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(field)) throw new CliError(`${where}: unknown field ${JSON.stringify(field)} (fields: ${[...ENTRY_FIELDS].join(', ')})`, EXIT.USAGE);
  }
  const { kind, id, op = 'put', spec, patch, placement, expectedRevision } = entry;
  if (typeof kind !== 'string' || !isResourceKind(kind)) throw new CliError(`${where}: kind must be one of ${RESOURCE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`, EXIT.USAGE);
  if (typeof id !== 'string' && typeof id !== 'number') throw new CliError(`${where}: id is required`, EXIT.USAGE);
  const common = { kind, id: String(id) };
  const revision = expectedRevision === undefined ? {} : { expectedRevision: checkRevision(expectedRevision, where) };
  const place = placement === undefined ? {} : { placement: checkPlacement(placement, where) };
  switch (op) {
    case 'put':
      if (!isObject(spec)) throw new CliError(`${where} (${kind}/${id}): spec must be a mapping`, EXIT.USAGE);
      return { op: 'put', ...common, spec: spec as JsonObject, ...place, ...revision };
    case 'patch':
      if (!isObject(patch)) throw new CliError(`${where} (${kind}/${id}): patch must be a mapping`, EXIT.USAGE);
      return { op: 'patch', ...common, patch: patch as JsonObject, ...place, ...revision };
    case 'delete':
      return { op: 'delete', ...common, ...revision };
    default:
      throw new CliError(`${where}: op must be put, patch or delete, got ${JSON.stringify(op)}`, EXIT.USAGE);
  }
}

function checkRevision(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new CliError(`${where}: expectedRevision must be a non-negative integer`, EXIT.USAGE);
  return value;
}

/** 'all', a selector, or a list of site names (written as the catalog's `name in (...)` selector). */
function checkPlacement(value: unknown, where: string): string {
  if (value === null) return 'all';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return `site in (${value.join(', ')})`;
  throw new CliError(`${where}: placement must be 'all', a selector string, or a list of site names`, EXIT.USAGE);
}
