// Keystone v3 of the mock cloud: password and application-credential tokens, and a catalog that
// points every service at this server.
import { randomBytes } from 'node:crypto';
import { HttpFailure, readJson, route, sendJson, type RequestInfo, type Route } from './http-kit.js';

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

export function identityRoutes(state: IdentityState, tokens: TokenStore): Route[] {
  const issueToken = async (r: RequestInfo) => {
    const who = authenticate(state, await readJson(r));
    const issued = state.now();
    const expires = issued + state.tokenTtlMs;
    const value = tokens.issue({ projectId: who.projectId, userId: who.userId, expiresAtMs: expires });
    sendJson(
      r.res,
      201,
      {
        token: {
          methods: who.methods,
          user: { id: who.userId, name: state.users.find((u) => u.id === who.userId)?.name, domain: { id: 'default', name: 'Default' } },
          project: { id: who.projectId, name: state.projectName(who.projectId), domain: { id: 'default', name: 'Default' } },
          issued_at: isoSeconds(issued),
          expires_at: isoSeconds(expires),
          catalog: state.catalog(who.projectId),
        },
      },
      { 'X-Subject-Token': value },
    );
  };
  return [route('POST', /^\/identity\/v3\/auth\/tokens$/, 'identity', issueToken, { auth: false })];
}
