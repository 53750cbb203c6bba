// The package an operator installs: `npm pack` makes a tarball with the built program and its
// dependencies bundled; `npm install -g` of it, offline, in a scratch prefix and from a directory
// that is not the repository, prints no warning, puts `stackraft` on PATH, and that program runs
// `init`, `agent` and `status`. README's production install and the systemd unit's ExecStart agree.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from './repo-root.js';

const PACK_TIMEOUT_MS = 300_000;
const INSTALL_TIMEOUT_MS = 300_000;
const AGENT_READY_TIMEOUT_MS = 30_000;

function npmMissing(): string | undefined {
  const probe = spawnSync('npm', ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return probe.status === 0 ? undefined : 'npm is not on PATH';
}

const skip = npmMissing();
if (skip) process.stdout.write(`# SKIP package install test: ${skip}\n`);

function check(run: SpawnSyncReturns<string>, what: string): SpawnSyncReturns<string> {
  assert.equal(run.status, 0, `${what} exited ${run.status}${run.error ? ` (${run.error.message})` : ''}\n${run.stdout}\n${run.stderr}`);
  return run;
}

describe('the npm package', { skip, timeout: 900_000 }, () => {
  let dir: string;
  let tarball: string;
  let prefix: string;
  let scratch: string;
  /** A PATH with the scratch prefix's bin and node, and nothing of the repository. */
  let env: Record<string, string>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackraft-pkg-'));
    prefix = join(dir, 'prefix');
    scratch = join(dir, 'scratch');
    spawnSync('mkdir', ['-p', prefix, scratch]);
    // npm test has just built dist/ (pretest), so the pack skips prepack's second build.
    const pack = check(spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot(), encoding: 'utf8', timeout: PACK_TIMEOUT_MS }), 'npm pack');
    tarball = join(dir, pack.stdout.trim().split('\n').at(-1)!);
    env = { PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: scratch, npm_config_update_notifier: 'false' };
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('bundles every dependency (package.json lists them by name: keep the list in step)', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { dependencies: Record<string, string>; bundleDependencies: string[] };
    assert.deepEqual([...pkg.bundleDependencies].sort(), Object.keys(pkg.dependencies).sort());
  });

  it('holds the built program and its dependencies, not the tests, sources or source maps', () => {
    const files = check(spawnSync('tar', ['tzf', tarball], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 }), 'tar').stdout.split('\n');
    for (const wanted of ['package/bin/stackraft.js', 'package/dist/cmd/stackraft.js', 'package/dist/agent/daemon/main.js', 'package/dist/sim/main.js', 'package/deploy/stackraft-agent.service', 'package/node_modules/libp2p/package.json', 'package/node_modules/level/package.json', 'package/node_modules/vega/package.json']) {
      assert.ok(files.includes(wanted), `${wanted} is missing from ${tarball}`);
    }
    const own = files.filter((f) => !f.startsWith('package/node_modules/'));
    assert.deepEqual(own.filter((f) => f.startsWith('package/dist/test/') || f.startsWith('package/dist/bench/') || f.endsWith('.map') || f.endsWith('.ts')), []);
    assert.ok(!files.some((f) => f.startsWith('package/node_modules/typescript/')), 'a dev dependency was bundled');
  });

  it('installs offline in a scratch prefix without a warning and runs init, agent and status', async () => {
    const install = check(
      spawnSync('npm', ['install', '--global', '--offline', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: scratch, env, encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS }),
      'npm install -g',
    );
    assert.doesNotMatch(`${install.stdout}\n${install.stderr}`, /warn|deprecated|error/i);
    assert.deepEqual(readdirSync(join(prefix, 'bin')), ['stackraft']);

    const stackraft = (...args: string[]) => spawnSync('stackraft', args, { cwd: scratch, env, encoding: 'utf8', timeout: 60_000 });
    assert.match(check(stackraft('--version'), 'stackraft --version').stdout, /^stackraft \d+\.\d+\.\d+/);
    const config = join(scratch, 'agent.yaml');
    const socket = join(scratch, 'admin.sock');
    writeFileSync(
      config,
      [
        'site: { name: pkg-1, region: eu-west, country: IE }',
        'clusterId: package-test',
        `dataDir: ${join(scratch, 'data')}`,
        'listen: [/ip4/127.0.0.1/tcp/0]',
        `adminSocket: ${socket}`,
        'cloud: { type: none }',
        'log: { level: warn }',
        '',
      ].join('\n'),
    );
    const init = check(stackraft('init', '--config', config), 'stackraft init');
    assert.match(init.stdout, /peer id: 12D3KooW/);
    assert.ok(existsSync(join(scratch, 'data', 'peer-key')));

    const agent = spawn('stackraft', ['agent', '--config', config, '--bootstrap'], { cwd: scratch, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let agentOutput = '';
    agent.stdout!.on('data', (chunk) => (agentOutput += chunk));
    agent.stderr!.on('data', (chunk) => (agentOutput += chunk));
    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + AGENT_READY_TIMEOUT_MS;
      let status: Record<string, unknown> | undefined;
      while (Date.now() < deadline && agent.exitCode === null) {
        const run = stackraft('status', '--socket', socket, '-f', 'json');
        if (run.status === 0) {
          status = JSON.parse(run.stdout) as Record<string, unknown>;
          if (status.leader === 'pkg-1') break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(status?.leader, 'pkg-1', `the installed agent never led (output: ${agentOutput})`);
      assert.equal(status?.cluster_id, 'package-test');
    } finally {
      if (agent.exitCode === null) process.kill(agent.pid!, 'SIGTERM');
    }
    assert.equal(await exited, 0, agentOutput);
  });

  it('README installs the tarball where the systemd unit starts it', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    assert.match(readme, /npm install --global --prefix \/usr \.\/stackraft-[^\s]*\.tgz/);
    const unit = readFileSync(join(repoRoot(), 'deploy', 'stackraft-agent.service'), 'utf8');
    // npm links <prefix>/bin/stackraft, as the scratch install above shows: /usr/bin/stackraft.
    assert.match(unit, /^ExecStart=\/usr\/bin\/stackraft agent /m);
  });
});
