// Keystone v3: one project-scoped token (password or application credential), cached and renewed
// ahead of its expiry and after a 401; endpoints picked from its catalog by type, interface, region.
import { CloudError } from '../errors.js';
import type { AuthConfig, EndpointInterface } from './config.js';
import type { HttpClient } from './http.js';

export interface CatalogEndpoint {
  interface: string;
  region: string | null;
  url: string;
}

export interface CatalogService {
  type: string;
  endpoints: CatalogEndpoint[];
}

export interface Token {
  value: string;
  projectId: string;
  /** Local clock time after which the token is renewed before use. */
  renewAtMs: number;
  catalog: CatalogService[];
}

export interface KeystoneSessionOptions {
  now: () => number;
  /** Renew this long before expiry (capped at half the token's lifetime). */
  renewMarginMs: number;
}

/** Keystone URL with '/v3' (clouds.yaml often gives the bare root). */
export function identityV3Url(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(base) ? base : `${base}/v3`;
}

function domainOf(name: string | undefined, id: string | undefined): Record<string, string> | undefined {
  if (id !== undefined) return { id };
  if (name !== undefined) return { name };
  return undefined;
}

function userOf(a: AuthConfig): Record<string, unknown> {
  if (a.userId !== undefined) return { id: a.userId };
  return { name: a.username, domain: domainOf(a.userDomainName, a.userDomainId) };
}

export function tokenRequestBody(a: AuthConfig): unknown {
  if (a.type === 'applicationCredential') {
    const credential: Record<string, unknown> =
      a.applicationCredentialId !== undefined
        ? { id: a.applicationCredentialId, secret: a.applicationCredentialSecret }
        : { name: a.applicationCredentialName, secret: a.applicationCredentialSecret, user: userOf(a) };
    return { auth: { identity: { methods: ['application_credential'], application_credential: credential } } };
  }
  const project =
    a.projectId !== undefined ? { id: a.projectId } : { name: a.projectName, domain: domainOf(a.projectDomainName, a.projectDomainId) };
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { ...userOf(a), password: a.password } } },
      scope: { project },
    },
  };
}

function badToken(why: string): CloudError {
  return new CloudError({ code: 'BAD_RESPONSE', service: 'identity', method: 'POST', path: '/v3/auth/tokens', status: 201, cloudMessage: '', retryable: false, message: `Keystone token response ${why}` });
}

function parseCatalog(raw: unknown): CatalogService[] {
  if (!Array.isArray(raw)) throw badToken('has no catalog (is the token project-scoped?)');
  return raw.map((s: Record<string, unknown>) => ({
    type: String(s.type),
    endpoints: (Array.isArray(s.endpoints) ? s.endpoints : []).map((e: Record<string, unknown>) => ({
      interface: String(e.interface),
      region: typeof e.region_id === 'string' ? e.region_id : typeof e.region === 'string' ? e.region : null,
      url: String(e.url),
    })),
  }));
}

export class KeystoneSession {
  private current: Token | undefined;
  private pending: Promise<Token> | undefined;
  /** Tokens issued so far (for tests and metrics). */
  issued = 0;

  constructor(
    private readonly http: HttpClient,
    private readonly auth: AuthConfig,
    private readonly options: KeystoneSessionOptions,
  ) {}

  /** A valid token: the cached one, or a new one (concurrent callers share one request). */
  async token(): Promise<Token> {
    const t = this.current;
    if (t !== undefined && this.options.now() < t.renewAtMs) return t;
    this.pending ??= this.issue().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** A service said 401 to `value`: forget it so the next token() call authenticates again. */
  invalidate(value: string): void {
    if (this.current?.value === value) this.current = undefined;
  }

  private async issue(): Promise<Token> {
    const url = `${identityV3Url(this.auth.authUrl)}/auth/tokens`;
    let res;
    try {
      res = await this.http.send({ service: 'identity', method: 'POST', url, json: tokenRequestBody(this.auth), headers: { Accept: 'application/json' } });
    } catch (err) {
      if (err instanceof CloudError && err.status === 401) {
        const who = this.auth.type === 'password' ? `user ${this.auth.username ?? this.auth.userId}` : `application credential ${this.auth.applicationCredentialId ?? this.auth.applicationCredentialName}`;
        throw new CloudError({ code: 'UNAUTHORIZED', service: 'identity', method: 'POST', path: err.path, status: 401, cloudMessage: err.cloudMessage, retryable: false, message: `Keystone at ${this.auth.authUrl} refused the credentials of ${who}: ${err.cloudMessage}` });
      }
      throw err;
    }
    const header = res.headers['x-subject-token'];
    const value = Array.isArray(header) ? header[0] : header;
    if (value === undefined || value === '') throw badToken('has no X-Subject-Token header');
    const body = (res.json as { token?: Record<string, unknown> } | undefined)?.token;
    if (body === undefined) throw badToken('has no token body');
    const expiresAt = Date.parse(String(body.expires_at));
    const issuedAt = Date.parse(String(body.issued_at));
    if (!Number.isFinite(expiresAt)) throw badToken(`has an unreadable expires_at ${JSON.stringify(body.expires_at)}`);
    // Measure the lifetime on Keystone's clock and count it from our own: immune to clock skew.
    const lifetimeMs = Number.isFinite(issuedAt) ? expiresAt - issuedAt : expiresAt - Date.now();
    const margin = Math.min(this.options.renewMarginMs, lifetimeMs / 2);
    const project = body.project as { id?: unknown } | undefined;
    if (typeof project?.id !== 'string') throw badToken('is not project-scoped');
    const token: Token = { value, projectId: project.id, renewAtMs: this.options.now() + lifetimeMs - margin, catalog: parseCatalog(body.catalog) };
    this.current = token;
    this.issued++;
    return token;
  }
}

/** The endpoint URL of the first service type present, for this interface and region. */
export function findEndpoint(catalog: CatalogService[], types: readonly string[], iface: EndpointInterface, region: string | undefined): string | undefined {
  for (const type of types) {
    for (const service of catalog) {
      if (service.type !== type) continue;
      const endpoint = service.endpoints.find((e) => e.interface === iface && (region === undefined || e.region === region));
      if (endpoint !== undefined) return endpoint.url.replace(/\/+$/, '');
    }
  }
  return undefined;
}
