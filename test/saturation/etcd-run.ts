// The etcd side of `npm run test:saturation -- --compare etcd`: an etcd cluster of the same size on
// 127.0.0.1 (bench/etcd-cluster.ts: Debian's etcd-server, its default 100 ms heartbeat and 1 s
// election timeout), the same number of closed-loop writers through its JSON gateway, and the same
// CPU-burning neighbours for the same time. Leadership is read from every member's status, polled:
// the highest term (each election attempt raises it) and the leader each member names.
import { loadavg } from 'node:os';
import { EtcdCluster, ensureEtcdInstalled } from '../../bench/etcd-cluster.js';
import { runClosedLoop, sleep } from '../../bench/closed-loop.js';
import { startBurners, stopBurners, type SaturationOptions } from './run.js';

const STATUS_POLL_MS = 200;
/** Keep-alive connections to the gateway, as many as the stackraft run opens to an admin socket. */
const MAX_CONNECTIONS = 60;

export interface EtcdSaturationReport {
  members: number;
  leaderBefore: string;
  termBefore: number;
  highestTerm: number;
  /** Leaders named by any member while polled (null: it knew none). */
  leadersSeen: Array<string | null>;
  statusPolls: number;
  committed: number;
  failed: number;
  writesPerSecond: number;
  loadBefore: number;
  loadAfter: number;
}

/** What went wrong, one line each; empty when leadership held. */
export function etcdLeadershipViolations(r: EtcdSaturationReport): string[] {
  const out: string[] = [];
  if (r.highestTerm !== r.termBefore) out.push(`the term moved from ${r.termBefore} to ${r.highestTerm}`);
  const others = r.leadersSeen.filter((l) => l !== r.leaderBefore);
  if (others.length > 0) out.push(`members named another leader (or none) ${others.length} time(s): ${[...new Set(others.map(String))].join(', ')}`);
  return out;
}

export async function runEtcdSaturation(opts: SaturationOptions): Promise<EtcdSaturationReport> {
  const say = opts.log ?? (() => undefined);
  ensureEtcdInstalled(say);
  const cluster = await EtcdCluster.start(opts.sites);
  const burners = [] as ReturnType<typeof startBurners>;
  try {
    const leaderBefore = await cluster.leader();
    const termBefore = await cluster.maxTerm();
    say(`etcd cluster of ${opts.sites} up, leader ${leaderBefore} at term ${termBefore}; ${opts.writers} writers and ${opts.burners} CPU burner(s), ${opts.diskBurners ?? 0} disk burner(s) for ${opts.seconds} s`);
    const loadBefore = loadavg()[0];
    const poll = { highestTerm: termBefore, leadersSeen: [] as Array<string | null>, polls: 0, running: true };
    const polling = (async () => {
      while (poll.running) {
        for (const v of await cluster.views()) {
          poll.polls++;
          poll.highestTerm = Math.max(poll.highestTerm, v.term);
          poll.leadersSeen.push(v.leader);
        }
        await sleep(STATUS_POLL_MS);
      }
    })();
    burners.push(...startBurners(opts, cluster.dir));
    // The writers go to the leader's gateway, as the stackraft run's go to the leader's admin socket.
    const client = cluster.client(leaderBefore, Math.min(opts.writers, MAX_CONNECTIONS));
    const loop = await runClosedLoop(client, opts.writers, { warmupSeconds: 0, runSeconds: opts.seconds }, [], 'saturation');
    await client.close();
    await stopBurners(burners);
    poll.running = false;
    await polling;
    const loadAfter = loadavg()[0];
    return {
      members: opts.sites,
      leaderBefore,
      termBefore,
      highestTerm: Math.max(poll.highestTerm, await cluster.maxTerm()),
      leadersSeen: poll.leadersSeen,
      statusPolls: poll.polls,
      committed: loop.committed,
      failed: loop.failed,
      writesPerSecond: loop.writesPerSecond,
      loadBefore,
      loadAfter,
    };
  } finally {
    await stopBurners(burners);
    await cluster.destroy();
  }
}
