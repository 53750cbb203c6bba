// The CLI's progress line on a fake clock: redrawn in place on a terminal and closed with a newline,
// one line per interval otherwise, the last figures always shown, the rate and time left from what
// the agent acknowledged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describe as describeFigures, PIPED_LINE_MS, progressLine, TTY_REDRAW_MS } from '../../agent/cli/progress.js';

const MIB = 1024 * 1024;

function fake(tty: boolean) {
  let now = 0;
  let out = '';
  const reporter = progressLine({ write: (text: string) => (out += text) }, 'copying', tty, () => now);
  return { reporter, advance: (ms: number) => (now += ms), out: () => out };
}

describe('progress line', () => {
  it('on a terminal: one line redrawn at most every TTY_REDRAW_MS, closed with a newline at the end', () => {
    const f = fake(true);
    f.reporter.update(0, 8 * MIB);
    f.advance(TTY_REDRAW_MS / 2);
    f.reporter.update(1 * MIB, 8 * MIB); // too soon: not drawn
    f.advance(TTY_REDRAW_MS);
    f.reporter.update(2 * MIB, 8 * MIB);
    f.reporter.end();
    const draws = f.out().split('\r').filter((s) => s !== '');
    assert.equal(draws.length, 2, JSON.stringify(f.out()));
    assert.match(draws[0]!, /^stackraft: copying: 0\.0 of 8\.0 MiB \(0%\)\x1b\[K$/);
    assert.match(draws[1]!, /^stackraft: copying: 2\.0 of 8\.0 MiB \(25%\), 5\.3 MiB\/s, about 2 s left\x1b\[K\n$/);
    assert.equal(f.out().split('\n').length, 2, 'a single newline, at the end');
  });

  it('not a terminal: a line per PIPED_LINE_MS, and the last figures at the end even when recent', () => {
    const f = fake(false);
    f.reporter.update(0, 4 * MIB);
    for (let i = 1; i <= 4; i++) {
      f.advance(PIPED_LINE_MS / 2);
      f.reporter.update(i * MIB, 4 * MIB);
    }
    f.reporter.end();
    const lines = f.out().trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => /: ([\d.]+) of/.exec(l)?.[1]), ['0.0', '2.0', '4.0'], f.out());
    assert.ok(!f.out().includes('\r'));
  });

  it('ending before any update prints nothing; an unknown total says so', () => {
    const f = fake(true);
    f.reporter.end();
    assert.equal(f.out(), '');
    assert.equal(describeFigures(3 * MIB, null, { at: 0, done: 0 }, 1000), '3.0 MiB of a size not known yet, 3.0 MiB/s');
    assert.equal(describeFigures(0, 0, { at: 0, done: 0 }, 0), '0.0 of 0.0 MiB (100%)');
  });
});
