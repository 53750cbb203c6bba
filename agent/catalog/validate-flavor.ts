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
  const normalized: FlavorSpec = {
    name: readString(spec, 'name', 'spec', NOVA_NAME),
    vcpus: readInt(spec, 'vcpus', 'spec', { min: 1, max: NOVA_MAX_INT }),
    ram: readInt(spec, 'ram', 'spec', { min: 1, max: NOVA_MAX_INT }),
    disk: readInt(spec, 'disk', 'spec', { min: 0, max: NOVA_MAX_INT }),
    ephemeral: readInt(spec, 'ephemeral', 'spec', { min: 0, max: NOVA_MAX_INT }, FLAVOR_DEFAULTS.ephemeral),
    swap: readInt(spec, 'swap', 'spec', { min: 0, max: NOVA_MAX_INT }, FLAVOR_DEFAULTS.swap),
    rxtxFactor: readPositiveNumber(spec, 'rxtxFactor', 'spec', NOVA_MAX_RXTX_FACTOR, FLAVOR_DEFAULTS.rxtxFactor),
    isPublic: readBoolean(spec, 'isPublic', 'spec', FLAVOR_DEFAULTS.isPublic),
    extraSpecs: readStringMap(spec, 'extraSpecs', 'spec', {
      maxEntries: MAX_FLAVOR_EXTRA_SPECS,
      key: EXTRA_SPEC_KEY,
      value: { min: 0, max: 255 },
    }),
  };
  const description = readOptionalString(spec, 'description', 'spec', { min: 0, max: MAX_DESCRIPTION_CHARS, multiline: true });
  if (description !== undefined) normalized.description = description;
  const accessProjects = readStringList(spec, 'accessProjects', 'spec', { maxItems: MAX_FLAVOR_ACCESS_PROJECTS, item: PROJECT_ID, unique: true });
  if (accessProjects.length > 0) {
    if (normalized.isPublic) {
      throw new SpecError('spec.accessProjects', 'spec.accessProjects gives projects access to a private flavor; a public flavor is open to every project (set isPublic false)');
    }
    // Sorted, so the same set is the same spec (no new revision for a reordering).
    normalized.accessProjects = [...accessProjects].sort();
  }
  return normalized;
}
