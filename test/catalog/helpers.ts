// Shared fixtures for the catalog tests: valid specs per kind and a harness that numbers entries.
import { EntryType, type Entry } from '../../consensus/types.js';
import type { RecordOp } from '../../consensus/ports.js';
import { Catalog, type CatalogOptions } from '../../agent/catalog/catalog.js';
import { encodeCommand, syncStatusCommand, writeCommand } from '../../agent/catalog/command.js';
import type { CommandResult, SyncDigestReport, SyncReport, WriteOp } from '../../agent/catalog/types.js';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A well-formed Ed25519-style peer id text, distinct per n. */
export function peerIdFor(n: number): string {
  let tail = '';
  let x = n + 1;
  for (let i = 0; i < 44; i++) {
    tail += BASE58[(x * 7 + i * 13) % 58];
    x = Math.floor(x / 3) + i + n;
  }
  return `12D3KooW${tail}`;
}

export function siteSpec(name: string, n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    peerId: peerIdFor(n),
    addresses: [`/ip4/10.0.0.${n % 250}/tcp/4001`, `/dns4/${name}.example.net/tcp/4001/p2p/${peerIdFor(n)}`],
    region: 'us-east',
    country: 'US',
    labels: { tier: 'gold' },
    role: 'voter',
    ...extra,
  };
}

export function flavorSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'm1.small', vcpus: 1, ram: 2048, disk: 20, ...extra };
}

export const IMAGE_ID = '3f2a6c1e-8d4b-4c2a-9e1f-0a1b2c3d4e5f';
export const SHA256 = 'a'.repeat(64);

export function imageSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'ubuntu-24.04',
    diskFormat: 'qcow2',
    containerFormat: 'bare',
    source: { url: 'https://images.example.org/noble.qcow2', sha256: SHA256 },
    ...extra,
  };
}

export const PROJECT = '0123456789abcdef0123456789abcdef';

export function quotaSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { project: PROJECT, compute: { cores: 64, instances: 20 }, ...extra };
}

export function protectionGroupSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'pg1',
    project: PROJECT,
    replicationType: 'async',
    primarySite: 'paris',
    secondarySite: 'montreal',
    volumeType: 'replicated-ssd',
    members: ['11111111-2222-4333-8444-555555555555'],
    mappings: { networks: { 'net-a': 'net-b' } },
    ...extra,
  };
}

export interface Applied {
  index: number;
  result: CommandResult;
  ops: RecordOp[];
}

/** Applies commands with consecutive log indices, one client with increasing sequence numbers. */
export class Harness {
  index = 0;
  seq = 0;
  time = 1_700_000_000_000;
  /** Every record op applied, in order (what storage would hold). */
  readonly store = new Map<string, Uint8Array>();

  constructor(
    readonly catalog: Catalog = new Catalog(),
    readonly clientId = 'test-client',
  ) {}

  static withOptions(options: CatalogOptions): Harness {
    return new Harness(new Catalog(options));
  }

  applyBytes(data: Uint8Array, type: Entry['type'] = EntryType.Normal): Applied {
    const index = ++this.index;
    const { result, ops } = this.catalog.apply({ index, term: 1, type, data });
    for (const op of ops) {
      if (op.type === 'put') this.store.set(op.key, op.value);
      else this.store.delete(op.key);
    }
    return { index, result: result as CommandResult, ops };
  }

  write(...ops: WriteOp[]): Applied {
    this.time += 1000;
    return this.applyBytes(encodeCommand(writeCommand({ clientId: this.clientId, seq: ++this.seq, time: this.time }, ops)));
  }

  report(...reports: SyncReport[]): Applied {
    return this.reportWithDigest(undefined, ...reports);
  }

  /** A syncStatus command carrying a site's digest (`through`) beside its reports. */
  reportWithDigest(digest: SyncDigestReport | undefined, ...reports: SyncReport[]): Applied {
    this.time += 1000;
    return this.applyBytes(encodeCommand(syncStatusCommand({ clientId: this.clientId, seq: ++this.seq, time: this.time }, reports, digest)));
  }

  /** Adds sites paris (FR, eu-west) and montreal (CA, ca-east). */
  addTwoSites(): void {
    const result = this.write(
      { op: 'put', kind: 'site', id: 'paris', spec: siteSpec('paris', 1, { region: 'eu-west', country: 'FR' }) },
      { op: 'put', kind: 'site', id: 'montreal', spec: siteSpec('montreal', 2, { region: 'ca-east', country: 'CA' }) },
    ).result;
    if (!result.ok) throw new Error(`fixture sites refused: ${JSON.stringify(result)}`);
  }
}

export function expectOk(result: CommandResult): number[] {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.revisions;
}
