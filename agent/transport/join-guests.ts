// Strangers the gater lets in for a join (agent/recovery/join-door.ts) and nothing else: only while
// the door is open (the catalog holds a join token still within its life, so a copy of a used token
// hears "already used" rather than a closed door), never a peer id this site has seen removed or
// retired (revocation stays a refusal at the gater), at most MAX_JOIN_GUESTS peers at a time, each
// for JOIN_GUEST_TTL_MS (then its connections are closed). Their connections may carry the join
// protocol only: the Raft and blob protocols refuse a peer that is not a member.
export const MAX_JOIN_GUESTS = 8;
export const JOIN_GUEST_TTL_MS = 15_000;
/** Removed and retired peer ids remembered, never to be let in as guests; oldest forgotten first. */
export const MAX_REVOKED_PEERS_REMEMBERED = 1024;

export class JoinGuests {
  private open = false;
  private readonly admittedAt = new Map<string, number>();
  private readonly revoked = new Set<string>();
  /** Guests admitted so far (monotonic). */
  admissions = 0;

  constructor(private readonly now: () => number) {}

  setOpen(open: boolean): void {
    this.open = open;
  }

  /** A peer id that was a member's and is no more: refused as a guest from now on. */
  revoke(peerId: string): void {
    this.revoked.delete(peerId);
    this.revoked.add(peerId);
    if (this.revoked.size > MAX_REVOKED_PEERS_REMEMBERED) this.revoked.delete(this.revoked.values().next().value!);
    this.admittedAt.delete(peerId);
  }

  /** Whether an unknown peer may connect now; admits it (counted) when there is room. */
  admit(peerId: string): boolean {
    if (this.admittedAt.has(peerId)) return this.fresh(peerId);
    if (!this.open || this.revoked.has(peerId) || this.admittedAt.size >= MAX_JOIN_GUESTS) return false;
    this.admittedAt.set(peerId, this.now());
    this.admissions++;
    return true;
  }

  isGuest(peerId: string): boolean {
    return this.admittedAt.has(peerId) && this.fresh(peerId);
  }

  /** Guests past their time, forgotten here; the caller closes their connections. */
  takeExpired(): string[] {
    const out: string[] = [];
    for (const peerId of this.admittedAt.keys()) if (!this.fresh(peerId)) out.push(peerId);
    for (const peerId of out) this.admittedAt.delete(peerId);
    return out;
  }

  /** A guest that became a member (its redemption applied) is no longer one. */
  forget(peerId: string): void {
    this.admittedAt.delete(peerId);
  }

  get size(): number {
    return this.admittedAt.size;
  }

  private fresh(peerId: string): boolean {
    return this.now() - (this.admittedAt.get(peerId) ?? 0) < JOIN_GUEST_TTL_MS;
  }
}
