// Bytes the leader sends, summed over every leadership of the run: what relays are meant to bound
// (DESIGN.md, "Relays"). A site's egress counter (SimNetwork.egressBytesOf) is read when it starts
// and stops leading; the report divides the sum by the committed entries and client writes.
export class LeaderEgress {
  private current: { site: string; fromBytes: number } | null = null;
  private closedBytes = 0;

  constructor(private readonly egressOf: (site: string) => number) {}

  onLeader(site: string): void {
    if (this.current?.site === site) return;
    this.close();
    this.current = { site, fromBytes: this.egressOf(site) };
  }

  /** `site` stopped leading (stepped down, crashed): nothing if it was not the one counted. */
  onNotLeader(site: string): void {
    if (this.current?.site === site) this.close();
  }

  /** Everything sent while leading, up to now. */
  totalBytes(): number {
    return this.closedBytes + (this.current ? this.egressOf(this.current.site) - this.current.fromBytes : 0);
  }

  private close(): void {
    if (this.current === null) return;
    this.closedBytes += this.egressOf(this.current.site) - this.current.fromBytes;
    this.current = null;
  }
}
