// The blob checkers (issue 13), fed by an observing layer around every simulated site's blob
// storage (sim/blobs/observed-storage.ts), independent of what the store itself believes:
//
//  blob-bits-held: every site that holds an image (its store reports the blob complete) or reports
//    it in sync holds exactly the bits of the image's digests: the manifest named by the catalog's
//    root, and for every chunk the bytes its store answers are the chunk's bytes (hashed unless they
//    are the chunk's own modelled window, sim/blobs/content.ts). Checked when a site's Glance is
//    given the bits (sim/blobs/glance-gate.ts; a site may drop the blob once every placed site has
//    it) and at the end of the run, where a site that reports the image in sync without its Glance
//    ever having been given the bits fails, and every image's modelled bytes are hashed again.
//  blob-served-verified: no site serves a chunk it has not verified: every chunk a store hands out
//    (to its blob server) must be one this site stored through putChunk, which verifies, and its
//    bytes must be the chunk's bytes.
//
// What counts as "verified" is judged here, not taken from the store: a store that accepts bytes
// without checking them (or keeps other bytes than it checked) is caught when it serves them or
// holds them at the end.
import type { FailureLog } from './failure.js';
import type { ModelledImage } from '../blobs/content.js';

export const BLOB_BITS_CHECK = 'blob-bits-held';
export const BLOB_SERVED_CHECK = 'blob-served-verified';
/** Failures of each kind recorded in full (the rest are counted). */
const MAX_FAILURES_PER_CHECK = 20;

export interface HeldChunks {
  /** The bytes a site's store answers for a chunk (without counting as serving it), or null. */
  chunk(digest: string): Promise<Uint8Array | null>;
  manifestRoot(root: string): string | undefined;
  complete(root: string): Promise<boolean>;
}

export class BlobIntegrityChecker {
  /** Per site, the chunks it stored through a verifying put with the chunk's true bytes. */
  private readonly verified = new Map<string, Set<string>>();
  readonly counts = { served: 0, stored: 0, sitesChecked: 0, chunksChecked: 0 };
  private readonly failures: Array<{ check: string; atMs: number; site: string; message: string }> = [];
  private readonly failureCount = { [BLOB_BITS_CHECK]: 0, [BLOB_SERVED_CHECK]: 0 };

  constructor(private readonly images: () => readonly ModelledImage[]) {}

  onStored(site: string, digest: string, bytes: Uint8Array): void {
    this.counts.stored++;
    if (!this.genuine(digest, bytes)) return;
    let set = this.verified.get(site);
    if (set === undefined) this.verified.set(site, (set = new Set()));
    set.add(digest);
  }

  onServed(atMs: number, site: string, digest: string, bytes: Uint8Array): void {
    this.counts.served++;
    if (this.verified.get(site)?.has(digest) !== true) {
      this.fail(BLOB_SERVED_CHECK, atMs, site, `${site} served chunk ${digest.slice(0, 12)} without having stored it verified`);
    } else if (!this.genuine(digest, bytes)) {
      this.fail(BLOB_SERVED_CHECK, atMs, site, `${site} served chunk ${digest.slice(0, 12)} with bytes that do not hash to its digest`);
    }
  }

  /**
   * Every site that holds an image (its store says complete) or must hold it (its Glance is being
   * given the bits: `mustHold`) holds exactly its bits. Run when a site's Glance is fed and at the
   * end of the run (where the modelled bytes are hashed again too).
   */
  async checkHeld(atMs: number, sites: ReadonlyArray<{ site: string; claim: string; held: HeldChunks; mustHold: boolean }>, recheckPool = false): Promise<void> {
    for (const image of this.images()) {
      if (recheckPool) for (const digest of image.recheck()) this.fail(BLOB_BITS_CHECK, atMs, '', `the modelled bytes of chunk ${digest.slice(0, 12)} changed during the run`);
      for (const { site, claim, held, mustHold } of sites) {
        const complete = await held.complete(image.root);
        if (!complete && !mustHold) continue;
        this.counts.sitesChecked++;
        const what = `${site} ${claim} image ${image.root.slice(0, 12)}`;
        if (held.manifestRoot(image.root) === undefined) {
          this.fail(BLOB_BITS_CHECK, atMs, site, `${what} but holds no manifest for it`);
          continue;
        }
        for (const digest of image.manifest.chunks) {
          this.counts.chunksChecked++;
          const bytes = await held.chunk(digest);
          if (bytes === null) this.fail(BLOB_BITS_CHECK, atMs, site, `${what} but lacks chunk ${digest.slice(0, 12)}`);
          else if (!image.isGenuine(digest, bytes)) this.fail(BLOB_BITS_CHECK, atMs, site, `${what} but its chunk ${digest.slice(0, 12)} is not the chunk's bytes`);
        }
      }
    }
  }

  /** A site reports the image in sync although its Glance was never given the bits. */
  onUnfedInSync(atMs: number, site: string): void {
    this.fail(BLOB_BITS_CHECK, atMs, site, `${site} reports the image in sync but its Glance was never given its bits`);
  }

  report(log: FailureLog): void {
    for (const f of this.failures) log.add(f.check, f.atMs, f.site === '' ? [] : [f.site], f.message);
    for (const check of [BLOB_BITS_CHECK, BLOB_SERVED_CHECK] as const) {
      const more = this.failureCount[check] - this.failures.filter((f) => f.check === check).length;
      if (more > 0) log.add(check, 0, [], `${more} more ${check} failures not listed`);
    }
  }

  failed(check: typeof BLOB_BITS_CHECK | typeof BLOB_SERVED_CHECK): number {
    return this.failureCount[check];
  }

  private genuine(digest: string, bytes: Uint8Array): boolean {
    const image = this.images().find((i) => i.has(digest));
    return image !== undefined && image.isGenuine(digest, bytes);
  }

  private fail(check: typeof BLOB_BITS_CHECK | typeof BLOB_SERVED_CHECK, atMs: number, site: string, message: string): void {
    this.failureCount[check]++;
    if (this.failureCount[check] <= MAX_FAILURES_PER_CHECK) this.failures.push({ check, atMs, site, message });
  }
}
