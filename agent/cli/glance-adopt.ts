// `image create --from-glance` and `import --kind image --apply`: the agent takes an image's bits
// from its own Glance into its blob store (a job: gigabytes outlast any one request), the CLI asks
// how far it is until it is done, then builds the catalog source that names the blob. The record is
// written by the caller; the origin's reconciler then marks the Glance image as this cluster's.
import type { JsonObject } from '../admin/service.js';
import type { AdoptionView, GlanceImageFacts } from '../blobs/glance-adopt.js';
import { blobSourceUrl } from '../catalog/types.js';
import type { AdminClient } from './client.js';
import { CliError, EXIT } from './errors.js';

/** How often the CLI asks how far the agent is. */
export const ADOPTION_POLL_MS = 300;

export interface AdoptedGlanceImage {
  site: string;
  image: GlanceImageFacts;
  /** The catalog's `spec.source`: kind glance, the blob, this site as origin. */
  source: JsonObject;
}

export async function adoptFromGlance(client: AdminClient, imageId: string, progress: (view: AdoptionView) => void = () => {}): Promise<AdoptedGlanceImage> {
  let view = await client.post<AdoptionView>('/v1/glance-adoptions', { imageId });
  progress(view);
  while (view.state === 'running') {
    await new Promise((resolve) => setTimeout(resolve, ADOPTION_POLL_MS));
    view = await client.get<AdoptionView>(`/v1/glance-adoptions/${encodeURIComponent(imageId)}`);
    progress(view);
  }
  if (view.state === 'failed' || view.blob === undefined || view.image === undefined) {
    const error = view.error ?? { code: 'CLOUD_ERROR', message: 'the agent gave no result' };
    const exit = error.code === 'CLOUD_ERROR' || error.code === 'STORE_FULL' ? EXIT.UNEXPECTED : EXIT.REJECTED;
    throw new CliError(`--from-glance ${imageId}: ${error.message} (${error.code}); nothing was stored`, exit);
  }
  const { blob } = view;
  return {
    site: view.site,
    image: view.image,
    source: { kind: 'glance', url: blobSourceUrl(blob.root), sha256: blob.sha256, sha512: blob.sha512, blob: { root: blob.root, size: blob.size, md5: blob.md5 }, origin: view.site },
  };
}
