// What a site's Glance sees of a blob-sourced image in the simulator. The daemon's driver opens
// such an image's source from the site's blob store (agent/blobs/local-source.ts) and fails with a
// retryable error carrying the fetch's progress until the store holds the whole blob, which the
// reconciler reports as `fetching` (the state other sites read as a partial holder). The in-memory
// cloud moves no bits ("declared" uploads), so this wraps a site's driver: an image whose source
// names a blob is created only once the daemon's local source opens it, through the same code and
// the same error. When it opens, the site's bits are checked at that moment (the blob-bits-held
// checker) and the opened stream is dropped unread: the modelled Glance records the catalog's
// digests, as for any simulated image.
import type { Readable } from 'node:stream';
import type { CloudDriver, ImageSource } from '../../drivers/index.js';

export interface GlanceGate {
  /** The daemon's local source: undefined for an ordinary URL, else the blob's bytes (or it throws). */
  open(source: ImageSource): Promise<Readable> | undefined;
  /** The bits are about to reach this site's Glance. */
  fed(url: string): Promise<void>;
}

export function gateBlobImages(driver: CloudDriver, gate: GlanceGate): CloudDriver {
  return new Proxy(driver, {
    get(target, prop, receiver) {
      if (prop === 'createImage') {
        return async (spec: Parameters<CloudDriver['createImage']>[0]) => {
          const opening = gate.open(spec.source);
          if (opening !== undefined) {
            (await opening).destroy();
            await gate.fed(spec.source.url);
          }
          return target.createImage(spec);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
