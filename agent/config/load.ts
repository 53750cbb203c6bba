// Reads and validates agent.yaml. Every problem is reported as "<file>: <field path>: <what is
// wrong>" with the line and column where the file has them, all problems at once.
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { describeIssues } from './expect.js';
import { agentConfigSchema, type AgentConfig } from './schema.js';

/** At most this many problems are listed; the rest are counted. */
export const MAX_REPORTED_PROBLEMS = 20;
/** A config file is small; anything bigger is not one. */
export const MAX_CONFIG_BYTES = 1 << 20;

export interface ConfigProblem {
  /** Field path such as `timing.tickMs`, '' for the file as a whole. */
  field: string;
  message: string;
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  readonly file: string;
  readonly problems: ConfigProblem[];

  constructor(file: string, problems: ConfigProblem[]) {
    super(formatProblems(file, problems));
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

function formatProblems(file: string, problems: ConfigProblem[]): string {
  const lines = problems.slice(0, MAX_REPORTED_PROBLEMS).map((p) => {
    const where = p.line !== undefined ? ` (line ${p.line}, column ${p.column ?? 1})` : '';
    return `${file}: ${p.field ? `${p.field}: ` : ''}${p.message}${where}`;
  });
  if (problems.length > MAX_REPORTED_PROBLEMS) lines.push(`${file}: ... and ${problems.length - MAX_REPORTED_PROBLEMS} more problems`);
  return lines.join('\n');
}

/** Reads, parses and validates the config file at `path`. Throws ConfigError. */
export async function loadConfig(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_CONFIG_BYTES) throw new ConfigError(path, [{ field: '', message: `file is ${bytes.length} bytes; a config file is at most ${MAX_CONFIG_BYTES}` }]);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ' (create it from deploy/agent.example.yaml, or pass --config PATH)' : code === 'EACCES' ? ' (is it readable by the agent user?)' : '';
    throw new ConfigError(path, [{ field: '', message: `cannot read the config file: ${(error as Error).message}${hint}` }]);
  }
  return parseConfig(text, path);
}

/** Parses and validates config text; `file` names it in errors. Throws ConfigError. */
export function parseConfig(text: string, file: string): AgentConfig {
  const lineCounter = new LineCounter();
  // logLevel error: the library's warnings would go to stderr outside the agent's log; errors are ours to report.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => {
        const start = error.linePos?.[0];
        return { field: '', message: `YAML syntax error: ${firstLine(error.message)}`, line: start?.line, column: start?.col };
      }),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // An alias without its anchor, or an alias bomb (the library refuses to expand it): both are
    // found only when the document is turned into values, not by the parser.
    throw new ConfigError(file, [{ field: '', message: `YAML error: ${firstLine((error as Error).message)}` }]);
  }
  if (value === null || value === undefined) throw new ConfigError(file, [{ field: '', message: 'the file is empty; expected a mapping of configuration fields' }]);
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(file, [{ field: '', message: 'expected a mapping of configuration fields at the top level' }]);

  const result = agentConfigSchema.safeParse(value);
  if (result.success) return result.data;
  const problems = describeIssues(agentConfigSchema, result.error.issues).map((problem) => ({
    field: problem.field,
    message: problem.message,
    ...positionOf(doc, lineCounter, problem.path),
  }));
  throw new ConfigError(file, problems);
}

/** The yaml library's message without its own position suffix and source excerpt (we add ours). */
function firstLine(text: string): string {
  return text.split('\n')[0].replace(/ at line \d+, column \d+:?\s*$/, '').trim();
}

/** Line and column of the node at `path`, or of its nearest ancestor present in the file. */
function positionOf(doc: Document, lineCounter: LineCounter, path: PropertyKey[]): { line?: number; column?: number } {
  for (let length = path.length; length > 0; length--) {
    const node = doc.getIn(path.slice(0, length) as Array<string | number>, true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}
