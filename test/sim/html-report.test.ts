// `stackraft sim --html`: one self-contained page (inline SVG charts, no script, nothing fetched)
// with the timeline, the latency distribution, per-site convergence and the checker verdicts; a
// failing run marks where its checker tripped. Real headless Chromium (Debian's chromium) loads it
// with no console error and its screenshot is not blank; skipped, saying why, without Chromium.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT_FAILED, run, type SimIo } from '../../sim/main.js';
import { decodePng, inkAndColours } from './png.js';

const CHROMIUM_TIMEOUT_MS = 90_000;
/** The flags a test browser needs: no sandbox as root, nothing phoned home, a fresh profile. */
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function capture(): SimIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTTY: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

function chromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (which.status === 0) return which.stdout.trim();
  }
  return undefined;
}

/** What a page may not contain to work offline and run nothing: scripts, fetched resources. */
function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (const pattern of [/<script\b/gi, /\bsrc\s*=/gi, /\bhref\s*=\s*["']?(?:https?:)?\/\//gi, /url\(\s*["']?(?:https?:)?\/\//gi, /@import/gi, /<link\b/gi, /<iframe\b/gi]) {
    for (const m of html.matchAll(pattern)) found.push(m[0]);
  }
  return found;
}

const browser = chromium();
const noBrowser = browser === undefined ? 'chromium is not installed (Debian: apt-get install chromium; .ci/run installs it as root)' : undefined;
if (noBrowser) process.stdout.write(`# SKIP headless browser check of the HTML report: ${noBrowser}\n`);

describe('stackraft sim --html', { timeout: 900_000 }, () => {
  let dir: string;
  let passing: string;
  let failing: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stackraft-html-'));
    passing = join(dir, 'pass.html');
    failing = join(dir, 'fail.html');
    const ok = capture();
    assert.equal(await run(['--sites', '4', '--seed', '3', '--duration', '20s', '--faults', 'leader-kill,partition-site,crash-restart', '--clouds', 'off', '--html', passing], ok), 0, ok.stderr);
    assert.match(ok.stderr, new RegExp(`wrote the HTML report to ${passing}`));
    // The same planted bug as the CLI test: a partition at the heal that never heals (with clouds,
    // whose reconcilers keep writing, so the cut-off site falls behind).
    const bad = capture();
    const code = await run(['--sites', '3', '--seed', '4', '--duration', '20s', '--html', failing], bad, {
      hooks: { atHeal: (c) => c.partition({ from: [c.siteNames()[0]!], to: c.siteNames().slice(1), bothWays: true }) },
    });
    assert.equal(code, EXIT_FAILED, bad.stderr);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is one self-contained page: inline SVG charts, no script, nothing to fetch', () => {
    const html = readFileSync(passing, 'utf8');
    assert.deepEqual(externalReferences(html), []);
    assert.equal((html.match(/<svg\b/g) ?? []).length, 3, 'timeline, latency and convergence charts');
    for (const heading of ['Timeline', 'Commit latency', 'Convergence after the heal', 'Checkers']) assert.match(html, new RegExp(`<h2>${heading}</h2>`));
    assert.match(html, /verdict: PASS/);
    // The timeline names the faults it drew, the leaders per term, and the heal.
    const lanes = [...html.matchAll(/>fault: ([a-z-]+)</g)].map((m) => m[1]);
    assert.ok(lanes.length > 0, 'no fault drawn');
    for (const kind of lanes) assert.ok(['leader-kill', 'partition-site', 'crash-restart'].includes(kind!), `a lane for ${kind}, which the run did not inject`);
    assert.match(html, />leader \(term\)</);
    assert.match(html, />T\d+ [a-z-]+</);
    assert.match(html, />heal</);
    // The latency chart is drawn against the physical floor; every site has a convergence bar.
    assert.match(html, /physical floor \d+\.\d ms/);
    const sites = [...html.matchAll(/>(\d+) ms \(index (\d+)\)</g)];
    assert.equal(sites.length, 4, 'one convergence label per site');
    assert.equal(new Set(sites.map((m) => m[2])).size, 1, 'every site ends at the same index');
    assert.match(html, /<tr class="pass"><td>linearizability<\/td>/);
    assert.doesNotMatch(html, /✗/);
  });

  it('a failing run is marked where its checker tripped', () => {
    const html = readFileSync(failing, 'utf8');
    assert.deepEqual(externalReferences(html), []);
    assert.match(html, /verdict: FAIL/);
    const failed = [...html.matchAll(/<tr class="fail"><td>([a-z-]+)<\/td><td class="verdict">FAIL<\/td>/g)].map((m) => m[1]!);
    assert.ok(failed.length > 0, 'the table shows the failing checker');
    for (const check of failed) assert.match(html, new RegExp(`>✗ ${check}<`), `the timeline marks where ${check} tripped`);
    assert.match(html, /Red dashed lines on the timeline mark where a checker tripped \(\d+ failure\(s\); the first: \[[a-z-]+\] seed 4 at/);
  });

  it('loads in headless Chromium with no console error, and its screenshot is not blank', { skip: noBrowser, timeout: 120_000 }, () => {
    for (const page of [passing, failing]) {
      const png = `${page}.png`;
      const shot = spawnSync(browser!, [...CHROMIUM_FLAGS, `--user-data-dir=${join(dir, `profile-${page.endsWith('pass.html') ? 'a' : 'b'}`)}`, '--enable-logging=stderr', '--v=0', '--window-size=1280,2000', `--screenshot=${png}`, `file://${page}`], {
        encoding: 'utf8',
        timeout: CHROMIUM_TIMEOUT_MS,
        env: { ...process.env, HOME: dir },
      });
      assert.equal(shot.status, 0, `chromium exited ${shot.status}: ${shot.stderr}`);
      const problems = shot.stderr.split('\n').filter((line) => /CONSOLE|Uncaught|net::ERR_|Failed to load|Not allowed to load/i.test(line));
      assert.deepEqual(problems, [], 'console errors or failed loads');
      assert.ok(existsSync(png), `no screenshot: ${shot.stderr}`);
      const image = decodePng(readFileSync(png));
      assert.deepEqual([image.width, image.height], [1280, 2000]);
      const { ink, colours } = inkAndColours(image);
      assert.ok(ink > 0.03, `only ${(ink * 100).toFixed(1)} % of the screenshot is not white`);
      assert.ok(colours > 20, `only ${colours} colours in the screenshot`);
    }
  });
});
