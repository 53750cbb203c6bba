// The catalog record of a simulated site. Simulated sites have no libp2p key, but their records
// must pass the catalog's validation like real ones, so each gets a well-formed, unique,
// deterministic Ed25519-style peer id text and a DNS multiaddr naming it.
import type { SiteLocation } from '../cities.js';
import { citySlug } from '../cities.js';
import { hashToWords } from '../prng.js';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** Ed25519 peer ids in base58btc are "12D3KooW" followed by 44 more characters. */
const PEER_ID_PREFIX = '12D3KooW';
const PEER_ID_TAIL_CHARS = 44;

export function simPeerId(site: string): string {
  let words = hashToWords(`peer-id/${site}`);
  let tail = '';
  for (let round = 0; tail.length < PEER_ID_TAIL_CHARS; round++) {
    for (const w of words) {
      let x = w >>> 0;
      for (let k = 0; k < 5 && tail.length < PEER_ID_TAIL_CHARS; k++) {
        tail += BASE58[x % 58];
        x = Math.floor(x / 58);
      }
    }
    words = hashToWords(`peer-id/${site}/${round}`);
  }
  return PEER_ID_PREFIX + tail;
}

export function siteRecordSpec(site: SiteLocation, role: 'voter' | 'learner'): Record<string, unknown> {
  const peerId = simPeerId(site.name);
  return {
    name: site.name,
    peerId,
    addresses: [`/dns4/${site.name}.sim.stackraft.test/tcp/4001/p2p/${peerId}`],
    region: site.region,
    country: site.country,
    labels: { city: citySlug(site.city) },
    role,
  };
}
