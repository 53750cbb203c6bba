// Who a simulated site is to the others. Simulated sites have no libp2p key, but the records their
// housekeeping writes must pass the catalog's validation like real ones, so each gets a
// well-formed, unique, deterministic Ed25519-style peer id text and a DNS multiaddr to announce.
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

/** The address a simulated site announces (its housekeeping writes it into its own record). */
export function simSiteAddress(site: string): string {
  return `/dns4/${site}.sim.stackraft.test/tcp/4001`;
}
