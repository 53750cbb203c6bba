// `stackraft sim --html FILE`: the run as one self-contained page to look at — a timeline of faults,
// leaders per term, elections and where a checker tripped; the commit-latency distribution against
// the physical floor; when each site converged after the heal; the checker verdicts. The charts are
// Vega-Lite specifications rendered to inline SVG here in Node (no script, no external resource in
// the page, so it opens offline and in a mail attachment alike).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { formatFailure } from './checkers/failure.js';
import type { SimTimeline } from './harness/timeline.js';
import { latencyRatio, overallVerdict, type SimReport } from './report.js';

const CHART_WIDTH = 960;
/** Failures listed per checker in the page (the JSON report has them all). */
const FAILURES_SHOWN_PER_CHECKER = 10;
const FAILURE_COLOR = '#d62728';
const HEAL_COLOR = '#2ca02c';

/** Renders one Vega-Lite spec to an SVG string (headless: no canvas, no DOM). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const seconds = (ms: number): number => Math.round(ms) / 1000;

interface Bar {
  lane: string;
  start: number;
  end: number;
  label: string;
}

function timelineSpec(t: SimTimeline): TopLevelSpec {
  const endS = seconds(t.durationMs);
  const faults: Bar[] = t.faults.filter((f) => !f.skipped).map((f) => ({ lane: `fault: ${f.kind}`, start: seconds(f.startMs), end: seconds(f.endMs ?? t.durationMs), label: `#${f.episodeId} ${f.detail}` }));
  const skipped = t.faults.filter((f) => f.skipped).map((f) => ({ lane: `fault: ${f.kind}`, at: seconds(f.startMs), label: `#${f.episodeId} skipped: ${f.skipped}` }));
  const elected = t.leaders.filter((e) => e.term !== null);
  const terms = elected.map((e, i) => ({ lane: 'leader (term)', start: seconds(e.atMs), end: seconds(elected[i + 1]?.atMs ?? t.durationMs), site: e.site, label: `T${e.term} ${e.site}` }));
  const losses = t.leaders.filter((e) => e.term === null).map((e) => ({ lane: 'leader lost', at: seconds(e.atMs), reason: e.reason ?? 'lost', site: e.site }));
  const elections = elected.map((e) => ({ lane: 'elections', at: seconds(e.atMs), site: e.site }));
  // One label per checker and time, stacked so that labels at one time stay readable; labels in
  // the last fifth of the run are right-aligned to stay inside the chart.
  const failureMarks = [...new Map(t.failures.map((f) => [`${f.check}@${f.atMs}`, f])).values()].map((f, i) => ({ at: seconds(f.atMs), what: `✗ ${f.check}`, color: FAILURE_COLOR, offset: -14 + 12 * (i + 1) }));
  const marks = [...(t.healedAtMs === null ? [] : [{ at: seconds(t.healedAtMs), what: 'heal', color: HEAL_COLOR, offset: -14 }]), ...failureMarks];
  const nearEnd = (m: { at: number }): boolean => m.at > endS * 0.8;
  const lanes = [...new Set([...faults, ...skipped].map((f) => f.lane))].sort().concat(['leader (term)', 'elections', 'leader lost']);
  const x = { scale: { domain: [0, endS] }, axis: { title: 'virtual time (s)', grid: true } };
  const y = { field: 'lane', type: 'nominal' as const, sort: lanes, scale: { domain: lanes }, axis: { title: null, labelLimit: 200 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: CHART_WIDTH,
    height: Math.max(120, lanes.length * 28),
    title: { text: 'Timeline: faults, leaders per term, elections', anchor: 'start' },
    layer: [
      { data: { values: faults }, mark: { type: 'bar', height: 16, opacity: 0.75 }, encoding: { x: { field: 'start', type: 'quantitative', ...x }, x2: { field: 'end' }, y, color: { field: 'lane', type: 'nominal', legend: null, scale: { scheme: 'tableau10' } } } },
      { data: { values: skipped }, mark: { type: 'point', shape: 'cross', size: 40, color: '#888', strokeWidth: 1.5 }, encoding: { x: { field: 'at', type: 'quantitative', ...x }, y } },
      { data: { values: terms }, mark: { type: 'bar', height: 16, stroke: 'white', strokeWidth: 0.5 }, encoding: { x: { field: 'start', type: 'quantitative', ...x }, x2: { field: 'end' }, y, color: { field: 'site', type: 'nominal', title: 'leader', scale: { scheme: 'category20' }, legend: { orient: 'right', columns: 1, symbolLimit: 30 } } } },
      { data: { values: terms }, mark: { type: 'text', align: 'left', dx: 3, fontSize: 9, color: 'black' }, encoding: { x: { field: 'start', type: 'quantitative', ...x }, y, text: { field: 'label' } } },
      { data: { values: elections }, mark: { type: 'tick', thickness: 2, color: '#444' }, encoding: { x: { field: 'at', type: 'quantitative', ...x }, y } },
      { data: { values: losses }, mark: { type: 'point', filled: true, size: 50 }, encoding: { x: { field: 'at', type: 'quantitative', ...x }, y, shape: { field: 'reason', type: 'nominal', title: 'leader lost by' }, color: { value: '#ff7f0e' } } },
      { data: { values: marks }, mark: { type: 'rule', strokeWidth: 2, strokeDash: [6, 3] }, encoding: { x: { field: 'at', type: 'quantitative', ...x }, color: { field: 'color', type: 'nominal', scale: null } } },
      { data: { values: marks.filter((m) => !nearEnd(m)) }, mark: { type: 'text', align: 'left', baseline: 'top', dx: 4, fontWeight: 'bold' }, encoding: { x: { field: 'at', type: 'quantitative', ...x }, y: { field: 'offset', type: 'quantitative', scale: null }, text: { field: 'what' }, color: { field: 'color', type: 'nominal', scale: null } } },
      { data: { values: marks.filter(nearEnd) }, mark: { type: 'text', align: 'right', baseline: 'top', dx: -4, fontWeight: 'bold' }, encoding: { x: { field: 'at', type: 'quantitative', ...x }, y: { field: 'offset', type: 'quantitative', scale: null }, text: { field: 'what' }, color: { field: 'color', type: 'nominal', scale: null } } },
    ],
    resolve: { scale: { color: 'independent', shape: 'independent' } },
  } as TopLevelSpec;
}

function latencySpec(r: SimReport, t: SimTimeline): TopLevelSpec {
  const values = t.latency.samplesMs.map((ms) => ({ ms }));
  const rules = [
    { ms: r.commitLatency.physicalFloorMs, what: `physical floor ${r.commitLatency.physicalFloorMs.toFixed(1)} ms`, color: HEAL_COLOR },
    ...(r.commitLatency.modelFloorMs !== undefined ? [{ ms: r.commitLatency.modelFloorMs, what: `modelled floor ${r.commitLatency.modelFloorMs.toFixed(1)} ms`, color: '#17becf' }] : []),
    { ms: r.commitLatency.p50Ms, what: `p50 ${r.commitLatency.p50Ms.toFixed(1)} ms`, color: '#1f77b4' },
    { ms: r.commitLatency.p99Ms, what: `p99 ${r.commitLatency.p99Ms.toFixed(1)} ms`, color: '#9467bd' },
  ].filter((rule) => Number.isFinite(rule.ms));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: CHART_WIDTH,
    height: 220,
    title: { text: `Commit latency: ${r.commitLatency.samples} writes${t.latency.sampled ? ` (${values.length} drawn)` : ''}, against the physical floor (fibre RTT to the nearest voter majority + one fsync)`, anchor: 'start' },
    layer: [
      { data: { values }, mark: { type: 'bar', color: '#4c78a8' }, encoding: { x: { field: 'ms', type: 'quantitative', bin: { maxbins: 60 }, title: 'commit latency (ms)' }, y: { aggregate: 'count', type: 'quantitative', title: 'writes' } } },
      { data: { values: rules }, mark: { type: 'rule', strokeWidth: 2, strokeDash: [5, 3] }, encoding: { x: { field: 'ms', type: 'quantitative' }, color: { field: 'color', type: 'nominal', scale: null } } },
      { data: { values: rules }, mark: { type: 'text', angle: 270, align: 'right', baseline: 'bottom', dx: -4, dy: -2, fontSize: 10 }, encoding: { x: { field: 'ms', type: 'quantitative' }, y: { value: 0 }, text: { field: 'what' }, color: { field: 'color', type: 'nominal', scale: null } } },
    ],
  } as TopLevelSpec;
}

function convergenceSpec(t: SimTimeline): TopLevelSpec {
  const quietMs = t.durationMs - (t.healedAtMs ?? 0);
  const values = t.convergence.map((c) => ({
    site: c.site,
    ms: c.convergedAfterMs ?? quietMs,
    state: c.down ? 'down at the end' : c.convergedAfterMs === null ? 'never converged' : 'converged',
    label: c.convergedAfterMs === null ? (c.down ? 'down' : 'never') : `${c.convergedAfterMs} ms (index ${c.finalAppliedIndex})`,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: CHART_WIDTH - 200,
    height: { step: values.length > 40 ? 10 : 18 },
    title: { text: t.healedAtMs === null ? 'Per-site convergence from the quiet period (no faults)' : `Per-site convergence after the heal at ${seconds(t.healedAtMs)} s: when each site last moved to the final applied index`, anchor: 'start' },
    data: { values },
    layer: [
      { mark: 'bar', encoding: { y: { field: 'site', type: 'nominal', sort: null, title: null }, x: { field: 'ms', type: 'quantitative', title: 'after the heal (ms)', scale: { domain: [0, Math.max(1, ...values.map((v) => v.ms))] } }, color: { field: 'state', type: 'nominal', title: null, legend: { orient: 'bottom' }, scale: { domain: ['converged', 'never converged', 'down at the end'], range: ['#4c78a8', FAILURE_COLOR, '#999999'] } } } },
      ...(values.length <= 40 ? [{ mark: { type: 'text' as const, align: 'left' as const, dx: 3, fontSize: 10 }, encoding: { y: { field: 'site', type: 'nominal' as const, sort: null }, x: { field: 'ms', type: 'quantitative' as const }, text: { field: 'label' } } }] : []),
    ],
  } as TopLevelSpec;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function checkerTable(r: SimReport): string {
  const rows = r.checkers.map((c) => {
    const failures = c.failures ?? [];
    const listed = failures.slice(0, FAILURES_SHOWN_PER_CHECKER).map((f) => `<li>${escapeHtml(formatFailure(f))}</li>`).join('');
    const more = failures.length > FAILURES_SHOWN_PER_CHECKER ? `<li>… ${failures.length - FAILURES_SHOWN_PER_CHECKER} more (see --json)</li>` : '';
    return `<tr class="${c.verdict}"><td>${escapeHtml(c.name)}</td><td class="verdict">${c.verdict === 'fail' ? 'FAIL' : c.verdict}</td><td>${escapeHtml(c.detail ?? '')}${failures.length > 0 ? `<ul>${listed}${more}</ul>` : ''}</td></tr>`;
  });
  return `<table class="checkers"><thead><tr><th>checker</th><th>verdict</th><th>detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function summary(r: SimReport): string {
  const verdict = overallVerdict(r);
  const ratio = latencyRatio(r);
  const facts: Array<[string, string]> = [
    ['seed', r.run.seed],
    ['sites', `${r.run.sites} (${r.run.voters} voters, ${r.run.learners} learners)`],
    ['virtual time', `${seconds(r.run.virtualDurationMs)} s, ${r.run.events.toLocaleString('en-US')} events`],
    ['faults', `${r.run.faults.length === 0 ? 'none' : r.run.faults.join(', ')} (${r.run.faultEpisodes} episodes)`],
    ['leaders', `${r.consensus.leaderTerms} terms with a leader, ${r.elections.count} elections${r.elections.count > 0 ? ` (p50 ${r.elections.p50Ms.toFixed(0)} ms)` : ''}, final ${r.consensus.finalLeader ?? 'none'}`],
    ['writes', `${r.writes.attempted} attempted: ${r.writes.committed} committed, ${r.writes.refused} refused, ${r.writes.unknown} unknown`],
    ['commit latency', `p50 ${r.commitLatency.p50Ms.toFixed(1)} ms, p99 ${r.commitLatency.p99Ms.toFixed(1)} ms, ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}× the physical floor` : 'no floor'}`],
    ['replay', r.run.replayCommand],
    ['trace hash', r.traceHash],
  ];
  return `<p class="verdict-badge ${verdict}">verdict: ${verdict.toUpperCase()}</p><dl>${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

const STYLE = `
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; margin: 24px; color: #222; max-width: 1240px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 28px 0 8px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; font-size: 13px; }
dt { font-weight: bold; } dd { margin: 0; font-family: "DejaVu Sans Mono", monospace; }
.verdict-badge { display: inline-block; padding: 4px 12px; border-radius: 4px; font-weight: bold; color: white; }
.verdict-badge.pass { background: #2ca02c; } .verdict-badge.fail { background: ${FAILURE_COLOR}; } .verdict-badge.inconclusive { background: #ff7f0e; }
table.checkers { border-collapse: collapse; font-size: 13px; width: 100%; }
table.checkers td, table.checkers th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
tr.fail td { background: #fde0e0; } tr.fail td.verdict { color: ${FAILURE_COLOR}; font-weight: bold; }
tr.pass td.verdict { color: #2ca02c; } tr.inconclusive td.verdict { color: #ff7f0e; } tr.skipped td.verdict { color: #888; }
.chart svg { max-width: 100%; height: auto; } .note { font-size: 12px; color: #666; }
`;

/** The whole page: summary, charts as inline SVG, checker table. */
export async function renderHtmlReport(r: SimReport, t: SimTimeline): Promise<string> {
  const [timeline, latency, convergence] = await Promise.all([renderSvg(timelineSpec(t)), renderSvg(latencySpec(r, t)), renderSvg(convergenceSpec(t))]);
  const legend = '<p class="note">Bars: fault episodes while they were in force (grey crosses: episodes skipped, e.g. their site was already down), each term\'s leader until the next term\'s; ticks: elections; dots: leaders lost; the green dashed line: the heal, after which the quiet period checks liveness and convergence.</p>';
  const tripped = t.failures.length > 0 ? `<p class="note">Red dashed lines on the timeline mark where a checker tripped (${t.failures.length} failure(s); the first: ${escapeHtml(formatFailure(t.failures[0]!))}).</p>` : '';
  const dropped = t.faultsDropped > 0 ? `<p class="note">${t.faultsDropped} more fault episodes were not drawn.</p>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>stackraft sim: seed ${escapeHtml(r.run.seed)}, ${r.run.sites} sites — ${overallVerdict(r).toUpperCase()}</title>
<style>${STYLE}</style></head>
<body>
<h1>stackraft simulation report</h1>
${summary(r)}
<h2>Timeline</h2>${legend}${tripped}${dropped}
<div class="chart">${timeline}</div>
<h2>Commit latency</h2>
<div class="chart">${latency}</div>
<h2>Convergence after the heal</h2>
<div class="chart">${convergence}</div>
<h2>Checkers</h2>
${checkerTable(r)}
</body></html>
`;
}
