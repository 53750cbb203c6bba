// The catalog reads the reconciler needs; the Catalog itself fits.
import type { Catalog } from '../catalog/index.js';

export type ReconcilerCatalog = Pick<Catalog, 'desiredResourcesFor' | 'get' | 'syncStatus' | 'syncDigest' | 'isDesiredOnSite' | 'count'>;
