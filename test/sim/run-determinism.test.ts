// A run is a function of its arguments: the same seed gives the same trace hash and the same
// report, event for event; another seed gives another run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS } from '../../sim/faults.js';
import { DEFAULT_SIM_OPTIONS, type SimOptions } from '../../sim/harness/options.js';
import { runSimulation } from '../../sim/harness/simulation.js';
import { formatReport, type SimReport } from '../../sim/report.js';

const base: SimOptions = { ...DEFAULT_SIM_OPTIONS, sites: 5, voters: 5, durationMs: 25_000, faults: [...FAULT_KINDS] };

/** The report without what may legitimately differ between two runs of one seed (nothing but wall time). */
function comparable(r: SimReport): SimReport {
  const copy = structuredClone(r);
  delete copy.run.wallMs;
  return copy;
}

test('the same seed twice gives the same trace hash and the same report', { timeout: 60_000 }, async () => {
  const a = await runSimulation({ ...base, seed: 42 });
  const b = await runSimulation({ ...base, seed: 42 });
  assert.match(a.report.traceHash, /^[0-9a-f]{16}$/);
  assert.equal(a.report.traceHash, b.report.traceHash);
  assert.deepEqual(comparable(a.report), comparable(b.report));
  assert.equal(formatReport(a.report), formatReport(b.report));
  assert.ok(a.report.run.events > 3_000, `a real run happened (${a.report.run.events} events)`);
  assert.ok(a.report.writes.committed > 50, `writes committed: ${a.report.writes.committed}`);
  assert.ok(a.report.run.faultEpisodes > 0, 'faults happened');
});

test('another seed gives another run; so does another fault set on the same seed', { timeout: 60_000 }, async () => {
  const a = await runSimulation({ ...base, seed: 42 });
  const b = await runSimulation({ ...base, seed: 43 });
  const c = await runSimulation({ ...base, seed: 42, faults: ['loss'] });
  assert.notEqual(a.report.traceHash, b.report.traceHash);
  assert.notEqual(a.report.traceHash, c.report.traceHash);
  for (const r of [a, b, c]) assert.equal(r.verdict, 'pass', r.failures.map((f) => f.message).join('\n'));
});

test('edge topologies run and pass: one site, two sites, seven sites all voters', { timeout: 60_000 }, async () => {
  for (const [sites, voters] of [[1, 1], [2, 2], [7, 'all']] as const) {
    const r = await runSimulation({ ...base, sites, voters, seed: 5, durationMs: 20_000 });
    assert.equal(r.verdict, 'pass', `${sites} sites: ${r.failures.map((f) => `[${f.check}] ${f.message}`).join('\n')}`);
    assert.equal(r.report.run.voters, sites);
    assert.ok(r.report.writes.attempted > 0);
  }
});
