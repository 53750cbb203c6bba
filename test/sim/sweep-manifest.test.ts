// The Kubernetes Indexed Job that runs sweep slices in parallel (deploy/sim-sweep/) and the
// Dockerfile its image comes from. There is no cluster here, so this checks their structure: an
// Indexed Job whose N equals its completions, whose command (expanded for the first and the last
// index, as /bin/sh would) is one the sweep accepts and writes each slice where the merge Job reads
// it, on a volume both mount; and an image that builds every folder tsc compiles and runs the sweep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { parseMergeArgs, parseSweepArgs } from '../../sim/sweep.js';
import { shardSeeds } from '../../sim/sweep-shard.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DIST = fileURLToPath(new URL('../../', import.meta.url));

type Doc = any;

function documents(path: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(`${REPO}${path}`, 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, [], `${path}: ${d.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS());
}

/** What /bin/sh -c makes of the Job's command for one index: $VAR, "$VAR", $((JOB_COMPLETION_INDEX + 1)), word splitting. */
function expand(script: string, env: Record<string, string>): string[] {
  const text = script.replace(/\$\(\(\s*JOB_COMPLETION_INDEX\s*\+\s*1\s*\)\)/g, String(Number(env.JOB_COMPLETION_INDEX) + 1));
  const words: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|(\S+)/g)) {
    const sub = (s: string): string => s.replace(/\$([A-Z_]+)/g, (_, name: string) => {
      assert.ok(name in env, `the command uses $${name}, which the container does not set`);
      return env[name];
    });
    if (m[1] !== undefined) words.push(sub(m[1]));
    else words.push(...sub(m[2]).split(/\s+/).filter((w) => w !== ''));
  }
  return words;
}

function container(job: Doc, name: string): Doc {
  const c = job.spec.template.spec.containers.find((x: Doc) => x.name === name);
  assert.ok(c, `container ${name}`);
  return c;
}

test('the sweep Job is an Indexed Job whose pods run every slice once and write where the merge reads', () => {
  const docs = documents('deploy/sim-sweep/job.yaml');
  const job = docs.find((d) => d.kind === 'Job');
  const claim = docs.find((d) => d.kind === 'PersistentVolumeClaim');
  assert.equal(job.apiVersion, 'batch/v1');
  assert.equal(job.spec.completionMode, 'Indexed');
  const n: number = job.spec.completions;
  assert.ok(Number.isInteger(n) && n >= 2, 'completions');
  assert.ok(job.spec.parallelism >= 1 && job.spec.parallelism <= n);
  assert.equal(job.spec.template.spec.restartPolicy, 'Never');
  const sweep = container(job, 'sweep');
  const env = Object.fromEntries(sweep.env.map((e: Doc) => [e.name, String(e.value)]));
  assert.equal(Number(env.SHARDS), n, 'SHARDS must equal completions, or slices are lost or run twice');
  assert.deepEqual(sweep.command, ['/bin/sh', '-c']);
  const [script] = sweep.args;
  const mount = sweep.volumeMounts.find((m: Doc) => m.name === 'results');
  const volume = job.spec.template.spec.volumes.find((v: Doc) => v.name === 'results');
  assert.equal(volume.persistentVolumeClaim.claimName, claim.metadata.name);
  assert.ok(claim.spec.accessModes.includes('ReadWriteMany'), 'every pod writes to the claim at once');

  const outs: string[] = [];
  let covered = 0;
  for (let index = 0; index < n; index++) {
    const argv = expand(script, { ...env, JOB_COMPLETION_INDEX: String(index) });
    assert.deepEqual(argv.slice(0, 3), ['exec', 'node', 'dist/sim/sweep.js']);
    const args = parseSweepArgs(argv.slice(3));
    assert.deepEqual(args.shard, { index: index + 1, count: n });
    assert.equal(args.from, Number(env.FROM));
    assert.equal(args.seeds, Number(env.SEEDS));
    assert.ok(args.outPath?.startsWith(`${mount.mountPath}/`), `${args.outPath} is on the results volume`);
    outs.push(args.outPath!);
    covered += shardSeeds(args, args.shard!).seeds;
  }
  assert.equal(new Set(outs).size, n, 'every slice writes its own file');
  assert.equal(covered, Number(env.SEEDS));

  // The sweep's exit codes: 1 a seed failed (a verdict: no retry), 2 bad arguments (fail the Job).
  const rules = job.spec.podFailurePolicy.rules;
  assert.deepEqual(rules.find((r: Doc) => r.action === 'FailIndex').onExitCodes.values, [1]);
  assert.deepEqual(rules.find((r: Doc) => r.action === 'FailJob').onExitCodes.values, [2]);
  assert.ok(job.spec.backoffLimitPerIndex >= 0, 'FailIndex needs backoffLimitPerIndex');

  const merge = documents('deploy/sim-sweep/merge-job.yaml').find((d) => d.kind === 'Job');
  const mc = container(merge, 'merge');
  assert.equal(mc.image, sweep.image);
  assert.equal(merge.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, claim.metadata.name);
  assert.equal(mc.volumeMounts[0].mountPath, mount.mountPath);
  const mergeArgv = expand(mc.args[0], {});
  assert.deepEqual(mergeArgv.slice(0, 3), ['exec', 'node', 'dist/sim/sweep.js']);
  const margs = parseMergeArgs(mergeArgv.slice(3));
  const [glob] = margs.files;
  const pattern = new RegExp(`^${glob.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
  for (const out of outs) assert.match(out, pattern, 'the merge reads every slice file');
  assert.ok(!pattern.test(margs.outPath!), 'the merged file is not read back as a slice');
});

test('the Dockerfile builds every folder tsc compiles and runs the sweep that the Job calls', () => {
  const dockerfile = readFileSync(`${REPO}Dockerfile`, 'utf8');
  const tsconfig = JSON.parse(readFileSync(`${REPO}tsconfig.json`, 'utf8')) as { include: string[] };
  const copied = [...dockerfile.matchAll(/^COPY (\S+) \1$/gm)].map((m) => m[1]);
  for (const folder of tsconfig.include) assert.ok(copied.includes(folder), `the image build copies ${folder}/`);
  assert.match(dockerfile, /^RUN npm ci /m);
  assert.match(dockerfile, /^RUN npm run -s build/m);
  assert.match(dockerfile, /^WORKDIR \/app$/m);
  assert.match(dockerfile, /^ENTRYPOINT \["node", "dist\/sim\/sweep\.js"\]$/m);
  assert.ok(existsSync(`${DIST}sim/sweep.js`));
  const ignore = readFileSync(`${REPO}.dockerignore`, 'utf8').split('\n');
  for (const local of ['node_modules', 'dist']) assert.ok(ignore.includes(local), `.dockerignore leaves out ${local}`);
});
