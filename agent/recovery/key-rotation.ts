// `stackraft site rotate-key`: this site moves to a new libp2p key through the log, in three steps,
// each resumed from what is on disk and in the catalog after a crash (DESIGN.md "Key rotation"):
//   1. announce: the new key is written beside the old one (`peer-key.next`) and its peer id goes
//      into the site's record as `nextPeerId`; once applied, every member admits both ids;
//   2. switch: the new key replaces `peer-key` (one rename) and the transport reopens under it;
//   3. retire: the site writes `peerId` = the new id and drops `nextPeerId`; once applied, every
//      member's gater refuses the old id, as for a removed site.
// The old key works until step 3 commits, and step 3 can only be sent once the switch is durable.
import type { PrivateKey } from '@libp2p/interface';
import type { Logger } from '../../consensus/ports.js';
import type { AgentService, KeyRotationView } from '../admin/service.js';
import type { Catalog } from '../catalog/index.js';
import { loadNextPeerKey, peerIdFromKey, promoteNextPeerKey } from '../transport/identity.js';

/** How often a rotation in progress looks at the catalog (and, idle, whether this site's key is still its own). */
export const ROTATION_STEP_MS = 500;
/** After its announcement applies here, the site waits this long before switching, so the others have applied it too. */
export const SWITCH_GRACE_MS = 1_000;
/** Bound of the leadership hand-off a leading site makes before its switch. */
export const HANDOFF_TIMEOUT_MS = 3_000;

export interface KeyRotationParts {
  dataDir: string;
  site: string;
  catalog: Catalog;
  service: AgentService;
  /** The transport: the peer id it runs under, and the switch to another key. */
  transport: { readonly peerId: string; switchKey(key: PrivateKey): Promise<void> };
  logger: Logger;
  now: () => number;
  /** The switch failed half-way: the agent must stop (it starts again under the key on disk). */
  fatal(message: string): void;
}

export class KeyRotator {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private seq = 0;
  private next: PrivateKey | null = null;
  private announcedSeenAt: number | null = null;
  private lastMessage = '';
  private warnedForeignKey = false;
  private readonly clientId: string;

  constructor(private readonly p: KeyRotationParts) {
    this.clientId = `rotate/${p.site}/${p.now().toString(36)}`;
  }

  /** Picks up a rotation a previous life left half-done (a `peer-key.next` on disk). */
  async start(): Promise<void> {
    this.next = await loadNextPeerKey(this.p.dataDir, false);
    if (this.next !== null) this.p.logger.info({ next: peerIdFromKey(this.next).toString() }, 'key rotation: resuming');
    this.timer = setInterval(() => void this.step(), ROTATION_STEP_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The admin request: starts a rotation, or reports the one in progress (asking twice starts one). */
  async begin(): Promise<KeyRotationView> {
    if (this.p.catalog.get('site', this.p.site) === undefined) {
      return { ...this.view(), stage: 'refused', message: `site ${this.p.site} has no record in the catalog yet: rotate its key once it has joined` };
    }
    if (this.next === null && this.stage() === 'idle') {
      this.next = await loadNextPeerKey(this.p.dataDir, true);
      this.announcedSeenAt = null;
      this.p.logger.info({ from: this.p.transport.peerId, to: this.nextId() }, 'key rotation: started');
    }
    void this.step();
    return this.view();
  }

  view(): KeyRotationView {
    const record = this.p.catalog.get('site', this.p.site)?.spec;
    return {
      site: this.p.site,
      stage: this.stage(),
      peerId: this.p.transport.peerId,
      ...(record ? { recordedPeerId: record.peerId } : {}),
      ...(record?.nextPeerId ? { recordedNextPeerId: record.nextPeerId } : {}),
      ...(this.next ? { nextPeerId: this.nextId() } : {}),
      message: this.lastMessage,
    };
  }

  /** Where the rotation stands, from the key files and the applied catalog. */
  private stage(): KeyRotationView['stage'] {
    const record = this.p.catalog.get('site', this.p.site)?.spec;
    if (this.next !== null) return record?.nextPeerId === this.nextId() ? 'switching' : 'announcing';
    if (record?.nextPeerId === this.p.transport.peerId) return 'retiring';
    return 'idle';
  }

  private nextId(): string {
    return this.next === null ? '' : peerIdFromKey(this.next).toString();
  }

  async step(): Promise<void> {
    if (this.busy || this.timer === null) return;
    this.busy = true;
    try {
      await this.stepOnce();
    } catch (err) {
      this.say('warn', `key rotation: ${(err as Error).message}; will retry`);
    } finally {
      this.busy = false;
    }
  }

  private async stepOnce(): Promise<void> {
    const record = this.p.catalog.get('site', this.p.site)?.spec;
    if (record === undefined) return;
    switch (this.stage()) {
      case 'announcing':
        this.announcedSeenAt = null;
        return this.send({ nextPeerId: this.nextId() }, 'announcing the new peer id through the log');
      case 'switching':
        return this.switchWhenSeen();
      case 'retiring':
        // An address that names the old id by `/p2p/` would no longer match the record: kept without it.
        return this.send({ peerId: this.p.transport.peerId, nextPeerId: null, addresses: record.addresses.map(withoutPeerId) }, 'retiring the old peer id through the log');
      default:
        return record.peerId === undefined ? undefined : this.checkOwnKey(record.peerId, record.nextPeerId);
    }
  }

  /** Step 2, once the announcement has been applied here for SWITCH_GRACE_MS. */
  private async switchWhenSeen(): Promise<void> {
    const now = this.p.now();
    this.announcedSeenAt ??= now;
    if (now - this.announcedSeenAt < SWITCH_GRACE_MS || this.next === null) return;
    const key = this.next;
    const from = this.p.transport.peerId;
    await this.handOffLeadership();
    // Durable first: from here a restart runs under the new key, which the members admit (step 1 is applied).
    await promoteNextPeerKey(this.p.dataDir);
    this.next = null;
    try {
      await this.p.transport.switchKey(key);
    } catch (err) {
      this.p.fatal(`key rotation: the transport could not reopen under the new key (${(err as Error).message}); the agent stops and starts again under the key on disk`);
      return;
    }
    this.say('info', `key rotation: switched from ${from} to ${this.p.transport.peerId}`);
    void this.step();
  }

  /**
   * The switch closes every connection this site has: a leader first hands its leadership to a live
   * voter, so the cluster does not sit out an election timeout. Best effort: on any failure the
   * switch goes ahead and the others elect as after any lost leader.
   */
  private async handOffLeadership(): Promise<void> {
    try {
      const status = await this.p.service.status();
      if (status.role !== 'leader') return;
      const to = status.members.find((m) => m.role === 'voter' && m.live && m.site !== this.p.site);
      if (to === undefined) return;
      const outcome = await this.p.service.leaderTransfer(to.site, { timeoutMs: HANDOFF_TIMEOUT_MS });
      this.say('info', `key rotation: leadership handed to ${to.site} before the switch (${outcome.status})`);
    } catch (err) {
      this.say('warn', `key rotation: could not hand the leadership off before the switch (${(err as Error).message}); switching anyway`);
    }
  }

  private async send(patch: Record<string, string | string[] | null>, what: string): Promise<void> {
    const outcome = await this.p.service.write([{ op: 'patch', kind: 'site', id: this.p.site, patch }], { force: false, clientId: this.clientId, seq: ++this.seq, operator: 'key-rotation', reason: `key rotation: ${what}` });
    if (outcome.status === 'committed') {
      this.say('info', `key rotation: ${what}: committed at ${outcome.index}`);
      if (patch.nextPeerId === null) this.say('info', `key rotation: done; this site is ${this.p.transport.peerId}, and every member refuses the old peer id`);
      return;
    }
    this.say('warn', `key rotation: ${what}: ${outcome.status}${'message' in outcome ? ` (${outcome.message})` : ''}; will retry`);
  }

  /** Idle: an agent whose key is not the site's is refused by every member; say so once. */
  private checkOwnKey(recorded: string, next: string | undefined): void {
    const own = this.p.transport.peerId;
    if (recorded === own || next === own || this.warnedForeignKey) return;
    this.warnedForeignKey = true;
    this.say('error', `this agent's key (peer id ${own}) is not site ${this.p.site}'s: the catalog registers ${recorded}. If the site's key was rotated, this is the retired key and every member refuses it: start the site from its current data directory`);
  }

  private say(level: 'info' | 'warn' | 'error', message: string): void {
    if (level !== 'info' && message === this.lastMessage) return;
    this.lastMessage = message;
    this.p.logger[level]({ site: this.p.site }, message);
  }
}

function withoutPeerId(address: string): string {
  const at = address.lastIndexOf('/p2p/');
  return at < 0 ? address : address.slice(0, at);
}
