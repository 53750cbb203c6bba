// `npm run test:saturation`: a saturating closed-loop write load and CPU-burning neighbours (one
// busy loop per core) against real agents on 127.0.0.1 for a minute; exits 1 on any leadership
// change (test/saturation/run.ts says how it is read). Prints the write answers by outcome.
//
//   npm run test:saturation -- [--sites 3] [--writers 64] [--seconds 60] [--burners N] [--disk-burners 0]
//                              [--target leader|spread] [--runs 1] [--compare etcd]
//
// With --compare etcd each run is followed by the same load on an etcd cluster of the same size
// (test/saturation/etcd-run.ts), so both see the same neighbours; only the stackraft side decides
// the exit code.
import '../../agent/runtime/promise-shim.js';
import { parseArgs } from 'node:util';
import { etcdLeadershipViolations, runEtcdSaturation, type EtcdSaturationReport } from './etcd-run.js';
import { TROUBLE_CODES, defaultBurners, leadershipViolations, runSaturation, type SaturationReport } from './run.js';

function intArg(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

function describe(r: SaturationReport): string {
  const outcomes = Object.entries(r.outcomes)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const trouble = TROUBLE_CODES.map((c) => `${c} ${r.outcomes[c] ?? 0}`).join(', ');
  return [
    `  leader ${r.leaderBefore}, term ${r.termBefore} before; highest term seen ${r.highestTerm}`,
    `  role changes logged: ${Object.entries(r.roleChanges).map(([s, l]) => `${s} ${l.length}`).join(', ')}`,
    `  status polls ${r.statusPolls} (${r.statusPollFailures} failed); leaders named other than ${r.leaderBefore}: ${r.leadersSeen.filter((l) => l !== r.leaderBefore).length}`,
    `  writes: ${outcomes} (${Math.round(r.writesPerSecond)} committed/s)`,
    `  leadership trouble answers: ${trouble}`,
    `  load average ${r.loadBefore.toFixed(1)} before, ${r.loadAfter.toFixed(1)} after`,
  ].join('\n');
}

function describeEtcd(r: EtcdSaturationReport): string {
  return [
    `  leader ${r.leaderBefore}, term ${r.termBefore} before; highest term seen ${r.highestTerm}`,
    `  status polls ${r.statusPolls}; leaders named other than ${r.leaderBefore}: ${r.leadersSeen.filter((l) => l !== r.leaderBefore).length}`,
    `  writes: committed ${r.committed}, failed ${r.failed} (${Math.round(r.writesPerSecond)} committed/s)`,
    `  load average ${r.loadBefore.toFixed(1)} before, ${r.loadAfter.toFixed(1)} after`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sites: { type: 'string', default: '3' },
      writers: { type: 'string', default: '64' },
      seconds: { type: 'string', default: '60' },
      burners: { type: 'string', default: String(defaultBurners()) },
      target: { type: 'string', default: 'leader' },
      runs: { type: 'string', default: '1' },
      'disk-burners': { type: 'string', default: '0' },
      compare: { type: 'string' },
    },
  });
  const target = values.target;
  if (target !== 'leader' && target !== 'spread') throw new Error(`--target: expected leader or spread, got ${JSON.stringify(target)}`);
  const opts = {
    sites: intArg('sites', values.sites!, 3, 9),
    writers: intArg('writers', values.writers!, 1, 1024),
    seconds: intArg('seconds', values.seconds!, 1, 3600),
    burners: intArg('burners', values.burners!, 0, 64),
    target: target as 'leader' | 'spread',
    diskBurners: intArg('disk-burners', values['disk-burners']!, 0, 16),
    log: (line: string) => process.stdout.write(`${line}\n`),
  };
  const runs = intArg('runs', values.runs!, 1, 100);
  if (values.compare !== undefined && values.compare !== 'etcd') throw new Error(`--compare: only etcd is known, got ${JSON.stringify(values.compare)}`);
  if (values.compare === 'etcd' && target !== 'leader') throw new Error('--compare etcd: the etcd side writes to its leader only; use --target leader');
  let etcdHeld = 0;
  let failed = 0;
  for (let run = 1; run <= runs; run++) {
    const report = await runSaturation(opts);
    const violations = leadershipViolations(report);
    process.stdout.write(`run ${run}/${runs}: ${violations.length === 0 ? 'PASS: no leadership change' : 'FAIL'}\n${describe(report)}\n`);
    for (const v of violations) process.stdout.write(`  violation: ${v}\n`);
    if (violations.length > 0) failed++;
    if (values.compare === 'etcd') {
      const etcd = await runEtcdSaturation(opts);
      const etcdViolations = etcdLeadershipViolations(etcd);
      process.stdout.write(`run ${run}/${runs}, etcd: ${etcdViolations.length === 0 ? 'no leadership change' : 'leadership changed'}\n${describeEtcd(etcd)}\n`);
      for (const v of etcdViolations) process.stdout.write(`  etcd: ${v}\n`);
      if (etcdViolations.length === 0) etcdHeld++;
    }
  }
  if (values.compare === 'etcd') process.stdout.write(`etcd: ${etcdHeld}/${runs} run(s) held leadership\n`);
  process.stdout.write(`${runs - failed}/${runs} run(s) held leadership\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
