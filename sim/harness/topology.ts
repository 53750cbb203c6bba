// Which sites vote: `count` voters spread across regions (one per region, regions in a seeded
// order, a seeded site in each; past one per region, further rounds), the rest learners. The
// bootstrap lists keep the sites' own order, identical on every founder.
import type { SiteLocation } from '../cities.js';
import type { Prng } from '../prng.js';
import type { Topology } from './world.js';

export function chooseTopology(locations: readonly SiteLocation[], count: number, prng: Prng): Topology {
  if (!(count >= 1 && count <= locations.length)) throw new RangeError(`voter count must be in [1, ${locations.length}], got ${count}`);
  const byRegion = new Map<string, SiteLocation[]>();
  for (const loc of locations) {
    const list = byRegion.get(loc.region) ?? [];
    list.push(loc);
    byRegion.set(loc.region, list);
  }
  const regions = prng.shuffle([...byRegion.keys()]);
  const pools = regions.map((r) => prng.shuffle([...byRegion.get(r)!]));
  const chosen = new Set<string>();
  while (chosen.size < count) {
    for (const pool of pools) {
      const next = pool.shift();
      if (next !== undefined && chosen.size < count) chosen.add(next.name);
    }
  }
  const voters = locations.filter((l) => chosen.has(l.name)).map((l) => l.name);
  const learners = locations.filter((l) => !chosen.has(l.name)).map((l) => l.name);
  return { locations: [...locations], voters, learners };
}
