// The compiled `stackraft` program against a fake agent on a temporary socket: every exit code,
// the output formats, usage errors and the message when the agent cannot be reached.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { startHarness, type AdminHarness } from '../admin/harness.js';
import { spawnCli } from './cli-harness.js';

describe('stackraft (compiled program)', { timeout: 60_000 }, () => {
  let h: AdminHarness;
  let env: Record<string, string>;
  before(async () => {
    h = await startHarness();
    h.service.seed('flavor', 'f1', { name: 'm1.small', vcpus: 1, ram: 2048, disk: 20, extraSpecs: { 'hw:cpu_policy': 'shared' } }, 'all');
    h.service.seed('flavor', 'f2', { name: 'm1.large', vcpus: 4, ram: 8192, disk: 40 }, 'country in (DE)');
    env = { STACKRAFT_SOCKET: h.socketPath };
  });
  after(async () => {
    await h.close();
  });

  it('exit 0: status as a table', async () => {
    const run = await spawnCli(['status'], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^\+-+\+-+\+\n\| Field +\| Value +\|/);
    assert.match(run.stdout, /\| leader +\| eu-west-1 +\|/);
    assert.match(run.stdout, /us-east-1 voter live match=39 rtt=82ms/);
    assert.match(run.stdout, /ap-south-1 learner DOWN match=12/);
  });

  it('list in json, yaml and value, with columns', async () => {
    const [json, yaml, value] = await Promise.all([
      spawnCli(['flavor', 'list', '-f', 'json'], { env }),
      spawnCli(['flavor', 'list', '-f', 'yaml', '-c', 'Name', '-c', 'ram'], { env }),
      spawnCli(['flavor', 'list', '-f', 'value', '-c', 'id', '-c', 'Placement'], { env }),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(rows[0], { ID: 'f1', Name: 'm1.small', RAM: 2048, Disk: 20, Ephemeral: 0, VCPUs: 1, 'Is Public': true, Placement: 'all' });
    assert.deepEqual(parseYaml(yaml.stdout), [{ Name: 'm1.small', RAM: 2048 }, { Name: 'm1.large', RAM: 8192 }]);
    assert.equal(value.stdout, 'f1 all\nf2 country in (DE)\n');
  });

  it('show in json and value; --global options may come first', async () => {
    const json = await spawnCli(['--socket', h.socketPath, 'flavor', 'show', 'm1.small', '-f', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(shown.id, 'f1');
    assert.deepEqual(shown.properties, { 'hw:cpu_policy': 'shared' });
    const value = await spawnCli(['flavor', 'show', 'f2', '-f', 'value', '-c', 'vcpus', '-c', 'name', `--socket=${h.socketPath}`]);
    assert.equal(value.stdout, '4\nm1.large\n');
  });

  it('exit 1: the agent cannot be reached, with what to do', async () => {
    const missing = join(h.dir, 'nowhere', 'admin.sock');
    const run = await spawnCli(['status'], { env: { STACKRAFT_SOCKET: missing } });
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`cannot reach the agent at ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*is stackraft-agent running\\? \\(systemctl status stackraft-agent\\)`));
    assert.equal(run.stdout, '');
  });

  it('exit 1: a resource that does not exist', async () => {
    const run = await spawnCli(['flavor', 'show', 'nope'], { env });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no flavor with a name or id "nope" exists/);
  });

  it('exit 2: usage errors say what is wrong and show the usage line', async () => {
    const [unknownCommand, missingOption, badFormat, badColumn, badNumber, unknownOption] = await Promise.all([
      spawnCli(['flavour', 'list'], { env }),
      spawnCli(['flavor', 'create', 'x', '--vcpus', '1', '--ram', '1'], { env }),
      spawnCli(['flavor', 'list', '-f', 'xml'], { env }),
      spawnCli(['flavor', 'list', '-c', 'colour'], { env }),
      spawnCli(['flavor', 'create', 'x', '--vcpus', 'two', '--ram', '1', '--disk', '1'], { env }),
      spawnCli(['status', '--verbose'], { env }),
    ]);
    for (const run of [unknownCommand, missingOption, badFormat, badColumn, badNumber, unknownOption]) assert.equal(run.code, 2, run.stderr);
    assert.match(unknownCommand.stderr, /unknown command "flavour"/);
    assert.match(missingOption.stderr, /--disk is required\nusage: stackraft flavor create NAME \[options\]/);
    assert.match(badFormat.stderr, /-f\/--format: expected one of table, json, yaml, value, got "xml"/);
    assert.match(badColumn.stderr, /no column named "colour"/);
    assert.match(badNumber.stderr, /--vcpus: expected an integer, got "two"/);
    assert.match(unknownOption.stderr, /unknown option --verbose/);
    assert.equal(h.service.callsOf('write').length, 0, 'no usage error reached the agent');
  });

  it('exit 3: a refused write (NO_QUORUM), nothing written', async () => {
    h.service.scriptedWrites.push({ status: 'refused', code: 'NO_QUORUM', message: 'the leader has not heard from a quorum of voters' });
    const run = await spawnCli(['flavor', 'create', 'x', '--vcpus', '1', '--ram', '512', '--disk', '1'], { env });
    assert.equal(run.code, 3);
    assert.match(run.stderr, /the leader has not heard from a quorum of voters \[NO_QUORUM\]\nhint: nothing was written/);
  });

  it('exit 4: VALIDATION from the agent, and CONFLICT', async () => {
    const invalid = await spawnCli(['flavor', 'create', 'x', '--vcpus', '1', '--ram', '512', '--disk', '1', '--rxtx-factor', '1', '--id', 'bad id!'], { env });
    assert.equal(invalid.code, 4, invalid.stderr);
    assert.match(invalid.stderr, /id: expected a flavor id .*\[VALIDATION\]/);
    const conflict = await spawnCli(['flavor', 'create', 'again', '--id', 'f1', '--vcpus', '1', '--ram', '512', '--disk', '1'], { env });
    assert.equal(conflict.code, 4);
    assert.match(conflict.stderr, /\[CONFLICT\]\nhint: nothing was changed/);
  });

  it('exit 5: outcome unknown, with the write id to check', async () => {
    h.service.scriptedWrites.push({ status: 'unknown', writeId: 'cli-x:1', message: 'no outcome within 30000 ms' });
    const run = await spawnCli(['flavor', 'set', 'f1', '--property', 'a=b'], { env });
    assert.equal(run.code, 5);
    assert.match(run.stderr, /no outcome within 30000 ms \[UNKNOWN\]\nhint: the write may still commit\. Check with: stackraft write show cli-x:1/);
  });

  it('help: main, noun and command help exit 0; no command exits 2', async () => {
    const [main, noun, command, bare, helpWord] = await Promise.all([
      spawnCli(['--help']),
      spawnCli(['flavor', '--help']),
      spawnCli(['image', 'create', '--help']),
      spawnCli([]),
      spawnCli(['help', 'quota']),
    ]);
    assert.equal(main.code, 0);
    assert.match(main.stdout, /^usage: stackraft COMMAND/);
    assert.match(main.stdout, /protection-group +create, list, show, set, delete/);
    assert.equal(noun.code, 0);
    assert.match(noun.stdout, /flavor create +create a flavor/);
    assert.equal(command.code, 0);
    assert.match(command.stdout, /--sha256 HEX/);
    assert.equal(bare.code, 2);
    assert.equal(helpWord.code, 0);
    assert.match(helpWord.stdout, /quota set/);
  });

  it('a noun without a command is a usage error listing its commands', async () => {
    const run = await spawnCli(['member'], { env });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /`member` needs a command[\s\S]*member promote/);
  });
});
