// A file system for power-loss tests, at the write-ahead log's file port: bytes reach the real
// files at once (so reads see them, as they would through the page cache), but every write not yet
// covered by a datasync/sync of its file is remembered with the bytes it replaced, and every create
// or rename not yet covered by a syncDir of its directory is remembered too. powerCut() then puts
// the disk back the way a power loss could leave it: for each file, the unsynced writes are undone
// from the newest back, except that a prefix of them may survive, the last survivor possibly torn
// at a 512-byte sector boundary; files created since their directory's last sync may vanish, renames since
// then may be undone. After the cut nothing more reaches the disk: the process is about to die.
//
// Removals are made durable at once (a removed segment never comes back): a simplification, named
// in DESIGN.md. LevelDB's own files do not go through this port.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { nodeFileSystem, type WalFile, type WalFileSystem, type WalOpenMode } from './file-port.js';

const SECTOR_BYTES = 512;

/** One write not yet synced: where, and what was there before (the file's size before too). */
interface Undo {
  position: number;
  previous: Uint8Array;
  sizeBefore: number;
  length: number;
}

interface Tracked {
  path: string;
  undo: Undo[];
}

/** A source of choices (0 <= n < bound), so a test can make the cut deterministic. */
export type PickInt = (bound: number) => number;

export interface PowerCutReport {
  filesTouched: number;
  writesUndone: number;
  writesKept: number;
  tornWrites: number;
  createsUndone: number;
  renamesUndone: number;
}

/** Waits forever: after the cut, nothing completes. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

export class PowerCutFileSystem implements WalFileSystem {
  private readonly files = new Map<string, Tracked>();
  /** Creates and renames per directory since its last syncDir, oldest first. */
  private readonly dirOps = new Map<string, Array<{ kind: 'create'; path: string } | { kind: 'rename'; from: string; to: string }>>();
  private inFlight = 0;
  private idle: Array<() => void> = [];
  private cut = false;

  constructor(private readonly real: WalFileSystem = nodeFileSystem) {}

  private tracked(path: string): Tracked {
    let t = this.files.get(path);
    if (!t) this.files.set(path, (t = { path, undo: [] }));
    return t;
  }

  /** Runs a disk operation unless the power is off, counting it as in flight until it settles. */
  async op<T>(run: () => Promise<T>): Promise<T> {
    if (this.cut) return never<T>();
    this.inFlight++;
    try {
      return await run();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  async open(path: string, mode: WalOpenMode): Promise<WalFile> {
    const file = await this.op(() => this.real.open(path, mode));
    if (mode === 'create') this.dirOp(dirname(path), { kind: 'create', path });
    return new PowerCutFile(this, this.tracked(path), file);
  }

  list(dir: string): Promise<string[]> {
    return this.op(() => this.real.list(dir));
  }

  mkdir(dir: string): Promise<void> {
    return this.op(() => this.real.mkdir(dir));
  }

  async rename(from: string, to: string): Promise<void> {
    // A rename over an existing file is atomic: a power cut leaves the old or the new file, never
    // neither; the old one is not kept here, so such a rename is treated as durable at once.
    const replaces = existsSync(to);
    await this.op(() => this.real.rename(from, to));
    const t = this.files.get(from);
    if (t) {
      this.files.delete(from);
      t.path = to;
      this.files.set(to, t);
    }
    if (!replaces) this.dirOp(dirname(to), { kind: 'rename', from, to });
  }

  async remove(path: string): Promise<void> {
    await this.op(() => this.real.remove(path));
    this.files.delete(path);
  }

  async syncDir(dir: string): Promise<void> {
    const pending = this.dirOps.get(dir)?.length ?? 0;
    await this.op(() => this.real.syncDir(dir));
    this.dirOps.get(dir)?.splice(0, pending);
  }

  private dirOp(dir: string, op: { kind: 'create'; path: string } | { kind: 'rename'; from: string; to: string }): void {
    let list = this.dirOps.get(dir);
    if (!list) this.dirOps.set(dir, (list = []));
    list.push(op);
  }

  /** Remembers what a write at `position` of `length` bytes replaces (called before the write). */
  rememberBefore(t: Tracked, position: number, length: number): void {
    const fd = openSync(t.path, 'r');
    try {
      const sizeBefore = fstatSync(fd).size;
      const previous = new Uint8Array(Math.max(0, Math.min(length, sizeBefore - position)));
      if (previous.length > 0) readSync(fd, previous, 0, previous.length, position);
      t.undo.push({ position, previous, sizeBefore, length });
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The power goes: waits for operations already in flight (the disk finishes what it was doing),
   * then undoes what was not synced. `pick` chooses how much of each file's unsynced tail survives.
   */
  async powerCut(pick: PickInt): Promise<PowerCutReport> {
    this.cut = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    const report: PowerCutReport = { filesTouched: 0, writesUndone: 0, writesKept: 0, tornWrites: 0, createsUndone: 0, renamesUndone: 0 };
    for (const t of this.files.values()) {
      if (t.undo.length === 0 || !existsSync(t.path)) continue;
      report.filesTouched++;
      const kept = pick(t.undo.length + 1);
      report.writesKept += kept;
      const fd = openSync(t.path, 'r+');
      try {
        for (let i = t.undo.length - 1; i >= kept; i--) {
          const u = t.undo[i];
          // The oldest undone write may be torn: the disk wrote its sectors (at absolute 512-byte
          // boundaries) in order, and the power went at one of those boundaries inside it.
          const from = i === kept ? tornPrefix(u, pick) : 0;
          if (from > 0) report.tornWrites++;
          if (u.previous.length > from) writeSync(fd, u.previous, from, u.previous.length - from, u.position + from);
          // A write past the old end made the file longer: it shrinks back, keeping any torn part.
          const keepEnd = Math.max(u.sizeBefore, u.position + from);
          if (fstatSync(fd).size > keepEnd) ftruncateSync(fd, keepEnd);
          report.writesUndone++;
        }
      } finally {
        closeSync(fd);
      }
    }
    for (const ops of this.dirOps.values()) {
      const kept = pick(ops.length + 1);
      for (let i = ops.length - 1; i >= kept; i--) {
        const op = ops[i];
        if (op.kind === 'create' && existsSync(op.path)) {
          unlinkSync(op.path);
          report.createsUndone++;
        } else if (op.kind === 'rename' && existsSync(op.to) && !existsSync(op.from)) {
          renameSync(op.to, op.from);
          report.renamesUndone++;
        }
      }
    }
    return report;
  }

  get isCut(): boolean {
    return this.cut;
  }
}

/** Bytes of `u` that reached the disk when it tore: 0, or up to an absolute sector boundary inside it. */
function tornPrefix(u: Undo, pick: PickInt): number {
  const firstBoundary = Math.floor(u.position / SECTOR_BYTES + 1) * SECTOR_BYTES;
  const end = u.position + u.length;
  if (firstBoundary >= end) return 0;
  const boundaries = Math.ceil((end - firstBoundary) / SECTOR_BYTES);
  const chosen = pick(boundaries + 1);
  return chosen === 0 ? 0 : firstBoundary + (chosen - 1) * SECTOR_BYTES - u.position;
}

class PowerCutFile implements WalFile {
  constructor(
    private readonly fs: PowerCutFileSystem,
    private readonly t: Tracked,
    private readonly file: WalFile,
  ) {}

  write(data: Uint8Array, position: number): Promise<void> {
    return this.fs.op(async () => {
      this.fs.rememberBefore(this.t, position, data.byteLength);
      await this.file.write(data, position);
    });
  }

  read(into: Uint8Array, position: number): Promise<number> {
    return this.fs.op(() => this.file.read(into, position));
  }

  datasync(): Promise<void> {
    return this.syncWith(() => this.file.datasync());
  }

  sync(): Promise<void> {
    return this.syncWith(() => this.file.sync());
  }

  /** Writes made before the sync began are durable once it resolves; later ones are not. */
  private async syncWith(run: () => Promise<void>): Promise<void> {
    const covered = this.t.undo.length;
    await this.fs.op(run);
    this.t.undo.splice(0, covered);
  }

  truncate(length: number): Promise<void> {
    return this.fs.op(async () => {
      // A truncation is undone like a write: remember the bytes it cuts off, or the size it extends from.
      const size = await this.file.size();
      if (length !== size) this.fs.rememberBefore(this.t, Math.min(length, size), Math.abs(size - length));
      await this.file.truncate(length);
    });
  }

  size(): Promise<number> {
    return this.fs.op(() => this.file.size());
  }

  close(): Promise<void> {
    return this.fs.op(() => this.file.close());
  }
}
