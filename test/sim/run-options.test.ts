// `stackraft sim` and `sim:sweep` arguments: what they accept, what they refuse (with a message
// naming the flag), and that the replay command a report prints parses back to the same run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS } from '../../sim/faults.js';
import {
  DEFAULT_SIM_OPTIONS,
  SimArgsError,
  formatDuration,
  parseDuration,
  parseRate,
  parseSimArgs,
  replayCommand,
  validateSimOptions,
  voterCount,
} from '../../sim/harness/options.js';
import { runSimulation } from '../../sim/harness/simulation.js';
import { parseSweepArgs } from '../../sim/sweep.js';

test('durations and rates in the units people type', () => {
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('45'), 45_000);
  assert.equal(parseDuration('1.5s'), 1_500);
  for (const bad of ['', 'm', '30x', '5 m', '-3s', '1h-2m']) assert.throws(() => parseDuration(bad), SimArgsError, bad);
  assert.equal(parseRate('20/s'), 20);
  assert.equal(parseRate('20'), 20);
  assert.equal(parseRate('1200/m'), 20);
  for (const bad of ['0/s', 'fast', '20/h', '-1']) assert.throws(() => parseRate(bad), SimArgsError, bad);
  for (const ms of [1_800_000, 90_000, 500, 61_000, 3_600_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
});

test('the full command line of the issue parses, with defaults for what is left out', () => {
  const a = parseSimArgs(['--sites', '100', '--seed', '7', '--duration', '30m', '--voters', 'all', '--faults', 'all', '--rate', '20/s', '--out', 'report.json']);
  assert.equal(a.options.sites, 100);
  assert.equal(a.options.seed, 7);
  assert.equal(a.options.durationMs, 1_800_000);
  assert.equal(a.options.voters, 'all');
  assert.equal(voterCount(a.options), 100);
  assert.deepEqual(a.options.faults, [...FAULT_KINDS]);
  assert.equal(a.outPath, 'report.json');
  const d = parseSimArgs([]);
  assert.equal(d.options.sites, DEFAULT_SIM_OPTIONS.sites);
  assert.deepEqual(d.options.faults, []);
  assert.equal(d.options.voters, 5);
  assert.equal(parseSimArgs(['--sites', '3']).options.voters, 3, 'the default voter count never exceeds the sites');
  assert.equal(parseSimArgs(['--sites=12', '--voters=4']).options.voters, 4);
  assert.deepEqual(parseSimArgs(['--faults', 'loss,crash-restart']).options.faults, ['loss', 'crash-restart']);
  assert.equal(parseSimArgs(['--verbose', '--json']).verbose, true);
});

test('bad arguments are refused with a message naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--sites', '0'], /--sites must be between 1 and/],
    [['--sites', 'many'], /--sites expects an integer/],
    [['--seed', '-1'], /invalid seed/],
    [['--duration', '1s'], /--duration must be between/],
    [['--voters', 'some'], /--voters expects an integer/],
    [['--faults', 'meteor'], /unknown fault kind: meteor/],
    [['--rate', '0'], /rate must be in/],
    [['--frobnicate'], /unknown argument "--frobnicate"/],
    [['--sites'], /--sites needs a value/],
  ];
  for (const [argv, pattern] of cases) assert.throws(() => parseSimArgs(argv), (err: Error) => err instanceof SimArgsError && pattern.test(err.message), argv.join(' '));
});

test('the replay command parses back to the same options', () => {
  const runs = [
    parseSimArgs(['--sites', '100', '--seed', '7', '--duration', '30m', '--faults', 'all']).options,
    parseSimArgs(['--sites', '4', '--seed', '123', '--duration', '45s', '--voters', 'all', '--faults', 'loss,leader-kill', '--rate', '7', '--clients', '5']).options,
  ];
  for (const o of runs) {
    const cmd = replayCommand(o);
    assert.match(cmd, /^npm run -s stackraft -- sim /);
    const argv = cmd.replace(/^npm run -s stackraft -- sim /, '').split(' ');
    assert.deepEqual(parseSimArgs(argv).options, o, cmd);
  }
});

test('sweep arguments: seeds required, all faults and 60 s by default, sim options passed through', () => {
  const s = parseSweepArgs(['--seeds', '30', '--sites', '4']);
  assert.equal(s.seeds, 30);
  assert.equal(s.from, 1);
  assert.equal(s.base.sites, 4);
  assert.equal(s.base.durationMs, 60_000);
  assert.deepEqual(s.base.faults, [...FAULT_KINDS]);
  const t = parseSweepArgs(['--seeds', '5', '--from', '100', '--jobs', '1', '--faults', 'none', '--duration', '20s']);
  assert.deepEqual([t.from, t.jobs, t.base.faults.length, t.base.durationMs], [100, 1, 0, 20_000]);
  assert.throws(() => parseSweepArgs(['--sites', '4']), /--seeds is required/);
  assert.throws(() => parseSweepArgs(['--seeds', '0']), /--seeds expects an integer/);
  assert.throws(() => parseSweepArgs(['--seeds', '3', '--seed', '4']), /not a sweep option/);
});

test('programmatic options are validated before anything runs', async () => {
  assert.doesNotThrow(() => validateSimOptions({ ...DEFAULT_SIM_OPTIONS }));
  for (const bad of [{ sites: 0 }, { durationMs: 10 }, { ratePerSec: -1 }, { voters: 0 }, { seed: -3 }, { clients: 0 }]) {
    await assert.rejects(runSimulation({ ...DEFAULT_SIM_OPTIONS, ...bad }), /invalid simulation options/, JSON.stringify(bad));
  }
});
