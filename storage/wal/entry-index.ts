// Where each entry of the log lives in the WAL, and its term, kept in memory so that term() never
// touches the disk and entries() reads only the bytes it returns. Four parallel arrays of numbers
// (about 32 bytes per entry) cover [base, base + length - 1].
export interface EntrySpot {
  seq: number;
  /** Offset of the entry's header in its segment file. */
  offset: number;
  dataBytes: number;
}

export class EntryIndex {
  /** Index of the first entry held; the next append lands at base + count when nothing is held. */
  base: number;
  private terms: number[] = [];
  private seqs: number[] = [];
  private offsets: number[] = [];
  private sizes: number[] = [];

  constructor(base: number) {
    this.base = base;
  }

  get count(): number {
    return this.terms.length;
  }

  /** One past the last entry held. */
  get end(): number {
    return this.base + this.terms.length;
  }

  has(index: number): boolean {
    return index >= this.base && index < this.end;
  }

  term(index: number): number | undefined {
    return this.has(index) ? this.terms[index - this.base] : undefined;
  }

  spot(index: number): EntrySpot {
    const i = index - this.base;
    return { seq: this.seqs[i], offset: this.offsets[i], dataBytes: this.sizes[i] };
  }

  dataBytes(index: number): number {
    return this.sizes[index - this.base];
  }

  /** Adds `index`, dropping anything held at or after it first; an index past end() starts afresh there. */
  put(index: number, term: number, spot: EntrySpot): void {
    if (index < this.end) this.truncateFrom(index);
    if (index !== this.end) this.clear(index);
    this.terms.push(term);
    this.seqs.push(spot.seq);
    this.offsets.push(spot.offset);
    this.sizes.push(spot.dataBytes);
  }

  truncateFrom(index: number): void {
    if (index <= this.base) {
      this.clear(index);
      return;
    }
    const keep = index - this.base;
    if (keep >= this.terms.length) return;
    this.terms.length = keep;
    this.seqs.length = keep;
    this.offsets.length = keep;
    this.sizes.length = keep;
  }

  dropBefore(index: number): void {
    if (index <= this.base) return;
    if (index >= this.end) {
      this.clear(index);
      return;
    }
    const n = index - this.base;
    this.terms.splice(0, n);
    this.seqs.splice(0, n);
    this.offsets.splice(0, n);
    this.sizes.splice(0, n);
    this.base = index;
  }

  /** Forgets everything; the next entry expected is `next`. */
  clear(next: number): void {
    this.base = next;
    this.terms = [];
    this.seqs = [];
    this.offsets = [];
    this.sizes = [];
  }
}
