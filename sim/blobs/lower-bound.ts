// The swarm's lower bound for placing an image of S bytes from an origin o at every other site i,
// over access links with uplink U and downlink D (links.ts) and f(o, i) the fibre floor of the
// one-way latency (great-circle distance at the speed of light in fibre, sim/wan.ts):
//
//   T >= max( S / U_o + min_i f(o, i),   max_i ( f(o, i) + S / D_i ) )
//
// The origin must send every byte at least once (S / U_o), and the last byte it sends reaches a
// site no sooner than the nearest one is away. Every site must receive every byte (S / D_i), and its
// first byte left the origin no sooner than the start, so it arrived no sooner than f(o, i). Both
// terms hold whatever relays the bytes, so no schedule beats their maximum. It leaves out the time
// to learn of the image and to ask for it (one round trip at least), so it is not reachable.
import type { WanModel } from '../wan.js';
import type { AccessLinks } from './links.js';

export interface SwarmLowerBound {
  totalMs: number;
  /** S / U_o + min_i f(o, i). */
  originTermMs: number;
  /** max_i ( f(o, i) + S / D_i ), and the site that sets it. */
  receiverTermMs: number;
  slowestReceiver: string;
  originUplinkGbps: number;
  slowestDownlinkGbps: number;
  formula: string;
}

export function swarmLowerBound(imageBytes: number, origin: string, receivers: readonly string[], links: AccessLinks, wan: WanModel): SwarmLowerBound {
  const names = wan.siteNames();
  const gbps = (bytesPerSec: number) => (bytesPerSec * 8) / 1e9;
  const up = links.capacity(names.indexOf(origin)).uplinkBytesPerSec;
  const nearest = receivers.length === 0 ? 0 : Math.min(...receivers.map((r) => wan.fibreOneWayMs(origin, r)));
  const originTermMs = (imageBytes / up) * 1000 + nearest;
  let receiverTermMs = 0;
  let slowestReceiver = '';
  let slowestDown = Number.POSITIVE_INFINITY;
  for (const r of receivers) {
    const down = links.capacity(names.indexOf(r)).downlinkBytesPerSec;
    slowestDown = Math.min(slowestDown, down);
    const t = wan.fibreOneWayMs(origin, r) + (imageBytes / down) * 1000;
    if (t > receiverTermMs) {
      receiverTermMs = t;
      slowestReceiver = r;
    }
  }
  return {
    totalMs: Math.max(originTermMs, receiverTermMs),
    originTermMs,
    receiverTermMs,
    slowestReceiver,
    originUplinkGbps: gbps(up),
    slowestDownlinkGbps: receivers.length === 0 ? 0 : gbps(slowestDown),
    formula: 'max(S/U_origin + min_i f(origin,i), max_i (f(origin,i) + S/D_i))',
  };
}
