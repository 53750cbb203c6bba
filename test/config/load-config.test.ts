// agent.yaml validation: a good file gets its defaults, the shipped example is valid, and every kind
// of bad file is refused with a message that names the file and the field.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../agent/config/load.js';
import { CONFIG_DEFAULTS } from '../../agent/config/schema.js';
import { repoRoot } from './repo-root.js';

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
const MINIMAL = ['site:', '  name: eu-west-1', '  region: eu-west', '  country: IE', 'clusterId: acme', 'cloud:', '  type: none', ''].join('\n');

/** Parses `text` and returns the ConfigError it must raise. */
function refused(text: string, file = 'agent.yaml'): ConfigError {
  try {
    parseConfig(text, file);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

describe('config: loadConfig', { timeout: 10_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackraft-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a minimal file gets every default', () => {
    const config = parseConfig(MINIMAL, 'agent.yaml');
    assert.deepEqual(config, {
      site: { name: 'eu-west-1', region: 'eu-west', country: 'IE', labels: {} },
      clusterId: 'acme',
      dataDir: CONFIG_DEFAULTS.dataDir,
      listen: [...CONFIG_DEFAULTS.listen],
      announce: [],
      peers: [],
      adminSocket: '/run/stackraft/admin.sock',
      cloud: { type: 'none' },
      timing: { tickMs: 50, electionTimeoutTicks: 20, heartbeatTicks: 2, leaderPlacement: false },
      voters: 5,
      log: { level: 'info' },
      metrics: { listen: null },
      memory: { heapGrowthPercent: 50 },
      blobs: { maxBytes: 64 * 1024 ** 3 },
      dr: {},
    });
  });

  it('dr.action: exec with a command, or http with a URL; a bad one is refused naming the field', () => {
    const exec = parseConfig(`${MINIMAL}\ndr: { action: { type: exec, command: [/usr/local/bin/dr-engine, --site, a], timeoutMs: 60000 } }\n`, 'agent.yaml');
    assert.deepEqual(exec.dr, { action: { type: 'exec', command: ['/usr/local/bin/dr-engine', '--site', 'a'], timeoutMs: 60000 } });
    const http = parseConfig(`${MINIMAL}\ndr: { action: { type: http, url: 'http://127.0.0.1:9000/dr' } }\n`, 'agent.yaml');
    assert.deepEqual(http.dr, { action: { type: 'http', url: 'http://127.0.0.1:9000/dr' } });
    assert.throws(() => parseConfig(`${MINIMAL}\ndr: { action: { type: exec, command: [] } }\n`, 'agent.yaml'), /dr\.action\.command/);
    assert.throws(() => parseConfig(`${MINIMAL}\ndr: { action: { type: ftp } }\n`, 'agent.yaml'), /dr\.action/);
  });

  it('reads a full file, including each cloud type', async () => {
    const file = join(dir, 'agent.yaml');
    await writeFile(file, [
      'site: { name: us-east-1, region: us-east, country: us, labels: { tier: gold } }',
      'clusterId: acme',
      'dataDir: /srv/stackraft',
      'listen: [/ip4/0.0.0.0/tcp/7420, /ip6/::/tcp/7420]',
      'announce: [/dns4/a.example.net/tcp/7420]',
      `peers: [{ site: eu-west-1, addr: /dns4/b.example.net/tcp/7420/p2p/${PEER} }]`,
      'adminSocket: /run/sr/admin.sock',
      'cloud: { type: openstack, cloud: us-east-1, cloudsYaml: /etc/stackraft/clouds.yaml, region: RegionOne }',
      'timing: { tickMs: 50, electionTimeoutTicks: 20, heartbeatTicks: 2 }',
      'voters: 3',
      'log: { level: debug }',
      'metrics: { listen: "127.0.0.1:9464" }',
      'memory: { heapGrowthPercent: 100 }',
      '',
    ].join('\n'));
    const config = await loadConfig(file);
    assert.equal(config.site.country, 'US');
    assert.deepEqual(config.cloud, { type: 'openstack', cloud: 'us-east-1', cloudsYaml: '/etc/stackraft/clouds.yaml', region: 'RegionOne', interface: 'public' });
    assert.deepEqual(config.timing, { tickMs: 50, electionTimeoutTicks: 20, heartbeatTicks: 2, leaderPlacement: false });
    assert.equal(config.metrics.listen, '127.0.0.1:9464');
    assert.equal(config.memory.heapGrowthPercent, 100);
    assert.deepEqual(config.peers, [{ site: 'eu-west-1', addr: `/dns4/b.example.net/tcp/7420/p2p/${PEER}` }]);
    assert.deepEqual(parseConfig(MINIMAL.replace('type: none', 'type: mock\n  url: http://127.0.0.1:8774'), 'x').cloud, { type: 'mock', url: 'http://127.0.0.1:8774' });
  });

  it('the shipped example deploy/agent.example.yaml is valid', async () => {
    const config = await loadConfig(join(repoRoot(), 'deploy', 'agent.example.yaml'));
    assert.equal(config.site.name, 'eu-west-1');
    assert.equal(config.cloud.type, 'openstack');
  });

  it('a missing file names the file and says what to do', async () => {
    const file = join(dir, 'absent.yaml');
    await assert.rejects(loadConfig(file), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.file, file);
      assert.match(error.message, new RegExp(`^${file}: cannot read the config file: .*ENOENT.*agent\\.example\\.yaml`));
      return true;
    });
  });

  it('a wrong value names the file, the field path, the expectation, the value and the line', () => {
    const error = refused(`${MINIMAL}timing:\n  tickMs: -5\n`);
    assert.equal(error.message, 'agent.yaml: timing.tickMs: expected a positive integer from 10 to 10000 (milliseconds), got -5 (line 9, column 11)');
    assert.deepEqual(error.problems.map((p) => p.field), ['timing.tickMs']);
  });

  it('a mistyped field is refused with a suggestion', () => {
    assert.match(refused(`${MINIMAL}timing:\n  tickms: 50\n`).message, /^agent\.yaml: timing\.tickms: unknown field \(did you mean 'tickMs'\?\)/);
    assert.match(refused(`${MINIMAL}cluserId: x\n`).message, /cluserId: unknown field \(did you mean 'clusterId'\?\)/);
    assert.match(refused(`${MINIMAL}zzz: 1\n`).message, /zzz: unknown field \(known fields: site, clusterId/);
  });

  it('a missing required field is named', () => {
    const error = refused(MINIMAL.replace('clusterId: acme\n', ''));
    assert.equal(error.message, 'agent.yaml: clusterId: required field is missing');
    assert.match(refused(MINIMAL.replace('  region: eu-west\n', '')).message, /site\.region: required field is missing/);
  });

  it('a YAML syntax error gives the line and column', () => {
    const error = refused('site:\n  name: [unclosed\nclusterId: x\n');
    assert.match(error.message, /^agent\.yaml: YAML syntax error: .+ \(line \d+, column \d+\)/);
    assert.match(refused(`${MINIMAL}clusterId: again\n`).message, /YAML syntax error: Map keys must be unique \(line 8, column 1\)/);
  });

  it('an empty file or a non-mapping is refused', () => {
    assert.match(refused('').message, /agent\.yaml: the file is empty/);
    assert.match(refused('- a\n- b\n').message, /expected a mapping of configuration fields at the top level/);
    assert.match(refused(MINIMAL.replace('site:\n  name: eu-west-1\n  region: eu-west\n  country: IE', 'site: 3')).message, /site: expected a mapping with name, region, country, labels, got 3/);
  });

  it('an unknown cloud type lists the known ones', () => {
    assert.match(refused(MINIMAL.replace('type: none', 'type: nova')).message, /cloud\.type: expected type to be one of openstack, mock, none, got "nova"/);
    assert.match(refused(MINIMAL.replace('type: none', 'type: openstack')).message, /cloud\.cloud: required field is missing/);
    assert.match(refused(MINIMAL.replace('type: none', 'type: mock\n  url: ftp://x')).message, /cloud\.url: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"/);
  });

  it('multiaddrs are checked, and peers must name their site and peer id', () => {
    assert.match(refused(`${MINIMAL}listen: [/ip4/1.2.3/tcp/1]\n`).message, /listen\[0\]: expected a multiaddr .*Invalid IPv4/);
    assert.match(refused(`${MINIMAL}peers: [{ site: us-east-1, addr: /ip4/1.2.3.4/tcp/7420 }]\n`).message, /peers\[0\]\.addr: expected a multiaddr ending in \/p2p\/<peer id>.*no \/p2p\/ component/);
    assert.match(refused(`${MINIMAL}peers: [/ip4/1.2.3.4/tcp/7420/p2p/${PEER}]\n`).message, /peers\[0\]: expected a mapping with site .* and addr/);
    assert.match(refused(`${MINIMAL}peers: [{ addr: /ip4/1.2.3.4/tcp/7420/p2p/${PEER} }]\n`).message, /peers\[0\]\.site: required field is missing/);
    assert.match(refused(`${MINIMAL}listen: []\n`).message, /listen: expected at least one multiaddr/);
  });

  it('cross-field and domain rules: heartbeat below election timeout, odd voters, real countries, label syntax', () => {
    assert.match(refused(`${MINIMAL}timing: { electionTimeoutTicks: 5, heartbeatTicks: 5 }\n`).message, /timing\.heartbeatTicks: must be less than timing\.electionTimeoutTicks \(5\), got 5/);
    assert.match(refused(`${MINIMAL}voters: 4\n`).message, /voters: expected an odd integer from 1 to 15/);
    assert.match(refused(`${MINIMAL}timing: { leaderPlacement: sometimes }\n`).message, /timing\.leaderPlacement: expected true or false, got "sometimes"/);
    assert.match(refused(MINIMAL.replace('country: IE', 'country: UK')).message, /site\.country: expected an ISO 3166-1 alpha-2 country code such as DE, got "UK"/);
    assert.match(refused(MINIMAL.replace('  country: IE\n', '')).message, /site\.country: required field is missing/);
    assert.match(refused(MINIMAL.replace('  region: eu-west', '  region: eu-west\n  labels: { "-tier": gold }')).message, /site\.labels\.-tier: expected a label name/);
  });

  it('paths must be absolute, names well-formed, enums known', () => {
    assert.match(refused(`${MINIMAL}dataDir: var/lib/stackraft\n`).message, /dataDir: expected an absolute path, got "var\/lib\/stackraft"/);
    assert.match(refused(MINIMAL.replace('eu-west-1', 'eu west')).message, /site\.name: expected a site name \(1-63 characters: start with a letter or digit/);
    assert.match(refused(`${MINIMAL}log: { level: loud }\n`).message, /log\.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"/);
    assert.match(refused(`${MINIMAL}metrics: { listen: localhost }\n`).message, /metrics\.listen: expected host:port/);
    assert.match(refused(`${MINIMAL}memory: { heapGrowthPercent: 5 }\n`).message, /memory\.heapGrowthPercent: expected an integer from 10 to 300 \(percent\), got 5/);
    assert.match(refused(`${MINIMAL}memory: { heapGrowthPercent: 50.5 }\n`).message, /memory\.heapGrowthPercent: expected an integer from 10 to 300/);
    assert.match(refused(`${MINIMAL}memory: { maxHeapMiB: 100 }\n`).message, /memory\.maxHeapMiB: unknown field/);
    assert.match(refused(`${MINIMAL}timing: { tickMs: "100" }\n`).message, /timing\.tickMs: expected .*, got "100"/);
  });

  it('reports every problem at once, each with the file name', () => {
    const error = refused(`${MINIMAL}voters: 2\ntiming: { tickMs: 0 }\nbogus: 1\n`, '/etc/stackraft/agent.yaml');
    assert.equal(error.problems.length, 3);
    for (const line of error.message.split('\n')) assert.match(line, /^\/etc\/stackraft\/agent\.yaml: /);
  });
});
