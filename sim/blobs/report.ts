// The image placement's part of the report: its lines in the text summary and its checker rows.
import { BLOB_BITS_CHECK, BLOB_SERVED_CHECK } from '../checkers/blob-integrity.js';
import type { SimReport } from '../report.js';
import type { RunParts } from '../harness/simulation.js';
import type { BlobRolloutReport } from './run.js';

export function blobCheckerRows(parts: RunParts): SimReport['checkers'] {
  const blobs = parts.blobs;
  if (blobs === null) return [];
  const r = blobs.report;
  const row = (name: string, detail: string): SimReport['checkers'][number] => {
    const failures = blobs.log.failures().filter((f) => f.check === name);
    return { name, verdict: blobs.log.countFor(name) > 0 ? 'fail' : 'pass', detail, ...(failures.length > 0 ? { failures } : {}) };
  };
  return [
    row(BLOB_BITS_CHECK, `${r.holding + 1} sites hold the image (the origin included); each holds exactly the bits of its digests`),
    row(BLOB_SERVED_CHECK, `every chunk served was one its site had stored verified, with the chunk's bytes`),
  ];
}

export function formatBlobRollout(b: BlobRolloutReport): Array<[string, string]> {
  const s = (ms: number | null): string => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);
  const lb = b.lowerBound;
  const lines: Array<[string, string]> = [
    ['image', `${gib(b.imageBytes)} in ${b.chunks} chunks, origin ${b.origin}, ${b.swarm ? 'swarm (every holder serves)' : 'origin only (--swarm off)'}`],
    ['record committed', b.committedAtMs === null ? 'never' : `at ${s(b.committedAtMs)}`],
    ['every site holds it', `${s(b.allHeldAfterMs)} after the commit (${b.holding} of ${b.receivers} receivers; p50 ${s(b.heldAfterP50Ms)}, p90 ${s(b.heldAfterP90Ms)})`],
    ['swarm lower bound', `${s(lb.totalMs)} = ${lb.formula}: origin uplink ${lb.originUplinkGbps.toFixed(2)} Gb/s (${s(lb.originTermMs)}), slowest receiver ${lb.slowestReceiver} (${s(lb.receiverTermMs)}; slowest downlink ${lb.slowestDownlinkGbps.toFixed(2)} Gb/s)`],
    ['over the bound', b.overLowerBound === null ? 'n/a' : `${b.overLowerBound.toFixed(2)}×`],
    ...(b.faultsInFlight === undefined ? [] : [['faults in flight', `${b.faultsInFlight.episodes} fault episodes active from the commit until the last site held it${b.faultsInFlight.kinds.length > 0 ? ` (${b.faultsInFlight.kinds.join(', ')})` : ''}`] as [string, string]]),
    ...originOnlyLines(b),
    ['bytes sent', `origin ${gib(b.bytesSentByOrigin)}, other sites ${gib(b.bytesSentByOthers)}`],
    ['streams', `${b.streams.opened} opened, ${b.streams.refused} refused; ${b.badChunks} bad chunks, ${b.duplicateChunks} chunks received again by a site that held them`],
  ];
  return lines;
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function originOnlyLines(b: BlobRolloutReport): Array<[string, string]> {
  const o = b.originOnly;
  if (o === undefined) return [];
  const s = (ms: number | null): string => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);
  const speedup = o.allHeldAfterMs !== null && b.allHeldAfterMs !== null && b.allHeldAfterMs > 0 ? `${(o.allHeldAfterMs / b.allHeldAfterMs).toFixed(2)}×` : 'n/a';
  return [
    ['origin only', `${s(o.allHeldAfterMs)} (${o.holding} of ${b.receivers} receivers; origin sent ${gib(o.bytesSentByOrigin)}; verdict ${o.verdict}, trace ${o.traceHash})`],
    ['swarm speedup', `${speedup} (origin-only time over the swarm's)`],
  ];
}
