// One entry point per kind: untrusted spec in, normalized spec (defaults filled, maps sorted) out.
import { normalizeFlavorSpec } from './validate-flavor.js';
import { normalizeImageSpec } from './validate-image.js';
import { normalizeProtectionGroupSpec } from './validate-protection-group.js';
import { normalizeQuotaSpec } from './validate-quota.js';
import { normalizeSiteSpec } from './validate-site.js';
import type { ResourceKind, SpecByKind } from './types.js';

/** Throws SpecError naming the field. */
export function normalizeSpec<K extends ResourceKind>(kind: K, id: string, input: unknown): SpecByKind[K] {
  const normalizers: { [P in ResourceKind]: (input: unknown, id: string) => SpecByKind[P] } = {
    site: normalizeSiteSpec,
    flavor: normalizeFlavorSpec,
    image: normalizeImageSpec,
    quota: normalizeQuotaSpec,
    'protection-group': normalizeProtectionGroupSpec,
  };
  return normalizers[kind](input, id);
}
