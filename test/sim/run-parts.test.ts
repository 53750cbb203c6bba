// The harness's bookkeeping, piece by piece: term runs of a log, reachability intervals, the first
// application of each index, leader loss and election times, resolution of unknown outcomes, and
// the choice of voters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { citySlug, selectSites } from '../../sim/cities.js';
import { Prng } from '../../sim/prng.js';
import { ApplyLog } from '../../sim/harness/apply-log.js';
import { EntryFactsCache } from '../../sim/harness/entries.js';
import { History } from '../../sim/harness/history.js';
import { simPeerId, simSiteAddress } from '../../sim/harness/identity.js';
import { LeaderTracker } from '../../sim/harness/leader-tracker.js';
import { TermRuns } from '../../sim/harness/observed-store.js';
import { MAX_IN_FLIGHT_MS, ReachabilityLog, covered } from '../../sim/harness/reachability.js';
import { chooseTopology } from '../../sim/harness/topology.js';
import { checkConvergence, checkLocalReads, checkPeerUnreachable, type FinalState } from '../../sim/harness/run-checks.js';
import type { SimSite } from '../../sim/harness/site.js';
import { FailureLog } from '../../sim/checkers/failure.js';
import { Catalog, encodeCommand, putOp, writeCommand } from '../../agent/catalog/index.js';
import type { Entry } from '../../consensus/types.js';

const e = (index: number, term: number): Entry => ({ index, term, type: 0, data: new Uint8Array() });

test('term runs follow appends, truncations and snapshots', () => {
  const t = new TermRuns();
  assert.equal(t.termAt(1), undefined);
  t.append([e(1, 1), e(2, 1), e(3, 2), e(4, 2), e(5, 3)]);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((i) => t.termAt(i)), [1, 1, 2, 2, 3, undefined]);
  t.append([e(4, 4), e(5, 4)]); // a new leader overwrote the tail
  assert.deepEqual([3, 4, 5].map((i) => t.termAt(i)), [2, 4, 4]);
  t.append([e(3, 5)]); // truncates 4 and 5
  assert.equal(t.lastIndex, 3);
  assert.equal(t.termAt(4), undefined);
  t.installSnapshot({ index: 3, term: 5, conf: { voters: [], learners: [] } }); // we hold it: log kept
  assert.equal(t.termAt(2), 1);
  t.installSnapshot({ index: 10, term: 6, conf: { voters: [], learners: [] } }); // past our log: reset
  assert.deepEqual([2, 10, 11].map((i) => t.termAt(i)), [undefined, 6, undefined]);
  t.append([e(11, 6)]);
  assert.equal(t.termAt(11), 6);
  // A restart reads the stored log, which keeps entries below its snapshot, then the snapshot.
  const r = new TermRuns();
  r.append([e(5, 2), e(6, 2), e(7, 3), e(8, 3)]);
  r.installSnapshot({ index: 7, term: 3, conf: { voters: [], learners: [] } });
  assert.deepEqual([5, 7, 8].map((i) => r.termAt(i)), [2, 3, 3]);
  // Entries at or below a base the log does not hold are covered by it; the rest are kept.
  const b = new TermRuns();
  b.installSnapshot({ index: 10, term: 4, conf: { voters: [], learners: [] } });
  b.append([e(9, 4), e(10, 4), e(11, 5)]);
  assert.deepEqual([9, 10, 11].map((i) => b.termAt(i)), [undefined, 4, 5]);
});

test('term runs after a restart keep a stored log that starts right above a received snapshot', () => {
  const conf = { voters: [], learners: [] };
  // A follower installed a snapshot at 500 (its log was discarded), appended 501..503 and restarted.
  const t = new TermRuns();
  t.restore([e(501, 3), e(502, 4), e(503, 4)], { index: 500, term: 3, conf });
  assert.deepEqual([499, 500, 501, 502, 503, 504].map((i) => t.termAt(i)), [undefined, 3, 3, 4, 4, undefined]);
  assert.equal(t.lastIndex, 503);
  // Retained entries below the stored snapshot stay readable.
  const r = new TermRuns();
  r.restore([e(5, 2), e(6, 2), e(7, 3), e(8, 3)], { index: 7, term: 3, conf });
  assert.deepEqual([5, 7, 8].map((i) => r.termAt(i)), [2, 3, 3]);
  // Nothing stored past the snapshot.
  const b = new TermRuns();
  b.restore([], { index: 10, term: 4, conf });
  assert.deepEqual([10, 11].map((i) => b.termAt(i)), [4, undefined]);
  assert.equal(b.lastIndex, 10);
  // A log that neither holds nor continues the snapshot cannot come from the store.
  assert.throws(() => new TermRuns().restore([e(9, 2), e(10, 2), e(11, 2)], { index: 10, term: 4, conf }), /neither holds nor continues/);
});

test('state convergence excuses a site behind only by entries committed within the grace before the end', () => {
  const sites = ['a', 'b', 'c'].map((name) => ({ name, isUp: true, downReasons: new Set(), state: 'up' })) as unknown as SimSite[];
  const final = (site: string, appliedIndex: number, stateDigest = `d${appliedIndex}`): FinalState => ({ site, appliedIndex, stateDigest });
  const appliedAt = new Map([[8, 40_000], [9, 59_100], [10, 59_900]]);
  const grace = { firstAppliedAtMs: (i: number) => appliedAt.get(i), graceMs: 1_000 };
  const end = 60_000;

  const recent = new FailureLog('1');
  const r = checkConvergence(recent, sites, [final('a', 10), final('b', 10), final('c', 8)], end, grace);
  assert.deepEqual(recent.failures().map((f) => f.message), [], 'entries 9 and 10 were committed in the last second');
  assert.deepEqual([r.appliedIndex, r.lagging], [10, ['c']]);

  const old = new FailureLog('1');
  const o = checkConvergence(old, sites, [final('a', 10), final('b', 10), final('c', 7)], end, grace);
  assert.equal(o.appliedIndex, null);
  assert.match(old.failures()[0].message, /behind by entries applied elsewhere more than 1000 ms before the end: c$/);

  const split = new FailureLog('1');
  checkConvergence(split, sites, [final('a', 10, 'x'), final('b', 10, 'y'), final('c', 10, 'y')], end, grace);
  assert.match(split.failures()[0].message, /catalogs differ at the same applied index: a \| b, c/);
});

test('reachability: steady cuts and down-times cover a window, flapping cuts never do', () => {
  assert.equal(covered([[0, 5], [5, 10]], 1, 9), true);
  assert.equal(covered([[0, 5], [6, 10]], 1, 9), false);
  assert.equal(covered([[2, 10]], 1, 9), false);
  const r = new ReachabilityLog();
  r.cutApplied(1, { from: ['a'], to: ['b', 'c'], bothWays: true }, 1000);
  r.cutApplied(2, { from: ['a'], to: ['b'], bothWays: true, flapPeriodMs: 100 }, 0);
  assert.equal(r.cutOffThroughout('a', 'b', 1000, 5000), true);
  assert.equal(r.cutOffThroughout('b', 'a', 1000, 5000), true, 'both ways');
  assert.equal(r.cutOffThroughout('a', 'b', 900, 5000), false, 'reachable before the cut');
  r.cutHealed(1, 3000);
  assert.equal(r.cutOffThroughout('a', 'b', 1000, 3000), true);
  assert.equal(r.cutOffThroughout('a', 'b', 1000, 3500), false);
  r.cutApplied(3, { from: ['d'], to: ['e'], bothWays: false }, 0);
  assert.equal(r.cutOffThroughout('d', 'e', 0, 100), true);
  assert.equal(r.cutOffThroughout('e', 'd', 0, 100), false, 'one way only');
  r.siteDown('x', 10_000);
  assert.equal(r.cutOffThroughout('x', 'a', 10_000, 20_000), false, 'its last messages may still arrive');
  assert.equal(r.cutOffThroughout('x', 'a', 10_000 + MAX_IN_FLIGHT_MS, 20_000), true);
  r.siteUp('x', 15_000);
  assert.equal(r.cutOffThroughout('x', 'a', 13_000, 16_000), false);
});

test('the apply log keeps the first application per index, and each key value by index', () => {
  const facts = new EntryFactsCache();
  const log = new ApplyLog();
  const cmd = (seq: number, value: string): Entry => ({
    index: 0,
    term: 1,
    type: 0,
    data: encodeCommand(writeCommand({ clientId: 'c1', seq, time: 1 }, [putOp('flavor', 'wf-0', { name: 'wf-0', vcpus: 1, ram: 1, disk: 1, description: value })])),
  });
  const a = cmd(1, 'c1.1');
  const b = cmd(2, 'c1.2');
  log.note(5, 1, facts.of(a), { ok: true, revisions: [5] }, 100);
  log.note(5, 1, facts.of(a), { ok: true, revisions: [5] }, 200); // a later site: ignored
  log.note(8, 2, facts.of(b), { ok: true, revisions: [8] }, 300);
  log.note(9, 2, facts.of(a), { ok: true, revisions: [5] }, 400); // a duplicate of c1:1: no new change
  assert.equal(log.byWriteId.get('c1:1')?.atMs, 100);
  assert.equal(log.byWriteId.get('c1:1')?.index, 5);
  assert.equal(log.termOf(8), 2);
  assert.deepEqual(log.valueAt('flavor/wf-0', 4), { value: null, revision: 0 });
  assert.deepEqual(log.valueAt('flavor/wf-0', 7), { value: 'c1.1', revision: 5 });
  assert.deepEqual(log.valueAt('flavor/wf-0', 100), { value: 'c1.2', revision: 8 });
  assert.equal(facts.of(a), facts.of(a), 'facts are cached per entry bytes');
  assert.equal(facts.of(a).writeId, 'c1:1');
});

test('unknown outcomes are resolved from the apply log', () => {
  const log = new ApplyLog();
  const facts = new EntryFactsCache();
  const mk = (seq: number): Entry => ({ index: 0, term: 1, type: 0, data: encodeCommand(writeCommand({ clientId: 'c', seq, time: 1 }, [])) });
  log.note(3, 1, facts.of(mk(1)), { ok: true, revisions: [] }, 50);
  log.note(4, 1, facts.of(mk(2)), { ok: false, code: 'CONFLICT', opIndex: 0 }, 60);
  const h = new History();
  const base = { client: 'c', site: 's', namedSites: [], forced: false, attempts: 1, completeMs: undefined };
  h.writes.push({ ...base, id: 1, writeId: 'c:1', invokeMs: 10, effects: [{ key: 'k', mode: 'write', value: 'v1' }], status: 'unknown' });
  h.writes.push({ ...base, id: 2, writeId: 'c:2', invokeMs: 20, effects: [{ key: 'k', mode: 'cas', value: 'v2', expected: 'v0' }], status: 'unknown' });
  h.writes.push({ ...base, id: 3, writeId: 'c:3', invokeMs: 30, effects: [{ key: 'k', mode: 'write', value: 'v3' }], status: 'unknown' });
  h.writes.push({ ...base, id: 4, writeId: 'c:4', invokeMs: 30, completeMs: 35, effects: [{ key: 'k', mode: 'update', value: 'v4' }], status: 'rejected', code: 'CONFLICT', opIndex: 0 });
  const { ops, resolvedUnknown } = h.toRegisterOps(log);
  assert.equal(resolvedUnknown, 3);
  assert.deepEqual(ops.map((o) => [o.id, o.kind, o.outcome, o.completeMs]), [
    ['w1.0', 'write', 'ok', 50],
    ['w2.0', 'cas', 'fail', 60],
    ['w3.0', 'write', 'refused', 30],
    ['w4.0', 'read', 'ok', 35], // a patch of an absent key saw it absent
  ]);
  assert.equal(ops[3].observed, null);
});

test('leader tracking: a lost leader starts the clock, the next term stops it, a healed cut cancels it', () => {
  const t = new LeaderTracker();
  t.onElected('a', 2, 1000);
  assert.deepEqual(t.electionsMs, [], 'the first election is not a recovery');
  t.onLost('a', 2, 5000, 'crash');
  t.onElected('b', 3, 6200);
  assert.deepEqual(t.electionsMs, [1200]);
  t.onLost('b', 3, 7000, 'cut-off');
  t.onReconnected('b');
  t.onElected('b', 3, 7100); // the same term again: nothing new
  t.onLost('b', 3, 9000, 'step-down');
  t.onElected('b', 4, 9500);
  assert.deepEqual(t.electionsMs, [1200, 500]);
  assert.equal(t.changes, 1);
  assert.equal(t.leaderOf(3), 'b');
  t.onLost('a', 2, 9600, 'crash'); // not the current leader
  t.onElected('c', 5, 9700);
  assert.deepEqual(t.electionsMs, [1200, 500]);
});

test('voters spread over regions; every founder gets the same bootstrap lists', () => {
  const sites = selectSites(26);
  const t1 = chooseTopology(sites, 5, new Prng(3).fork('topology'));
  const t2 = chooseTopology(sites, 5, new Prng(3).fork('topology'));
  assert.deepEqual(t1, t2);
  assert.equal(t1.voters.length, 5);
  assert.equal(new Set(t1.voters.map((v) => sites.find((s) => s.name === v)!.region)).size, 5, 'five voters, five regions');
  assert.equal(t1.learners.length, 21);
  assert.deepEqual([...t1.voters, ...t1.learners].sort(), sites.map((s) => s.name).sort());
  assert.equal(chooseTopology(sites, 26, new Prng(3)).learners.length, 0);
  assert.notDeepEqual(chooseTopology(sites, 5, new Prng(4).fork('topology')).voters, t1.voters);
});

test('simulated sites have unique peer ids and addresses the catalog accepts in their records', () => {
  const sites = selectSites(120);
  const ids = new Set(sites.map((s) => simPeerId(s.name)));
  assert.equal(ids.size, 120);
  const catalog = new Catalog();
  const record = (s: (typeof sites)[number], role: 'voter' | 'learner') => ({
    name: s.name,
    peerId: simPeerId(s.name),
    addresses: [simSiteAddress(s.name)],
    region: s.region,
    country: s.country,
    labels: { city: citySlug(s.city) },
    role,
  });
  const ops = sites.slice(0, 100).map((s, i) => putOp('site', s.name, record(s, i % 2 === 0 ? 'voter' : 'learner')));
  const r = catalog.apply({ index: 1, term: 1, type: 0, data: encodeCommand(writeCommand({ clientId: 't', seq: 1, time: 1 }, ops)) });
  assert.deepEqual((r.result as { ok: boolean }).ok, true, JSON.stringify(r.result));
});

test('the PEER_UNREACHABLE check flags only a commit whose named site was cut off for the whole window', () => {
  const facts = new EntryFactsCache();
  const applied = new ApplyLog();
  const leaders = new LeaderTracker();
  leaders.onElected('lead', 3, 0);
  const reach = new ReachabilityLog();
  reach.cutApplied(1, { from: ['far'], to: ['lead', 'other'], bothWays: true }, 1_000);
  const entry = (seq: number): Entry => ({ index: 0, term: 3, type: 0, data: encodeCommand(writeCommand({ clientId: 'c', seq, time: 1 }, [])) });
  const history = new History();
  const write = (seq: number, invokeMs: number, appliedMs: number, named: string[]): void => {
    applied.note(seq, 3, facts.of(entry(seq)), { ok: true, revisions: [] }, appliedMs);
    history.writes.push({ id: seq, client: 'c', site: 'other', writeId: `c:${seq}`, invokeMs, completeMs: appliedMs + 1, status: 'committed', effects: [], namedSites: named, forced: false, attempts: 1 });
  };
  write(1, 5_000, 5_200, ['far', 'lead']); // cut off from 1000 to 5200, window from 3800: violation
  write(2, 1_500, 1_700, ['far', 'other']); // window starts at 300, before the cut: the leader may have heard it
  write(3, 5_000, 5_200, ['other', 'lead']); // names only reachable sites
  const log = new FailureLog('9');
  const checked = checkPeerUnreachable(log, history, applied, leaders, reach, { liveWindowMs: 1_200 });
  assert.equal(checked, 3);
  assert.deepEqual(log.failures().map((f) => f.details?.writeId), ['c:1']);
  assert.match(log.failures()[0].message, /far, which it names, could not reach the leader/);
});

test('the local-read check compares value and revision with the log prefix the site had applied', () => {
  const facts = new EntryFactsCache();
  const applied = new ApplyLog();
  const put = (seq: number, value: string): Entry => ({
    index: 0,
    term: 1,
    type: 0,
    data: encodeCommand(writeCommand({ clientId: 'c', seq, time: 1 }, [putOp('flavor', 'wf-1', { name: 'wf-1', vcpus: 1, ram: 1, disk: 1, description: value })])),
  });
  applied.note(10, 1, facts.of(put(1, 'a')), { ok: true, revisions: [10] }, 1);
  applied.note(20, 1, facts.of(put(2, 'b')), { ok: true, revisions: [20] }, 2);
  applied.note(30, 1, facts.of({ type: 0, data: new Uint8Array() }), { ok: true, revisions: [], noop: true }, 3);
  const history = new History();
  const read = (appliedIndex: number, value: string | null, revision: number): void =>
    history.addLocalRead({ site: 's', key: 'flavor/wf-1', atMs: 3, appliedIndex, value, revision });
  read(5, null, 0);
  read(15, 'a', 10);
  read(25, 'b', 20);
  read(25, 'a', 10); // stale: the site had applied 20
  read(15, 'b', 20); // from the future
  const log = new FailureLog('9');
  assert.equal(checkLocalReads(log, history, applied), 5);
  assert.equal(log.countFor('local-reads'), 2);
});
