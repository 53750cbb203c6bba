// The join door's figures as metrics, and when the door is open (agent/recovery/join-door.ts,
// agent/transport/join-guests.ts).
import { Counter, type Registry } from 'prom-client';
import type { ResourceOf } from '../catalog/types.js';
import type { JoinDoor } from '../recovery/join-door.js';
import type { JoinGuests } from '../transport/join-guests.js';

/**
 * The door stays open this long past a token's `join.expiresAt` by this member's clock. It only lets
 * strangers ask; whether a redemption is in time is decided by the log, never by this clock.
 */
export const JOIN_DOOR_SLACK_MS = 5 * 60_000;

/** Open while the catalog holds a join token within its life (waiting, or redeemed: a copy must hear "used"). */
export function joinDoorOpen(sites: ResourceOf<'site'>[], nowMs: number): boolean {
  return sites.some((s) => s.spec.join?.secretHash !== undefined && nowMs < s.spec.join.expiresAt + JOIN_DOOR_SLACK_MS);
}

export function registerJoinMetrics(registry: Registry, door: JoinDoor, guests: JoinGuests): void {
  const registers = [registry];
  const exported = new Map<string, number>();
  new Counter({
    name: 'stackraft_join_requests_total',
    help: 'Join requests this member answered, by outcome (redeemed, used, expired, bad_secret, unknown_site, not_leader, ...).',
    labelNames: ['outcome'],
    registers,
    collect() {
      for (const [outcome, count] of door.counters) {
        const before = exported.get(outcome) ?? 0;
        if (count > before) this.inc({ outcome }, count - before);
        exported.set(outcome, count);
      }
    },
  });
  let admitted = 0;
  new Counter({
    name: 'stackraft_join_guests_admitted_total',
    help: 'Peers that were not members let in by the gater for a join exchange (bounded in number and time).',
    registers,
    collect() {
      if (guests.admissions > admitted) this.inc(guests.admissions - admitted);
      admitted = guests.admissions;
    },
  });
}
