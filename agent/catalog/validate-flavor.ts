// flavor: a Nova flavor, created with the same id on every site it is placed on (Nova v2.1 limits).
import { MAX_DESCRIPTION_CHARS, MAX_FLAVOR_ACCESS_PROJECTS, MAX_FLAVOR_EXTRA_SPECS, NOVA_MAX_INT, NOVA_MAX_RXTX_FACTOR } from './limits.js';
import { PROJECT_ID } from './names.js';
import {
  expectObject,
  readBoolean,
  readInt,
  readOptionalString,
  readPositiveNumber,
  readString,
  readStringList,
  readStringMap,
  rejectUnknownFields,
  SpecError,
  type StringRule,
} from './spec-reader.js';
import { FLAVOR_DEFAULTS, FLAVOR_FIELDS } from './spec-fields.js';
import type { FlavorSpec } from './types.js';

/** Nova's "name" format: 1-255 printable characters, no leading or trailing white space. */
export const NOVA_NAME: StringRule = { min: 1, max: 255, trimmed: true };

/** Nova's key format, but not '.' or '..': a key is a URL path segment when it is deleted. */
const EXTRA_SPEC_KEY: StringRule = {
  min: 1,
  max: 255,
  pattern: /^(?!\.\.?$)[A-Za-z0-9\-_:. ]+$/,
  patternHint: "letters, digits, '-', '_', ':', '.' or ' ', not '.' or '..'",
};

export function normalizeFlavorSpec(input: unknown): FlavorSpec {
  const spec = expectObject(input, 'spec');
  rejectUnknownFields(spec, FLAVOR_FIELDS, 'spec');
  // Read in this order (it decides which error a spec with several bad fields gets, on every site)...
  const name = readString(spec, 'name', 'spec', NOVA_NAME);
  const vcpus = readInt(spec, 'vcpus', 'spec', { min: 1, max: NOVA_MAX_INT });
  const ram = readInt(spec, 'ram', 'spec', { min: 1, max: NOVA_MAX_INT });
  const disk = readInt(spec, 'disk', 'spec', { min: 0, max: NOVA_MAX_INT });
  const ephemeral = readInt(spec, 'ephemeral', 'spec', { min: 0, max: NOVA_MAX_INT }, FLAVOR_DEFAULTS.ephemeral);
  const swap = readInt(spec, 'swap', 'spec', { min: 0, max: NOVA_MAX_INT }, FLAVOR_DEFAULTS.swap);
  const rxtxFactor = readPositiveNumber(spec, 'rxtxFactor', 'spec', NOVA_MAX_RXTX_FACTOR, FLAVOR_DEFAULTS.rxtxFactor);
  const isPublic = readBoolean(spec, 'isPublic', 'spec', FLAVOR_DEFAULTS.isPublic);
  const extraSpecs = readStringMap(spec, 'extraSpecs', 'spec', {
    maxEntries: MAX_FLAVOR_EXTRA_SPECS,
    key: EXTRA_SPEC_KEY,
    value: { min: 0, max: 255 },
  });
  const description = readOptionalString(spec, 'description', 'spec', { min: 0, max: MAX_DESCRIPTION_CHARS, multiline: true });
  const accessProjects = readStringList(spec, 'accessProjects', 'spec', { maxItems: MAX_FLAVOR_ACCESS_PROJECTS, item: PROJECT_ID, unique: true });
  if (accessProjects.length > 0 && isPublic) {
    throw new SpecError('spec.accessProjects', 'spec.accessProjects gives projects access to a private flavor; a public flavor is open to every project (set isPublic false)');
  }
  // ...and built in sorted key order, the order its record is encoded in (codec.ts), so encoding
  // the resource does not copy it. accessProjects is sorted, so the same set is the same spec.
  const normalized = {} as FlavorSpec;
  if (accessProjects.length > 0) normalized.accessProjects = [...accessProjects].sort();
  if (description !== undefined) normalized.description = description;
  normalized.disk = disk;
  normalized.ephemeral = ephemeral;
  normalized.extraSpecs = extraSpecs;
  normalized.isPublic = isPublic;
  normalized.name = name;
  normalized.ram = ram;
  normalized.rxtxFactor = rxtxFactor;
  normalized.swap = swap;
  normalized.vcpus = vcpus;
  return normalized;
}
