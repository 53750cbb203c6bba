// How far a long copy is (`image create --file` / `--from-glance`, `import --kind image --apply`):
// minutes of gigabytes must not pass in a silent terminal. Lines go to stderr only, so stdout keeps
// exactly what -f json|yaml|value promised. On a terminal one line is rewritten in place; with
// --progress and stderr not a terminal (a log, a pipe), a line at most every PIPED_LINE_MS.
// The figures are what the agent has acknowledged: an upload counts the parts the agent stored,
// an adoption the bytes the agent says it took from Glance (the CLI polls the job).
import type { CommandContext, OptionSpec } from './command.js';

export const PROGRESS_OPTION: Record<string, OptionSpec> = {
  progress: { type: 'boolean', help: 'show how far the copy of the image bits is on stderr (bytes done / total, rate); the default when stderr is a terminal' },
};

/** A terminal's line is redrawn at most this often. */
export const TTY_REDRAW_MS = 250;
/** Without a terminal, one line per this interval (and the first and last ones). */
export const PIPED_LINE_MS = 1_000;

export interface ProgressReporter {
  /** Bytes the agent acknowledged so far, of `total` (null: not known yet). */
  update(done: number, total: number | null): void;
  /** The copy ended (well or not): the last figures, and the terminal's line is closed. */
  end(): void;
}

export interface ProgressSink {
  write(text: string): unknown;
}

const NONE: ProgressReporter = { update: () => undefined, end: () => undefined };

/** The reporter the command's options and stderr call for: silent unless stderr is a terminal or --progress was given. */
export function progressFor(ctx: CommandContext, what: string): ProgressReporter {
  const tty = ctx.io.stderrIsTTY === true;
  if (!tty && !ctx.bool('progress')) return NONE;
  return progressLine(ctx.io.stderr, what, tty);
}

export function progressLine(sink: ProgressSink, what: string, tty: boolean, now: () => number = () => performance.now()): ProgressReporter {
  let first: { at: number; done: number } | null = null;
  let lastShown = Number.NEGATIVE_INFINITY;
  let latest: { done: number; total: number | null } | null = null;
  let shownLatest = false;
  let drawn = false;
  const show = (at: number) => {
    const text = `stackraft: ${what}: ${describe(latest!.done, latest!.total, first!, at)}`;
    sink.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
    drawn = true;
    lastShown = at;
    shownLatest = true;
  };
  return {
    update(done, total) {
      const at = now();
      first ??= { at, done };
      latest = { done, total };
      shownLatest = false;
      if (at - lastShown >= (tty ? TTY_REDRAW_MS : PIPED_LINE_MS)) show(at);
    },
    end() {
      if (latest !== null && !shownLatest) show(now());
      if (tty && drawn) sink.write('\n');
      latest = null;
    },
  };
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** `12.0 of 64.0 MiB (18%), 5.3 MiB/s, about 10 s left` (the rate over the copy as this CLI saw it). */
export function describe(done: number, total: number | null, first: { at: number; done: number }, at: number): string {
  const parts = [total === null ? `${mib(done)} MiB of a size not known yet` : `${mib(done)} of ${mib(total)} MiB (${total > 0 ? Math.floor((done * 100) / total) : 100}%)`];
  const seconds = (at - first.at) / 1000;
  if (seconds > 0 && done > first.done) {
    const rate = (done - first.done) / seconds;
    parts.push(`${mib(rate)} MiB/s`);
    if (total !== null && total > done) parts.push(`about ${duration((total - done) / rate)} left`);
  }
  return parts.join(', ');
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
