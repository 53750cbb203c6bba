// Output in the openstack CLI's formats: table (default), json, yaml, value. Show commands print one
// record (fields named by their lowercase key); list commands print rows (columns named by header).
// -c/--column picks columns by header or key, case-insensitively.
import Table from 'cli-table3';
import { stringify as toYaml } from 'yaml';
import { UsageError } from './errors.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'value'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Column<T> {
  /** List header, e.g. 'Is Public'. */
  header: string;
  /** Show field name and JSON key, e.g. 'is_public'. */
  key: string;
  get(row: T): unknown;
}

export function parseFormat(text: string | undefined): OutputFormat {
  if (text === undefined) return 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(text)) throw new UsageError(`-f/--format: expected one of ${OUTPUT_FORMATS.join(', ')}, got ${JSON.stringify(text)}`);
  return text as OutputFormat;
}

/** The columns named by -c (in the order given), or all of them. */
export function selectColumns<T>(columns: Column<T>[], selected: string[]): Column<T>[] {
  if (selected.length === 0) return columns;
  return selected.map((name) => {
    const wanted = name.toLowerCase();
    const column = columns.find((c) => c.header.toLowerCase() === wanted || c.key.toLowerCase() === wanted);
    if (!column) throw new UsageError(`no column named ${JSON.stringify(name)} (columns: ${columns.map((c) => c.key).join(', ')})`);
    return column;
  });
}

/** A value as text for table and value output. */
export function formatCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.every((v) => typeof v !== 'object' || v === null) ? value.map(formatCell).join(', ') : value.map((v) => formatCell(v)).join('\n');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}='${formatCell(v)}'`)
      .join(', ');
  }
  return String(value);
}

/** Plain JSON-able copy (undefined dropped), for json and yaml output. */
function structured(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** ASCII, no colours, no lines between rows: what the openstack CLI prints, and safe in any log. */
const TABLE_CHARS = {
  top: '-', 'top-mid': '+', 'top-left': '+', 'top-right': '+',
  bottom: '-', 'bottom-mid': '+', 'bottom-left': '+', 'bottom-right': '+',
  left: '|', 'left-mid': '+', mid: '-', 'mid-mid': '+', right: '|', 'right-mid': '+', middle: '|',
};

function newTable(head: string[]): Table.Table {
  return new Table({ head, chars: TABLE_CHARS, style: { head: [], border: [], compact: true } });
}

export function renderShow<T>(format: OutputFormat, columns: Column<T>[], row: T): string {
  switch (format) {
    case 'table': {
      const table = newTable(['Field', 'Value']);
      for (const column of columns) table.push([column.key, formatCell(column.get(row))]);
      return `${table.toString()}\n`;
    }
    case 'json':
      return `${JSON.stringify(Object.fromEntries(columns.map((c) => [c.key, structured(c.get(row))])), null, 2)}\n`;
    case 'yaml':
      return toYaml(Object.fromEntries(columns.map((c) => [c.key, structured(c.get(row))])));
    case 'value':
      return columns.map((c) => `${formatCell(c.get(row))}\n`).join('');
  }
}

export function renderList<T>(format: OutputFormat, columns: Column<T>[], rows: T[]): string {
  switch (format) {
    case 'table': {
      const table = newTable(columns.map((c) => c.header));
      for (const row of rows) table.push(columns.map((c) => formatCell(c.get(row))));
      return `${table.toString()}\n`;
    }
    case 'json':
      return `${JSON.stringify(rows.map((row) => Object.fromEntries(columns.map((c) => [c.header, structured(c.get(row))]))), null, 2)}\n`;
    case 'yaml':
      return rows.length === 0 ? '[]\n' : toYaml(rows.map((row) => Object.fromEntries(columns.map((c) => [c.header, structured(c.get(row))]))));
    case 'value':
      return rows.map((row) => `${columns.map((c) => formatCell(c.get(row))).join(' ')}\n`).join('');
  }
}
