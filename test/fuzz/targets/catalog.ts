// The catalog's two decoders of replicated bytes: snapshot images (received in chunks from a leader,
// or read back from the store at open) through Catalog.restore, and the data of committed entries
// through Catalog.apply, which must answer every entry deterministically and never throw (a throw
// would stop the replica on every site at the same index).
import { Packr } from 'msgpackr';
import { Catalog } from '../../../agent/catalog/catalog.js';
import { decodeMsgpack } from '../../../agent/catalog/codec.js';
import { CatalogFormatError } from '../../../agent/catalog/records.js';
import type { CommandResult } from '../../../agent/catalog/types.js';
import type { Prng } from '../../../sim/prng.js';
import type { Mutator } from '../mutate.js';
import { accepted, rejected, type FuzzTarget, type Outcome } from '../target.js';
import { NORMAL, populatedCatalog, sampleCommands } from './catalog-fixture.js';

/** Not the canonical encoder: generated values must reach the decoder even where the encoder would refuse them. */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
/** Applies on one catalog before it is reset to the fixture (bounds its size). */
const APPLIES_PER_RESET = 500;

const fixture = populatedCatalog();
const baseImage = fixture.catalog.snapshot();
const baseRecords = (decodeMsgpack(baseImage) as { records: Array<[string, Uint8Array]> }).records;

function pack(value: unknown, fallback: Uint8Array): Uint8Array {
  try {
    return new Uint8Array(packr.pack(value));
  } catch {
    return fallback;
  }
}

function generateImage(rng: Prng, m: Mutator): Uint8Array {
  const records = baseRecords.map(([key, value]) => [key, value] as [string, Uint8Array]);
  if (rng.chance(0.7)) {
    const i = rng.int(records.length);
    const body = decodeMsgpack(records[i][1]);
    records[i] = [rng.chance(0.1) ? m.string() : records[i][0], pack(m.tree(body, false), records[i][1])];
  }
  const image: unknown = { format: 'stackraft.catalog', v: 1, records };
  return pack(rng.chance(0.3) ? m.tree(image, true) : image, baseImage);
}

function restoreImage(input: Uint8Array): Outcome {
  const catalog = new Catalog();
  try {
    catalog.restore(input);
  } catch (error) {
    if (!(error instanceof CatalogFormatError)) throw error;
    return rejected(classifyFormatError(error.message), error.message);
  }
  // What was restored must be servable: a snapshot of it encodes.
  catalog.snapshot();
  return accepted();
}

function classifyFormatError(message: string): string {
  if (message.includes('not valid msgpack')) return 'msgpack';
  if (message.includes('format version')) return 'version';
  if (message.includes('malformed') || message.includes('no record list') || message.includes('not a stackraft')) return 'image-shape';
  return 'record';
}

export const snapshotTarget: FuzzTarget = {
  name: 'snapshot',
  covers: 'agent/catalog: decodeSnapshotImage, decodeRecord, Catalog.restore (then snapshot)',
  maxInputBytes: 64 * 1024,
  dictionary: ['r/flavor/', 'r/site/', 's/', 'y/', 'm/catalog', 'spec', 'revision', 'kind', 'records', 'format'],
  seeds: () => [baseImage],
  generate: generateImage,
  run: restoreImage,
};

// ------------------------------------------------------------------ committed entries

let applyCatalog = new Catalog();
applyCatalog.restore(baseImage);
let appliesSinceReset = 0;
let nextIndex = fixture.index + 1;

function applyEntry(input: Uint8Array): Outcome {
  if (++appliesSinceReset > APPLIES_PER_RESET) {
    applyCatalog = new Catalog();
    applyCatalog.restore(baseImage);
    appliesSinceReset = 0;
    nextIndex = fixture.index + 1;
  }
  const { result } = applyCatalog.apply({ index: nextIndex++, term: 1, type: NORMAL, data: input });
  const outcome = result as CommandResult;
  if (outcome.ok) return accepted();
  if (outcome.code !== 'VALIDATION') return rejected(outcome.code, outcome.message);
  const head = outcome.field.split(/[.[]/)[0];
  return rejected(`VALIDATION:${COMMAND_FIELDS.has(head) ? head : 'unknown-field'}`, `${outcome.field}: ${outcome.message}`);
}

/** Top-level fields of a command and its ops, for a low-cardinality rejection kind. */
const COMMAND_FIELDS = new Set(['command', 'v', 'type', 'clientId', 'seq', 'time', 'forced', 'ops', 'reports', 'op', 'kind', 'id', 'spec', 'placement', 'expectedRevision']);

function generateCommand(rng: Prng, m: Mutator): Uint8Array {
  const samples = sampleCommands();
  const sample = rng.pick(samples);
  const body = decodeMsgpack(sample) as Record<string, unknown>;
  return pack(m.tree({ ...body, seq: 1 + rng.int(1000), clientId: `c${rng.int(50)}` }, rng.chance(0.2)), sample);
}

export const commandTarget: FuzzTarget = {
  name: 'command',
  covers: 'agent/catalog: decodeCommand and Catalog.apply of committed entry data (every validator)',
  maxInputBytes: 64 * 1024,
  dictionary: ['put', 'patch', 'delete', 'ops', 'spec', 'kind', 'flavor', 'image', 'quota', 'site', 'protection-group', 'placement', 'expectedRevision', 'forced'],
  seeds: sampleCommands,
  generate: generateCommand,
  run: applyEntry,
  stateful: true,
};
