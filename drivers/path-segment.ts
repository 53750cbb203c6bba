// Ids and keys go into cloud URLs as single path segments. Percent-escaping covers every character
// but the dot segments: URL parsers (undici's, the services' own) resolve '.' and '..' even when
// written %2e, so /flavors/../os-extra_specs would address another resource. Those are refused.
import { InvalidSpecError } from './errors.js';

/** `value` escaped as one URL path segment; throws InvalidSpecError (nothing is sent) for '', '.' or '..'. */
export function pathSegment(value: string, kind = 'resource'): string {
  if (value === '' || value === '.' || value === '..') {
    throw new InvalidSpecError(kind, value, 'id', "is not usable as a URL path segment ('', '.' and '..' are resolved by URL parsers)");
  }
  return encodeURIComponent(value);
}

/** `${prefix}/${id}` escaped but not checked: for naming a resource's path in an error, never for a request. */
export function describedPath(prefix: string, id: string): string {
  return `${prefix}/${encodeURIComponent(id)}`;
}
