// The soak benchmark's pure half: option parsing (defaults, bad values named), the plateau verdict
// and the curve table. The benchmark itself runs real agents for minutes and is not a test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_TABLE_ROWS,
  PLATEAU_SLACK_BYTES,
  curveRows,
  formatClock,
  parseSoakOptions,
  plateauOf,
  verdictText,
  verdicts,
  type MemorySample,
} from '../../bench/soak-report.js';

const MiB = 1024 * 1024;

function sample(site: string, atSeconds: number, rssMiB: number, heapMiB: number | null, pid = 1): MemorySample {
  return {
    atSeconds,
    site,
    pid,
    rssBytes: rssMiB * MiB,
    heapTotalBytes: rssMiB * MiB / 2,
    afterGc:
      heapMiB === null
        ? null
        : { heapUsedBytes: heapMiB * MiB, heapTotalBytes: heapMiB * 2 * MiB, externalBytes: 10 * MiB, arrayBuffersBytes: 5 * MiB, rssBytes: rssMiB * MiB },
  };
}

describe('soak bench options', () => {
  it('has defaults matching the issue: 10 minutes, 18,000 flavors, a kill every minute', () => {
    const opts = parseSoakOptions([]);
    assert.notEqual(opts, 'help');
    assert.deepEqual(opts, {
      minutes: 10,
      flavors: 18_000,
      writers: 4,
      replacePerWrite: 5,
      killEverySeconds: 60,
      downSeconds: 5,
      victim: 'site-3',
      sampleEverySeconds: 20,
      gcEverySamples: 3,
      clouds: 'mock',
      agentNodeArgs: [],
      jsonFile: null,
    });
  });

  it('reads every option, fractions of a minute included', () => {
    const opts = parseSoakOptions(['--minutes', '0.5', '--flavors', '300', '--writers', '2', '--replace-per-write', '3', '--kill-every', '0', '--down', '2', '--victim', 'rotate', '--sample-every', '5', '--gc-every', '1', '--clouds', 'none', '--agent-node-arg=--max-old-space-size=128', '--agent-node-arg=--max-semi-space-size=2', '--json', 'out.json']);
    assert.deepEqual(opts, {
      minutes: 0.5,
      flavors: 300,
      writers: 2,
      replacePerWrite: 3,
      killEverySeconds: 0,
      downSeconds: 2,
      victim: 'rotate',
      sampleEverySeconds: 5,
      gcEverySamples: 1,
      clouds: 'none',
      agentNodeArgs: ['--max-old-space-size=128', '--max-semi-space-size=2'],
      jsonFile: 'out.json',
    });
    assert.equal(parseSoakOptions(['--help']), 'help');
  });

  it('refuses bad values with a message naming the option', () => {
    assert.throws(() => parseSoakOptions(['--minutes', 'ten']), /^Error: --minutes: expected a number from/);
    assert.throws(() => parseSoakOptions(['--minutes', '']), /--minutes/);
    assert.throws(() => parseSoakOptions(['--flavors', '1.5']), /--flavors: expected an integer/);
    assert.throws(() => parseSoakOptions(['--writers', '0']), /--writers/);
    assert.throws(() => parseSoakOptions(['--victim', 'site-9']), /--victim: expected site-1, site-2, site-3, leader or rotate/);
    assert.throws(() => parseSoakOptions(['--flavors', '10', '--writers', '4', '--replace-per-write', '5']), /--flavors: .* at least 20/);
    assert.throws(() => parseSoakOptions(['--kill-every', '10', '--down', '10']), /--down: must be shorter/);
    assert.throws(() => parseSoakOptions(['--gc-every', '0']), /--gc-every/);
    assert.throws(() => parseSoakOptions(['--clouds', 'aws']), /--clouds: expected mock or none/);
    assert.throws(() => parseSoakOptions(['--agent-node-arg=max-old-space-size=1']), /--agent-node-arg: expected a node flag/);
    assert.throws(() => parseSoakOptions(['--bogus']), (err: Error & { code?: string }) => err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION');
  });
});

describe('soak bench plateau verdict', () => {
  it('a curve that rises while warming up and then stays flat plateaus', () => {
    const values = [100, 150, 180, 200, 201, 199, 202, 200, 198, 203].map((m) => m * MiB);
    const v = plateauOf(values);
    assert.equal(v.plateau, true);
    assert.equal(v.middleMedian, 200.5 * MiB); // values 4-7 of 10: 200, 201, 199, 202
  });

  it('a curve that keeps growing does not', () => {
    const values = Array.from({ length: 12 }, (_, i) => (100 + 30 * i) * MiB);
    assert.equal(plateauOf(values).plateau, false);
  });

  it('small figures get an absolute slack, not only a ratio', () => {
    const values = [10, 10, 10, 10, 10, 10, 13, 13, 13].map((m) => m * MiB);
    assert.ok(3 * MiB <= PLATEAU_SLACK_BYTES);
    assert.equal(plateauOf(values).plateau, true);
  });

  it('too few samples give no verdict', () => {
    assert.equal(plateauOf([1, 2, 3, 4, 5].map((m) => m * MiB)).plateau, null);
  });

  it('judges each site and curve on its own samples, in time order', () => {
    const samples: MemorySample[] = [];
    for (let i = 0; i < 18; i++) {
      const gc = i % 2 === 0;
      samples.push(sample('site-1', i * 10, 300, gc ? 60 : null));
      samples.push(sample('site-2', i * 10, 300 + 50 * i, gc ? 60 : null, 100 + Math.floor(i / 6)));
    }
    samples.reverse();
    const byKey = new Map(verdicts(samples).map((v) => [`${v.site} ${v.curve}`, v]));
    assert.equal(byKey.get('site-1 rss')!.plateau, true);
    assert.equal(byKey.get('site-2 rss')!.plateau, false);
    assert.equal(byKey.get('site-2 rss')!.peakBytes, 1150 * MiB);
    assert.equal(byKey.get('site-2 heapTotal')!.plateau, false);
    // Only the samples with a forced GC count for the after-GC curves.
    assert.equal(byKey.get('site-2 heapUsedAfterGc')!.samples, 9);
    assert.equal(byKey.get('site-2 heapUsedAfterGc')!.plateau, true);
    assert.equal(byKey.get('site-1 rss')!.lives, 1);
    assert.equal(byKey.get('site-2 rss')!.lives, 3);
    assert.match(verdictText(byKey.get('site-2 rss')!), /^GROWING .*3 processes \(killed and restarted\)/);
    assert.match(verdictText(byKey.get('site-1 rss')!), /^plateau \(middle third median 300 MiB, last third 300 MiB, peak 300 MiB, 18 samples\)$/);
  });
});

describe('soak bench table', () => {
  it('one row per sampling round, a site that was down says so', () => {
    const samples = [sample('site-1', 0, 100, 40), sample('site-2', 0.4, 110, 41), sample('site-1', 20.3, 120, null)];
    const rows = curveRows(samples, ['site-1', 'site-2'], (s) => Math.round(s.atSeconds / 20));
    assert.deepEqual(rows, [
      ['0:00', '100 / 50 / 40 / 10', '110 / 55 / 41 / 10'],
      ['0:20', '120 / 60 / - / -', 'down'],
    ]);
  });

  it('a long run prints at most MAX_TABLE_ROWS rows and always the last round', () => {
    const samples = Array.from({ length: 200 }, (_, i) => sample('site-1', i * 5, 100, 40));
    const rows = curveRows(samples, ['site-1'], (s) => s.atSeconds / 5);
    assert.ok(rows.length <= MAX_TABLE_ROWS + 1, `${rows.length} rows`);
    assert.equal(rows.at(-1)![0], formatClock(199 * 5));
    assert.equal(formatClock(605), '10:05');
  });
});
