// Multiaddr checks shared by the config file and the admin API (site add).
import { multiaddr } from '@multiformats/multiaddr';

export type MultiaddrCheck = { ok: true; peerId: string | undefined } | { ok: false; reason: string };

/** Parses a multiaddr string; reports the /p2p/ peer id it names, if any. */
export function checkMultiaddr(text: string): MultiaddrCheck {
  try {
    const components = multiaddr(text).getComponents();
    const p2p = components.filter((c) => c.name === 'p2p');
    if (p2p.length > 1) return { ok: false, reason: 'more than one /p2p/ component' };
    return { ok: true, peerId: p2p[0]?.value };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
