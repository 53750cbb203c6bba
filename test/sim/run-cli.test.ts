// `stackraft sim` as a user meets it: through the CLI binary (a child process), the text and JSON
// reports, --out, the exit codes, and the replay line printed when a checker fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_FAILED, EXIT_USAGE, run, type SimIo } from '../../sim/main.js';

const CLI = fileURLToPath(new URL('../../cmd/stackraft.js', import.meta.url));

function capture(): SimIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTTY: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

test('stackraft sim runs, prints the report, writes --out, and exits 0', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'simrun-cli-'));
  try {
    const out = join(dir, 'report.json');
    const r = spawnSync(process.execPath, [CLI, 'sim', '--sites', '4', '--seed', '9', '--duration', '15s', '--faults', 'loss,crash-restart', '--clouds', 'off', '--out', out], { encoding: 'utf8', timeout: 110_000 });
    assert.equal(r.status, 0, r.stderr);
    for (const section of ['run', 'consensus', 'writes', 'commit latency', 'elections', 'convergence', 'checkers', 'trace']) {
      assert.match(r.stdout, new RegExp(`^== ${section}$`, 'm'));
    }
    assert.match(r.stdout, /sites\s+4 \(4 voters, 0 learners\)/);
    assert.match(r.stdout, /verdict\s+PASS/);
    assert.match(r.stdout, /wall time .*× real time/);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(json.verdict, 'pass');
    assert.equal(json.run.seed, '9');
    assert.equal(json.run.replayCommand, 'npm run -s stackraft -- sim --sites 4 --seed 9 --duration 15s --voters 4 --faults loss,crash-restart --rate 20/s --clouds off');
    assert.match(r.stdout, new RegExp(`hash\\s+${json.traceHash}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad arguments exit 2 with the usage; --help exits 0', { timeout: 30_000 }, async () => {
  const bad = spawnSync(process.execPath, [CLI, 'sim', '--sites', 'lots'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, EXIT_USAGE);
  assert.match(bad.stderr, /--sites expects an integer, got "lots"/);
  assert.match(bad.stderr, /usage: stackraft sim/);
  const io = capture();
  assert.equal(await run(['--help'], io), 0);
  assert.match(io.stdout, /usage: stackraft sim/);
});

test('a failing checker exits 1 and prints the command that replays the seed', { timeout: 30_000 }, async () => {
  const io = capture();
  const code = await run(['--sites', '3', '--seed', '4', '--duration', '20s', '--json'], io, {
    hooks: { atHeal: (c) => c.partition({ from: [c.siteNames()[0]], to: c.siteNames().slice(1), bothWays: true }) },
  });
  assert.equal(code, EXIT_FAILED);
  assert.equal(JSON.parse(io.stdout).verdict, 'fail');
  // The cut site misses the reconcilers' sync reports that follow the heal: the sites end apart.
  assert.match(io.stderr, /check failure\(s\), first: \[state-convergence\] seed 4 at/);
  assert.match(io.stderr, /replay with: npm run -s stackraft -- sim --sites 3 --seed 4 --duration 20s --voters 3 --faults none --rate 20\/s\n/);
  // Without --faults the run says which faults it ran (none) before anything else.
  assert.match(io.stderr, /^stackraft sim: no --faults given: this run injects no faults \(the default\); --faults all runs every kind \(partition-halves, .*\)/);
});

test('--verbose narrates the run on stderr', { timeout: 30_000 }, async () => {
  const io = capture();
  assert.equal(await run(['--sites', '3', '--seed', '1', '--duration', '40s', '--faults', 'leader-kill,crash-restart', '--verbose'], io), 0);
  assert.match(io.stderr, /^\s+\d+\.\d{3} s {2}\S+ leads term \d+/m);
  const killed = /fault #1 start leader-kill (\S+)/.exec(io.stderr);
  assert.ok(killed, io.stderr);
  assert.match(io.stderr, new RegExp(`${killed[1]} down \\(crash\\)`));
  assert.match(io.stderr, new RegExp(`fault #1 end leader-kill ${killed[1]}`));
  assert.doesNotMatch(io.stderr, /no --faults given/);
});
