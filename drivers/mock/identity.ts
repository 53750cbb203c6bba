// Keystone v3 of the mock cloud: password and application-credential tokens, and a catalog that
// points every service at this server.
import { randomBytes } from 'node:crypto';
import { HttpFailure, pathParam, readJson, route, sendJson, type RequestInfo, type Route } from './http-kit.js';

/** Live tokens kept; the oldest is forgotten first. */
export const MAX_MOCK_TOKENS = 10_000;

export interface MockUser {
  id: string;
  name: string;
  password: string;
}

export interface MockApplicationCredential {
  id: string;
  name: string;
  secret: string;
  userId: string;
  projectId: string;
}

interface TokenRecord {
  projectId: string;
  userId: string;
  expiresAtMs: number;
  /** For validation (GET /v3/auth/tokens): when and how the token was issued. */
  issuedAtMs?: number;
  methods?: string[];
}

export interface IdentityState {
  users: MockUser[];
  applicationCredentials: MockApplicationCredential[];
  /** Keystone project id -> name. */
  projectName: (id: string) => string | undefined;
  projectIdByName: (name: string) => string | undefined;
  tokenTtlMs: number;
  now: () => number;
  catalog: (projectId: string) => unknown[];
  /** Every Keystone project (id and name), for the projects API. */
  projects?: () => Array<{ id: string; name: string }>;
}

export class TokenStore {
  private readonly tokens = new Map<string, TokenRecord>();
  /** Tokens issued so far. */
  issued = 0;

  issue(record: TokenRecord): string {
    const value = `mock-${randomBytes(18).toString('base64url')}`;
    if (this.tokens.size >= MAX_MOCK_TOKENS) this.tokens.delete(this.tokens.keys().next().value as string);
    this.tokens.set(value, record);
    this.issued++;
    return value;
  }

  check(value: string | undefined, now: number): TokenRecord | undefined {
    if (value === undefined) return undefined;
    const t = this.tokens.get(value);
    if (t === undefined || t.expiresAtMs <= now) return undefined;
    return t;
  }

  /** Every token becomes invalid (as after a Keystone key rotation): clients must authenticate again. */
  revokeAll(): void {
    this.tokens.clear();
  }
}

const UNAUTHORIZED = 'The request you have made requires authentication.';

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function authenticate(state: IdentityState, body: unknown): { userId: string; projectId: string; methods: string[] } {
  const auth = (body as { auth?: Record<string, unknown> })?.auth;
  const identity = auth?.identity as Record<string, unknown> | undefined;
  const methods = Array.isArray(identity?.methods) ? (identity.methods as string[]) : [];
  if (methods.includes('application_credential')) {
    const ac = identity?.application_credential as Record<string, unknown> | undefined;
    const found = state.applicationCredentials.find((c) => (c.id === str(ac?.id) || c.name === str(ac?.name)) && c.secret === str(ac?.secret));
    if (found === undefined) throw new HttpFailure(401, UNAUTHORIZED);
    return { userId: found.userId, projectId: found.projectId, methods: ['application_credential'] };
  }
  if (!methods.includes('password')) throw new HttpFailure(400, 'Expecting to find identity methods in auth.');
  const user = (identity?.password as { user?: Record<string, unknown> } | undefined)?.user;
  const found = state.users.find((u) => (u.id === str(user?.id) || u.name === str(user?.name)) && u.password === str(user?.password));
  if (found === undefined) throw new HttpFailure(401, UNAUTHORIZED);
  if (user?.id === undefined && user?.domain === undefined) throw new HttpFailure(400, 'Expecting to find domain in user.');
  const project = (auth?.scope as { project?: Record<string, unknown> } | undefined)?.project;
  if (project === undefined) throw new HttpFailure(400, 'stackraft mock cloud issues project-scoped tokens only');
  const projectId = str(project.id) ?? state.projectIdByName(str(project.name) ?? '');
  if (projectId === undefined || state.projectName(projectId) === undefined) throw new HttpFailure(401, UNAUTHORIZED);
  return { userId: found.id, projectId, methods: ['password'] };
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000000Z');
}

function tokenBody(state: IdentityState, t: TokenRecord): Record<string, unknown> {
  return {
    token: {
      methods: t.methods ?? ['password'],
      user: { id: t.userId, name: state.users.find((u) => u.id === t.userId)?.name, domain: { id: 'default', name: 'Default' } },
      project: { id: t.projectId, name: state.projectName(t.projectId), domain: { id: 'default', name: 'Default' } },
      roles: [{ id: 'admin', name: 'admin' }],
      issued_at: isoSeconds(t.issuedAtMs ?? t.expiresAtMs - state.tokenTtlMs),
      expires_at: isoSeconds(t.expiresAtMs),
      catalog: state.catalog(t.projectId),
    },
  };
}

function renderProject(p: { id: string; name: string }, base: string): Record<string, unknown> {
  return { id: p.id, name: p.name, domain_id: 'default', description: '', enabled: true, is_domain: false, parent_id: 'default', tags: [], links: { self: `${base}/v3/projects/${p.id}` } };
}

export function identityRoutes(state: IdentityState, tokens: TokenStore, base: () => string = () => ''): Route[] {
  const issueToken = async (r: RequestInfo) => {
    const who = authenticate(state, await readJson(r));
    const issued = state.now();
    const record = { projectId: who.projectId, userId: who.userId, expiresAtMs: issued + state.tokenTtlMs, issuedAtMs: issued, methods: who.methods };
    const value = tokens.issue(record);
    sendJson(r.res, 201, tokenBody(state, record), { 'X-Subject-Token': value });
  };
  // Validation: the caller's own token authorises it (checked by the server), X-Subject-Token names
  // the token to check; an unknown or expired subject is a 404, as Keystone answers.
  const validateToken = (r: RequestInfo) => {
    const subject = r.req.headers['x-subject-token'];
    const t = tokens.check(typeof subject === 'string' ? subject : undefined, state.now());
    if (t === undefined) throw new HttpFailure(404, 'Could not find token.');
    if (r.method === 'HEAD') {
      r.res.writeHead(200, { 'X-Subject-Token': String(subject) }).end();
      return;
    }
    sendJson(r.res, 200, tokenBody(state, t), { 'X-Subject-Token': String(subject) });
  };
  const projects = () => (state.projects?.() ?? []).slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const identityBase = () => `${base()}/identity`;
  return [
    route('POST', /^\/identity\/v3\/auth\/tokens$/, 'identity', issueToken, { auth: false }),
    route('GET', /^\/identity\/v3\/auth\/tokens$/, 'identity', validateToken),
    route('HEAD', /^\/identity\/v3\/auth\/tokens$/, 'identity', validateToken),
    route('GET', /^\/identity\/v3\/projects$/, 'identity', (r) => {
      const name = r.query.get('name');
      const found = projects().filter((p) => name === null || p.name === name);
      sendJson(r.res, 200, { projects: found.map((p) => renderProject(p, identityBase())), links: { self: `${identityBase()}/v3/projects`, previous: null, next: null } });
    }),
    route('GET', /^\/identity\/v3\/projects\/([^/]+)$/, 'identity', (r) => {
      const id = pathParam(r, 0);
      const found = projects().find((p) => p.id === id);
      if (found === undefined) throw new HttpFailure(404, `Could not find project: ${id}.`);
      sendJson(r.res, 200, { project: renderProject(found, identityBase()) });
    }),
  ];
}
