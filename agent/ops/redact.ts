// Removes secrets from log objects before they are written. pino's own `redact` only matches fixed
// paths; credentials show up at any depth (a Keystone auth body, request headers, a config dump), so
// keys are matched by name at every level instead.

export const REDACTED = '[REDACTED]';

/** Deeper structures are cut off: logging must never walk an unbounded graph. */
export const MAX_REDACT_DEPTH = 8;

/** Key names, lowercased with '-' and '_' removed, that always hold secrets. */
const SECRET_KEYS = new Set(['authorization', 'proxyauthorization', 'cookie', 'setcookie', 'apikey', 'credentials']);
/** Suffixes of such names: password, adminPassword, application_credential_secret, X-Auth-Token, privateKey, ... */
const SECRET_SUFFIXES = ['password', 'passwd', 'passphrase', 'secret', 'token', 'privatekey', 'privkey', 'keymaterial', 'seed'];

export function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[-_]/g, '');
  if (SECRET_KEYS.has(normalized)) return true;
  return SECRET_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Returns `value` with every secret-named key replaced by REDACTED, copying only plain objects and
 * arrays (class instances such as Error are left for pino's serializers).
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth >= MAX_REDACT_DEPTH) return Array.isArray(value) || isPlainObject(value) ? '[TOO DEEP]' : value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSecretKey(key) && item !== undefined && item !== null ? REDACTED : redactSecrets(item, depth + 1);
  }
  return out;
}
