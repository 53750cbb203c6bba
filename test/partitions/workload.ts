// The load under which links are cut: several clients, each talking to one site's admin socket
// (Unix sockets, so clients in the host's namespace reach every site whatever the network does),
// writing unique values to a few keys and reading them back linearizably. Every operation goes into
// a history in the linearizability checker's form; a sampler polls every site's status to catch
// two leaders in one term.
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import type { HistoryOp, OpOutcome } from '../../sim/checkers/linearizability.js';
import type { StatusView } from '../agent/admin-http.js';

/** Keys of the register history: flavors whose description holds the value. */
export const KEYS = ['k1', 'k2', 'k3', 'k4'];
/** A write waits at most this long for its outcome inside the agent (then answers unknown). */
const WRITE_TIMEOUT_MS = 3_000;
/** The client's own bound on one request: beyond it the outcome is unknown. */
const CLIENT_TIMEOUT_MS = 10_000;
const REFUSAL_CODES = new Set(['NO_LEADER', 'NO_QUORUM', 'PEER_UNREACHABLE', 'BUSY']);
/** Sampler period and its bound on kept samples. */
const SAMPLE_MS = 50;
/** Pause after a request that failed to connect or answer (the agent may be restarting). */
const CONNECT_RETRY_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A connection the socket refused, or a socket file that is not there: the request was never sent. */
function notSent(error: unknown): boolean {
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOENT';
}
const MAX_SAMPLES = 200_000;

export interface Answer {
  status: number;
  code?: string;
  json: unknown;
}

/** One keep-alive connection to one site's admin socket, with a per-request deadline. */
export class SiteClient {
  private readonly client: Client;

  constructor(readonly site: string, socketPath: string) {
    this.client = new Client('http://localhost', { socketPath, headersTimeout: CLIENT_TIMEOUT_MS, bodyTimeout: CLIENT_TIMEOUT_MS, connect: { timeout: 2_000 } });
  }

  async request(method: string, path: string, body?: unknown): Promise<Answer> {
    const response = await this.client.request({
      method: method as 'GET',
      path,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const code = (json as { error?: { code?: string } } | undefined)?.error?.code;
    return { status: response.statusCode, code, json };
  }

  close(): Promise<void> {
    return this.client.close().catch(() => undefined);
  }
}

export interface OpStats {
  writesAcked: number;
  /** Not sent: the agent's socket refused the connection (nothing can have been written). */
  writesNotSent: number;
  writesRefused: number;
  writesRejected: number;
  writesUnknown: number;
  readsOk: number;
  readsRefused: number;
  readsOther: number;
}

export function emptyStats(): OpStats {
  return { writesAcked: 0, writesNotSent: 0, writesRefused: 0, writesRejected: 0, writesUnknown: 0, readsOk: 0, readsRefused: 0, readsOther: 0 };
}

/** Time since the history's origin, in ms. */
export class HistoryClock {
  private readonly origin = performance.now();
  nowMs(): number {
    return performance.now() - this.origin;
  }
}

export class History {
  readonly ops: HistoryOp[] = [];
  readonly stats = emptyStats();
  /** Values of writes that were refused (definitely not written): none may ever be seen. */
  readonly refusedValues = new Set<string>();
  /** Values of acknowledged writes. */
  readonly ackedValues = new Set<string>();
  private nextId = 0;

  constructor(readonly clock: HistoryClock) {}

  id(): number {
    return this.nextId++;
  }
}

function outcomeOfWrite(answer: Answer): { outcome: OpOutcome; counted: keyof OpStats } {
  if (answer.status === 200) return { outcome: 'ok', counted: 'writesAcked' };
  if (answer.code !== undefined && REFUSAL_CODES.has(answer.code)) return { outcome: 'refused', counted: 'writesRefused' };
  if (answer.code === 'UNKNOWN') return { outcome: 'unknown', counted: 'writesUnknown' };
  // Committed but rejected by apply (e.g. a stale sequence): it changed nothing.
  if (answer.status >= 400 && answer.status < 500) return { outcome: 'refused', counted: 'writesRejected' };
  return { outcome: 'unknown', counted: 'writesUnknown' };
}

/** A client that alternates writes and linearizable reads against one site until stopped. */
export class LoadClient {
  private seq = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private readonly clientId: string;

  constructor(
    readonly name: string,
    private readonly target: SiteClient,
    private readonly history: History,
    private readonly random: () => number,
  ) {
    this.clientId = `partition-${name}-${process.pid}`;
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const key = KEYS[Math.floor(this.random() * KEYS.length)];
      if (this.random() < 0.7) await this.write(key);
      else await this.read(key);
    }
  }

  async write(key: string): Promise<HistoryOp> {
    const seq = ++this.seq;
    const value = `${this.name}-${seq}`;
    const op: HistoryOp = { id: this.history.id(), key, kind: 'write', value, invokeMs: this.history.clock.nowMs(), outcome: 'unknown', site: this.target.site, client: this.name };
    this.history.ops.push(op);
    const body = { spec: { name: key, vcpus: 1, ram: 64, disk: 0, description: value }, clientId: this.clientId, seq, timeoutMs: WRITE_TIMEOUT_MS };
    let result: { outcome: OpOutcome; counted: keyof OpStats };
    try {
      result = outcomeOfWrite(await this.target.request('PUT', `/v1/resources/flavor/${key}`, body));
    } catch (error) {
      // No agent listening (it is restarting): the request never left, so nothing was written.
      result = notSent(error) ? { outcome: 'refused', counted: 'writesNotSent' } : { outcome: 'unknown', counted: 'writesUnknown' };
      await sleep(CONNECT_RETRY_MS);
    }
    op.outcome = result.outcome;
    if (result.outcome !== 'unknown') op.completeMs = this.history.clock.nowMs();
    this.history.stats[result.counted]++;
    if (result.outcome === 'refused') this.history.refusedValues.add(value);
    if (result.outcome === 'ok') this.history.ackedValues.add(value);
    return op;
  }

  async read(key: string): Promise<HistoryOp> {
    const op: HistoryOp = { id: this.history.id(), key, kind: 'read', invokeMs: this.history.clock.nowMs(), outcome: 'unknown', site: this.target.site, client: this.name };
    this.history.ops.push(op);
    try {
      const answer = await this.target.request('GET', `/v1/resources/flavor/${key}?linearizable=true`);
      if (answer.status === 200 || answer.code === 'NOT_FOUND') {
        op.outcome = 'ok';
        op.observed = answer.status === 200 ? descriptionOf(answer.json) : null;
        op.completeMs = this.history.clock.nowMs();
        this.history.stats.readsOk++;
      } else if (answer.code !== undefined && REFUSAL_CODES.has(answer.code)) {
        op.outcome = 'refused';
        op.completeMs = this.history.clock.nowMs();
        this.history.stats.readsRefused++;
      } else {
        this.history.stats.readsOther++;
      }
    } catch {
      this.history.stats.readsOther++;
      await sleep(CONNECT_RETRY_MS);
    }
    return op;
  }
}

export function descriptionOf(json: unknown): string | null {
  const spec = (json as { resource?: { spec?: { description?: unknown } } }).resource?.spec;
  return typeof spec?.description === 'string' ? spec.description : null;
}

export interface StatusSample {
  atMs: number;
  site: string;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
}

/** Polls every site's status; keeps (site, term) pairs where the site said it led. */
export class StatusSampler {
  readonly leadersByTerm = new Map<number, Set<string>>();
  private samples = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly clients: SiteClient[]) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.samples < MAX_SAMPLES) {
      await Promise.all(this.clients.map((c) => this.sample(c)));
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  }

  private async sample(client: SiteClient): Promise<void> {
    try {
      const answer = await client.request('GET', '/v1/status');
      if (answer.status !== 200) return;
      const view = answer.json as StatusView;
      this.samples++;
      if (view.role === 'leader') {
        let set = this.leadersByTerm.get(view.term);
        if (!set) this.leadersByTerm.set(view.term, (set = new Set()));
        set.add(view.site);
      }
    } catch {
      // A site that does not answer says nothing about leaders.
    }
  }

  /** Terms in which more than one site said it was the leader. */
  termsWithTwoLeaders(): Array<{ term: number; sites: string[] }> {
    return [...this.leadersByTerm].filter(([, sites]) => sites.size > 1).map(([term, sites]) => ({ term, sites: [...sites] }));
  }
}
