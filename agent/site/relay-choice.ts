// Which voter relays to a learner (consensus/relay-plan.ts asks, on the leader): a live voter of
// the learner's own region when there is one — the catalog's site records say where each site is,
// and a region is the nearest thing to "nearest" both worlds know without measuring — else any
// live voter. Within the choice, learners are spread by name so one relay does not feed them all.
import { spreadByName, type PickRelay } from '../../consensus/relay-plan.js';
import type { MemberId } from '../../consensus/types.js';

export function relayInLearnersRegion(regionOf: (site: MemberId) => string | undefined): PickRelay {
  return (learner, candidates) => {
    const region = regionOf(learner);
    const near = region === undefined ? [] : candidates.filter((c) => regionOf(c) === region);
    return spreadByName(learner, near.length > 0 ? near : candidates);
  };
}
