// The CLI during a long copy of image bits (issue 13), against a real agent whose mock cloud serves
// Glance downloads slowly: `image create --from-glance --progress` prints how far the agent is on
// stderr while stdout keeps only the JSON asked for; without --progress (stderr not a terminal)
// nothing extra is printed; a download Glance cuts midway ends with the agent's error and a non-zero
// exit, after the progress it made; `--file --progress` counts the parts the agent stored.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { patternBytes } from '../blobs/helpers.js';
import { clusterWithGlance, glanceImageWithBits } from './fixtures.js';
import { runCli } from './run-cli.js';

const MIB = 1024 * 1024;
/** Three 4 MiB chunks: at 2 MiB/s Glance takes about 6 s, many polls of the CLI (every 300 ms). */
const IMAGE_BYTES = 12 * MIB;
const SLOW_BYTES_PER_SECOND = 2 * MIB;
const PROGRESS = /^stackraft: taking Glance image [0-9a-f-]{36}: ([\d.]+) of ([\d.]+) MiB \((\d+)%\)/;

function progressLines(stderr: string): { done: number; total: number; percent: number; line: string }[] {
  return stderr
    .split('\n')
    .map((line) => ({ line, m: PROGRESS.exec(line) }))
    .filter((x) => x.m !== null)
    .map(({ line, m }) => ({ line, done: Number(m![1]), total: Number(m![2]), percent: Number(m![3]) }));
}

describe('CLI progress during a long image copy (real agent, slow mock Glance)', { timeout: 180_000 }, () => {
  const world = clusterWithGlance({ sites: 1, mockClouds: true, prefix: 'stackraft-cli-progress-' });

  function pace(bytesPerSecond: number | null, failAfterBytes: number | null): void {
    Object.assign(world.cluster.clouds.get('site-1')!.imageDownloads, { bytesPerSecond, failAfterBytes });
  }

  it('--from-glance --progress: lines on stderr while Glance is slow, only the JSON on stdout', async () => {
    const id = await glanceImageWithBits(world.images, 'slow', patternBytes(IMAGE_BYTES, 61));
    pace(SLOW_BYTES_PER_SECOND, null);
    const run = await runCli(['image', 'create', 'slow', '--from-glance', id, '--progress', '-f', 'json'], { socket: world.cluster.site('site-1').socketPath, timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    const shown = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(shown.id, id, 'stdout is exactly the JSON of the created image');
    const lines = progressLines(run.stderr);
    assert.ok(lines.every((l) => l.total === 12), run.stderr);
    assert.ok(lines.some((l) => l.done > 0 && l.percent < 100), `a line while the copy ran:\n${run.stderr}`);
    assert.equal(lines.at(-1)?.percent, 100, run.stderr);
    assert.ok(lines.some((l) => / MiB\/s/.test(l.line)), `a rate:\n${run.stderr}`);
    const dones = lines.map((l) => l.done);
    assert.deepEqual(dones, [...dones].sort((a, b) => a - b), 'the bytes done never go back');
  });

  it('without --progress and stderr not a terminal, nothing extra is printed', async () => {
    const id = await glanceImageWithBits(world.images, 'quiet', patternBytes(4 * MIB + 7, 62));
    pace(SLOW_BYTES_PER_SECOND, null);
    const run = await runCli(['image', 'create', 'quiet', '--from-glance', id, '-f', 'json'], { socket: world.cluster.site('site-1').socketPath, timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { id: string }).id, id);
    assert.doesNotMatch(run.stderr, /taking Glance image/);
  });

  it('a download Glance cuts midway: the progress made, then the agent\'s error and a non-zero exit; nothing is stored', async () => {
    const id = await glanceImageWithBits(world.images, 'cut', patternBytes(IMAGE_BYTES, 63));
    pace(SLOW_BYTES_PER_SECOND, 6 * MIB);
    const run = await runCli(['image', 'create', 'cut', '--from-glance', id, '--progress'], { socket: world.cluster.site('site-1').socketPath, timeoutMs: 120_000 });
    pace(null, null);
    assert.equal(run.code, 1, `CLOUD_ERROR exits 1:\n${run.stderr}`);
    const lines = progressLines(run.stderr);
    assert.ok(lines.some((l) => l.done > 0), `progress before the cut:\n${run.stderr}`);
    assert.ok(lines.every((l) => l.percent < 100), run.stderr);
    const errorLine = run.stderr.split('\n').findIndex((l) => l.startsWith('stackraft: error: '));
    assert.ok(errorLine > 0, run.stderr);
    assert.match(run.stderr.split('\n')[errorLine]!, new RegExp(`--from-glance ${id}: .*\\(CLOUD_ERROR\\); nothing was stored`));
    assert.ok(errorLine > run.stderr.split('\n').findLastIndex((l) => PROGRESS.test(l)), 'the error comes after the last progress line');
    assert.equal((await world.cluster.admin('site-1').request('GET', `/v1/resources/image/${id}`)).status, 404, 'no catalog record');
    const view = (await world.cluster.admin('site-1').request('GET', `/v1/glance-adoptions/${id}`)).json as { state: string; bytesDone: number };
    assert.equal(view.state, 'failed');
  });

  it('--file --progress: the parts the agent stored, from 0 to the whole file', async () => {
    const file = join(world.cluster.dir, `upload-${randomUUID().slice(0, 8)}.raw`);
    await writeFile(file, patternBytes(40 * MIB, 64));
    const run = await runCli(['image', 'create', 'uploaded', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', '--progress', '-f', 'json'], { socket: world.cluster.site('site-1').socketPath, timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { name: string }).name, 'uploaded');
    const lines = run.stderr.split('\n').filter((l) => l.startsWith(`stackraft: uploading ${file}: `));
    assert.match(lines[0] ?? '', /: 0\.0 of 40\.0 MiB \(0%\)/, run.stderr);
    assert.match(lines.at(-1) ?? '', /: 40\.0 of 40\.0 MiB \(100%\)/, run.stderr);
  });
});
