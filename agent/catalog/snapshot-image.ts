// The snapshot image: the catalog's records sorted by key, wrapped with a format name and version.
// Records are canonical, so two catalogs in the same state produce byte-identical images.
import { decodeMsgpack, encodeCanonical } from './codec.js';
import { CatalogFormatError, describeVersion } from './records.js';
import { isPlainObject } from './spec-reader.js';
import { CATALOG_SNAPSHOT_VERSION } from './types.js';

export const SNAPSHOT_FORMAT = 'stackraft.catalog';

export function encodeSnapshotImage(records: Array<[string, Uint8Array]>): Uint8Array {
  const sorted = [...records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return encodeCanonical({ format: SNAPSHOT_FORMAT, v: CATALOG_SNAPSHOT_VERSION, records: sorted });
}

/** Throws CatalogFormatError when the image is not a catalog snapshot this agent can read. */
export function decodeSnapshotImage(image: Uint8Array): Array<[string, Uint8Array]> {
  let body: unknown;
  try {
    body = decodeMsgpack(image);
  } catch {
    throw new CatalogFormatError('catalog snapshot image is not valid msgpack');
  }
  if (!isPlainObject(body) || body.format !== SNAPSHOT_FORMAT) {
    throw new CatalogFormatError('snapshot image is not a stackraft catalog snapshot');
  }
  if (body.v !== CATALOG_SNAPSHOT_VERSION) {
    throw new CatalogFormatError(
      `catalog snapshot has format version ${describeVersion(body.v)}; this agent reads version ${CATALOG_SNAPSHOT_VERSION} (upgrade the agent)`,
    );
  }
  const records = body.records;
  if (!Array.isArray(records)) throw new CatalogFormatError('catalog snapshot has no record list');
  return records.map((record, i) => {
    if (!Array.isArray(record) || record.length !== 2 || typeof record[0] !== 'string' || !(record[1] instanceof Uint8Array)) {
      throw new CatalogFormatError(`catalog snapshot record ${i} is malformed`);
    }
    return [record[0], new Uint8Array(record[1])] as [string, Uint8Array];
  });
}
