// The bits of a blob-sourced image, for this site's cloud driver: its source URL names the blob
// (catalog blobSourceUrl, a host under `.invalid`), and the driver opens it here, from this site's
// blob store, chunk by chunk, each chunk hashed as it is read. Until the store holds the whole blob
// the driver fails with SourceNotReadyError, whose message is the fetch's progress: the reconciler
// reports the image `fetching` there (bounded in rate) and Glance is never handed a partial blob.
import { Readable } from 'node:stream';
import { SourceNotReadyError, type ImageSource } from '../../drivers/index.js';
import { blobSourceUrl } from '../catalog/types.js';
import type { BlobFetchProgress } from './fetcher.js';
import type { BlobStorage } from './ports.js';

const BLOB_URL_PREFIX = blobSourceUrl('');

/** The blob root a source URL names, or undefined for an ordinary URL. */
export function blobRootOf(url: string | undefined): string | undefined {
  if (url === undefined || !url.startsWith(BLOB_URL_PREFIX)) return undefined;
  const root = url.slice(BLOB_URL_PREFIX.length);
  return /^[0-9a-f]{64}$/.test(root) ? root : undefined;
}

export interface LocalBlobSourceDeps {
  /** Null until the site is open. */
  store(): BlobStorage | null;
  progress(root: string): BlobFetchProgress | undefined;
}

export function localBlobSource(deps: LocalBlobSourceDeps): (source: ImageSource) => Promise<Readable> | undefined {
  return (source) => {
    const root = blobRootOf(source.url);
    if (root === undefined) return undefined;
    return openBlob(deps, root);
  };
}

async function openBlob(deps: LocalBlobSourceDeps, root: string): Promise<Readable> {
  const store = deps.store();
  if (store !== null && (await store.isComplete(root))) return Readable.from(store.read(root), { objectMode: false });
  const progress = deps.progress(root);
  throw new SourceNotReadyError(`/blob/${root.slice(0, 12)}`, describeProgress(progress, store?.heldBytes(root) ?? 0), progress?.state === 'failed');
}

/** `12.0 of 40.0 MiB, 55.1 MB/s from a, b; last error: ...` */
export function describeProgress(p: BlobFetchProgress | undefined, heldBytes: number): string {
  const mib = (n: number) => (n / 1048576).toFixed(1);
  if (p === undefined) return `${mib(heldBytes)} MiB held, no fetch started yet`;
  // bytesTotal is 0 until the manifest is here: say so rather than "of 0.0 MiB".
  const parts = [`${p.state} ${mib(p.bytesDone)} of ${p.bytesTotal > 0 || p.state === 'done' ? `${mib(p.bytesTotal)} MiB` : 'a size not known yet (no manifest)'}`];
  if (p.state === 'fetching') parts.push(`${(p.rateBytesPerSecond / 1e6).toFixed(1)} MB/s from ${p.peers.join(', ') || 'no peer yet'}`);
  if (p.avoided.length > 0) parts.push(`avoiding ${p.avoided.join(', ')}`);
  if (p.lastError !== undefined) parts.push(`last error: ${p.lastError}`);
  return parts.join(', ');
}
