// Values read back from the store at open: every decoder of storage/codec.ts (frame version, CRC32,
// msgpack payload, field checks) and the key decoders. Most generated inputs are sealed with a
// correct checksum around a mutated payload, so the field checks behind the CRC are reached.
// Input: one selector byte, then the stored bytes.
import { Packr } from 'msgpackr';
import { EntryType } from '../../../consensus/types.js';
import {
  CorruptValue,
  decodeBytes,
  decodeEntry,
  decodeFormatRecord,
  decodeHardState,
  decodeIndex,
  decodeSnapshotMeta,
  encodeEntry,
  encodeFormatRecord,
  encodeHardState,
  encodeIndex,
  encodeSnapshotMeta,
  indexOfLogKey,
  logKey,
  nameOfRecordKey,
  recordKey,
  seal,
} from '../../../storage/codec.js';
import type { Prng } from '../../../sim/prng.js';
import { concat, randomBytes, type Mutator } from '../mutate.js';
import { accepted, rejected, type FuzzTarget, type Outcome } from '../target.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const ENTRY_INDEX = 7;

const DECODERS: ReadonlyArray<(value: Uint8Array) => unknown> = [
  (v) => decodeEntry(v, ENTRY_INDEX),
  decodeHardState,
  decodeSnapshotMeta,
  decodeIndex,
  decodeFormatRecord,
  decodeBytes,
  indexOfLogKey,
  nameOfRecordKey,
];
const NAMES = ['entry', 'hardState', 'snapshotMeta', 'index', 'format', 'bytes', 'logKey', 'recordKey'];

/** A valid payload (unsealed) for each selector. */
function payloadFor(selector: number, rng: Prng): unknown {
  switch (selector) {
    case 0:
      return [ENTRY_INDEX, 1 + rng.int(5), rng.chance(0.9) ? EntryType.Normal : EntryType.ConfChange, randomBytes(rng, rng.int(40))];
    case 1:
      return [rng.int(9), rng.pick(['', 'site-a']), rng.int(100)];
    case 2:
      return [rng.int(100), rng.int(9), ['site-a', 'site-b'], [], rng.int(5000)];
    case 3:
      return rng.int(1000);
    default:
      return { format: 'stackraft-log-store', version: 1 };
  }
}

function generate(rng: Prng, m: Mutator): Uint8Array {
  const selector = rng.int(DECODERS.length);
  if (selector === 6) return concat(Uint8Array.of(selector), rng.chance(0.7) ? logKey(rng.next() * 256 + rng.int(256)) : randomBytes(rng, rng.int(12)));
  if (selector === 7) return concat(Uint8Array.of(selector), recordKey(m.string()));
  if (selector === 5) return concat(Uint8Array.of(selector), seal(randomBytes(rng, rng.int(64))));
  const payload = rng.chance(0.8) ? m.tree(payloadFor(selector, rng), true) : payloadFor(selector, rng);
  let packed: Uint8Array;
  try {
    packed = packr.pack(payload);
  } catch {
    packed = packr.pack(payloadFor(selector, rng));
  }
  const value = rng.chance(0.9) ? seal(packed) : packed;
  return concat(Uint8Array.of(selector), value);
}

function seeds(): Uint8Array[] {
  const tag = (selector: number, value: Uint8Array) => concat(Uint8Array.of(selector), value);
  return [
    tag(0, encodeEntry({ index: ENTRY_INDEX, term: 2, type: EntryType.Normal, data: Uint8Array.of(1, 2) })),
    tag(1, encodeHardState({ term: 3, vote: 'site-a', commit: 9 })),
    tag(2, encodeSnapshotMeta({ index: 9, term: 3, conf: { voters: ['a', 'b', 'c'], learners: ['d'] } }, 512)),
    tag(3, encodeIndex(42)),
    tag(4, encodeFormatRecord()),
    tag(5, seal(Uint8Array.of(9, 9, 9))),
    tag(6, logKey(2 ** 33 + 5)),
    tag(7, recordKey('r/flavor/m1.small')),
  ];
}

function run(input: Uint8Array): Outcome {
  if (input.length === 0) return rejected('empty', 'no selector');
  const selector = input[0] % DECODERS.length;
  try {
    DECODERS[selector](input.subarray(1));
    return accepted();
  } catch (error) {
    if (!(error instanceof CorruptValue)) throw error;
    return rejected(`${NAMES[selector]}:${classify(error.message)}`, error.message);
  }
}

function classify(message: string): string {
  if (message.startsWith('truncated')) return 'truncated';
  if (message.startsWith('unknown value frame version')) return 'frame-version';
  if (message === 'checksum mismatch') return 'checksum';
  if (message.startsWith('undecodable')) return 'undecodable';
  return 'fields';
}

export const storedTarget: FuzzTarget = {
  name: 'stored',
  covers: 'storage/codec: unseal, decodeEntry, decodeHardState, decodeSnapshotMeta, decodeIndex, decodeFormatRecord, decodeBytes, key decoders',
  maxInputBytes: 16 * 1024,
  dictionary: [],
  seeds,
  generate,
  run,
};
