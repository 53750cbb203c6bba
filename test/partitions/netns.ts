// A private network for a cluster of real agents: one network namespace per site, a switch
// namespace holding a bridge, a veth pair from each site to the bridge, addresses from a private
// range that exists only on those veths. Nothing is created in the host's namespace (each veth is
// made inside the switch namespace with its peer placed straight into the site's) and no rule
// touches a host interface. Links are cut with blackhole routes inside a site's namespace: a
// route to a peer's address that drops what this site sends it. That is directional by nature
// (one-way cuts), and both directions make a symmetric cut.
//
// Cleanup: destroy() deletes every namespace (which deletes its veths); the same is done
// synchronously on process exit and on SIGINT/SIGTERM, and stale namespaces of a process that
// died are removed when a new lab starts.
import { execFileSync, spawnSync } from 'node:child_process';

const PREFIX = 'srp';
/** Site addresses: 10.231.<lab>.<site + 1>/24, only ever on veths inside the lab's namespaces. */
const SUBNET_SECOND_OCTET = 231;
/** Bound of one `ip` command: they are instantaneous, a stuck one is a broken host. */
const IP_TIMEOUT_MS = 10_000;

const liveLabs = new Set<NetLab>();
let exitHooked = false;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: IP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why namespaces cannot be used here, or null when they can (probes by creating and deleting one). */
export function netnsUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root, or in a container with CAP_NET_ADMIN and CAP_SYS_ADMIN)';
  const probe = `${PREFIX}-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (add.error || add.status !== 0) return `ip netns add failed: ${add.error?.message ?? add.stderr.trim()}`;
  const link = spawnSync('ip', ['-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1'], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  spawnSync('ip', ['netns', 'del', probe], { timeout: IP_TIMEOUT_MS });
  if (link.status !== 0) return `veth pairs cannot be created: ${link.stderr.trim()}`;
  return null;
}

/** Deletes namespaces left by lab processes that no longer run. */
function removeStaleNamespaces(): void {
  const names = ip(['netns', 'list']).split('\n').map((line) => line.split(' ')[0]).filter((n) => n.startsWith(`${PREFIX}-`));
  for (const name of names) {
    const pid = Number(name.split('-')[1]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) spawnSync('ip', ['netns', 'del', name], { timeout: IP_TIMEOUT_MS });
  }
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const lab of liveLabs) lab.destroy();
  });
}

export class NetLab {
  readonly switchNs: string;
  readonly siteNs: string[];
  readonly addresses: string[];
  /** Blackholed (from, to) pairs currently in place. */
  private readonly cuts = new Set<string>();
  private destroyed = false;

  /** `lab` tells labs of one process apart (0..255). */
  constructor(
    readonly sites: number,
    readonly lab = 0,
  ) {
    removeStaleNamespaces();
    const tag = `${PREFIX}-${process.pid}-${lab}`;
    this.switchNs = `${tag}-sw`;
    this.siteNs = Array.from({ length: sites }, (_, i) => `${tag}-s${i + 1}`);
    this.addresses = Array.from({ length: sites }, (_, i) => `10.${SUBNET_SECOND_OCTET}.${lab}.${i + 1}`);
    liveLabs.add(this);
    hookExit();
    try {
      this.build();
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  private build(): void {
    ip(['netns', 'add', this.switchNs]);
    ip(['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
    ip(['-n', this.switchNs, 'link', 'set', 'lo', 'up']);
    for (let i = 0; i < this.sites; i++) {
      const ns = this.siteNs[i];
      ip(['netns', 'add', ns]);
      // Created inside the switch namespace, the peer end placed straight into the site's.
      ip(['-n', this.switchNs, 'link', 'add', `v${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', this.switchNs, 'link', 'set', `v${i + 1}`, 'master', 'br0']);
      ip(['-n', this.switchNs, 'link', 'set', `v${i + 1}`, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', `${this.addresses[i]}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
  }

  /** How to start a process inside site `i`'s namespace (ip netns exec execs, so the PID stays). */
  launcher(i: number): string[] {
    return ['ip', 'netns', 'exec', this.siteNs[i]];
  }

  /** Site `from` can no longer send to site `to` (packets dropped silently). */
  block(from: number, to: number): void {
    const key = `${from}>${to}`;
    if (this.cuts.has(key)) return;
    ip(['-n', this.siteNs[from], 'route', 'add', 'blackhole', `${this.addresses[to]}/32`]);
    this.cuts.add(key);
  }

  unblock(from: number, to: number): void {
    const key = `${from}>${to}`;
    if (!this.cuts.has(key)) return;
    ip(['-n', this.siteNs[from], 'route', 'del', 'blackhole', `${this.addresses[to]}/32`]);
    this.cuts.delete(key);
  }

  /** Both directions between every site of `a` and every site of `b`. */
  cutBetween(a: number[], b: number[]): void {
    for (const x of a) {
      for (const y of b) {
        this.block(x, y);
        this.block(y, x);
      }
    }
  }

  healAll(): void {
    for (const key of [...this.cuts]) {
      const [from, to] = key.split('>').map(Number);
      this.unblock(from, to);
    }
  }

  get cutCount(): number {
    return this.cuts.size;
  }

  /** Deletes every namespace of the lab (and with them the veths and routes). Idempotent, synchronous. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    for (const ns of [...this.siteNs, this.switchNs]) spawnSync('ip', ['netns', 'del', ns], { timeout: IP_TIMEOUT_MS });
  }
}
