import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, latencyRatio, overallVerdict, reportToJson, type SimReport } from '../../sim/report.js';

function sample(): SimReport {
  return {
    run: { seed: '42', sites: 100, voters: 5, learners: 95, virtualDurationMs: 600_000, faults: ['loss', 'crash-restart'], faultEpisodes: 37, events: 12_345_678, wallMs: 30_000, replayCommand: 'node dist/sim/run.js --seed 42 --sites 100 --faults loss,crash-restart' },
    consensus: { leaderTerms: 4, highestTerm: 6, leaderChanges: 3, finalLeader: 'london', commitIndex: 5000, messages: 2_000_000, bytes: 300 << 20, messagesByType: { append: 10, heartbeat: 20 }, dropped: { partition: 5, loss: 0 } },
    writes: { attempted: 5100, committed: 5000, refused: 90, unknown: 10, refusedByCode: { NO_QUORUM: 90 } },
    commitLatency: { samples: 5000, p50Ms: 48.2, p99Ms: 120.5, physicalFloorMs: 24.1 },
    elections: { count: 4, p50Ms: 850, p99Ms: 1900 },
    convergence: { healedAtMs: 540_000, leaderAfterMs: 0, convergedAfterMs: 312.5 },
    checkers: [
      { name: 'election-safety', verdict: 'pass' },
      { name: 'linearizability', verdict: 'inconclusive', detail: '1 key over the search bound' },
    ],
    traceHash: '0123456789abcdef',
  };
}

test('the text report has every section and the key figures', () => {
  const text = formatReport(sample());
  for (const section of ['run', 'consensus', 'writes', 'commit latency', 'elections', 'convergence', 'checkers', 'trace']) {
    assert.match(text, new RegExp(`^== ${section}$`, 'm'), section);
  }
  assert.match(text, /seed\s+42/);
  assert.match(text, /100 \(5 voters, 95 learners\)/);
  assert.match(text, /12,345,678 events/);
  assert.match(text, /20\.0× real time/);
  assert.match(text, /p50 \/ floor\s+2\.00×/);
  assert.match(text, /5000 committed, 90 refused, 10 unknown/);
  assert.match(text, /converged after\s+313 ms/);
  assert.match(text, /linearizability\s+inconclusive {2}1 key over the search bound/);
  assert.match(text, /verdict\s+INCONCLUSIVE/);
  assert.match(text, /hash\s+0123456789abcdef/);
  assert.match(text, /300\.0 MiB/);
});

test('failures are listed with seed, time and sites, and make the verdict FAIL', () => {
  const r = sample();
  r.checkers.push({
    name: 'state-machine-safety',
    verdict: 'fail',
    failures: Array.from({ length: 7 }, (_, i) => ({ check: 'state-machine-safety', seed: '42', atMs: 1000 + i, sites: ['a', 'b'], message: `index ${i} differs` })),
  });
  const text = formatReport(r);
  assert.match(text, /state-machine-safety\s+FAIL/);
  assert.match(text, /\[state-machine-safety\] seed 42 at 1000\.0 ms \(sites a, b\): index 0 differs/);
  assert.match(text, /… 2 more \(see --json\)/);
  assert.equal(overallVerdict(r), 'fail');
});

test('JSON output parses, carries the verdict and ratio, and has no NaN', () => {
  const r = sample();
  r.commitLatency.physicalFloorMs = 0; // a one-voter cluster has no floor
  r.elections.p99Ms = NaN;
  const doc = JSON.parse(reportToJson(r));
  assert.equal(doc.verdict, 'inconclusive');
  assert.equal(doc.commitLatency.ratioP50, null);
  assert.equal(doc.elections.p99Ms, null);
  assert.equal(doc.run.seed, '42');
  assert.ok(Number.isNaN(latencyRatio(r)));
  const passing = sample();
  passing.checkers = [{ name: 'x', verdict: 'pass' }];
  assert.equal(overallVerdict(passing), 'pass');
  assert.match(formatReport({ ...passing, convergence: { healedAtMs: null, leaderAfterMs: null, convergedAfterMs: null } }), /heal\s+n\/a \(no faults\)/);
});
