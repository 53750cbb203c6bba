// Exit codes of the stackraft CLI and the errors that carry them.

export const EXIT = {
  OK: 0,
  /** Unexpected: a bug, the agent unreachable, a resource not found. */
  UNEXPECTED: 1,
  /** The command line is wrong (unknown command or option, bad value, missing argument). */
  USAGE: 2,
  /** Refused by the cluster, nothing written: NO_LEADER, NO_QUORUM, PEER_UNREACHABLE, BUSY. */
  REFUSED: 3,
  /** Rejected: VALIDATION or CONFLICT (nothing changed). */
  REJECTED: 4,
  /** The outcome of a write is unknown: it may still commit. */
  UNKNOWN: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** What the operator can do next, printed after the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(
    message: string,
    /** The command whose usage line to show (e.g. 'flavor create'). */
    readonly command?: string,
  ) {
    super(message, EXIT.USAGE);
    this.name = 'UsageError';
  }
}

/** An error answer from the admin API. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message, exitCodeOfApiError(status, code), hintOf(code, details));
    this.name = 'ApiError';
  }
}

const REFUSAL_CODES = new Set(['NO_LEADER', 'NO_QUORUM', 'PEER_UNREACHABLE', 'PEER_REACHABLE', 'BUSY']);
const REJECTION_CODES = new Set(['VALIDATION', 'CONFLICT', 'INVALID', 'PAYLOAD_TOO_LARGE']);

export function exitCodeOfApiError(status: number, code: string): ExitCode {
  if (REFUSAL_CODES.has(code)) return EXIT.REFUSED;
  if (REJECTION_CODES.has(code)) return EXIT.REJECTED;
  if (code === 'UNKNOWN') return EXIT.UNKNOWN;
  // A refusal code newer than this CLI: the agent says "refused" through the status.
  if (status === 503) return EXIT.REFUSED;
  return EXIT.UNEXPECTED;
}

function hintOf(code: string, details: Record<string, unknown>): string | undefined {
  switch (code) {
    case 'NO_LEADER':
      return 'nothing was written. No leader is elected right now (an election may be under way): retry in a few seconds, and see `stackraft status`.';
    case 'NO_QUORUM':
      return 'nothing was written. The leader cannot reach a quorum of voters: see `stackraft member list` for the sites that are down.';
    case 'PEER_UNREACHABLE':
      return `nothing was written. ${typeof details.member === 'string' ? `Site ${details.member}` : 'A site this operation names'} must be reachable: see \`stackraft member list\`; where the operation allows it, --force --reason TEXT writes anyway.`;
    case 'PEER_REACHABLE':
      return `nothing was written. ${typeof details.member === 'string' ? `Site ${details.member}` : 'The site this operation moves away from'} is reachable from the leader, so a forced operation could start a split brain: use the planned operation (without --force), or cut the site off first.`;
    case 'BUSY':
      return 'nothing was written. The leader is busy (a backlog or a leadership transfer): retry shortly.';
    case 'CONFLICT':
      return 'nothing was changed. The resource changed since it was read (or already exists): look at it again and re-run the command.';
    case 'NOT_FOUND':
      if (typeof details.final !== 'boolean') return undefined;
      return details.final
        ? 'it will never commit: if it is still wanted, run the command again.'
        : 'a copy still in flight may yet commit: ask again in a few seconds before running the command again.';
    case 'UNKNOWN':
      return typeof details.writeId === 'string'
        ? `the write may still commit. Check with: stackraft write show ${details.writeId}`
        : 'the operation may still complete. Check with: stackraft status';
    case 'COMPACTED':
      return `this site no longer keeps those changes${typeof details.firstIndex === 'number' ? ` (it keeps them from index ${details.firstIndex})` : ''}: read the current state (list/get print the applied index), then watch with --from-index set to that index + 1.`;
    case 'INTERNAL':
      return 'this is a bug in the agent: see its log (journalctl -u stackraft-agent).';
    case 'BAD_REQUEST':
    case 'METHOD_NOT_ALLOWED':
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'the agent did not understand the CLI: are the CLI and the agent the same version?';
    default:
      return undefined;
  }
}
