// Regression tests of the simulator's findings (docs/findings.md), each built as a
// fixed scenario on the simulated world rather than a lucky seed, so it keeps testing the bug
// whatever the random schedules do. A finding that is still open is marked `todo`: it runs and reports, and
// the suite stays green until the fix lands; then the marker goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectSites } from '../../sim/cities.js';
import { DEFAULT_SIM_OPTIONS } from '../../sim/harness/options.js';
import { chooseTopology } from '../../sim/harness/topology.js';
import { World } from '../../sim/harness/world.js';
import { SimNetwork } from '../../sim/network.js';
import { Prng } from '../../sim/prng.js';
import { Scheduler } from '../../sim/scheduler.js';
import { TraceHash } from '../../sim/stats.js';
import { WanModel, cutOff } from '../../sim/wan.js';

function threeSiteWorld(): { world: World; scheduler: Scheduler; network: SimNetwork } {
  const scheduler = new Scheduler();
  const root = new Prng(1);
  const locations = selectSites(3);
  const options = { ...DEFAULT_SIM_OPTIONS, sites: 3, voters: 3, clouds: false };
  const network = new SimNetwork(scheduler, new WanModel(locations, root));
  const world = new World(scheduler, network, chooseTopology(locations, 3, root.fork('topology')), root, options, {}, new TraceHash());
  world.bootAll();
  return { world, scheduler, network };
}

test(
  'F1: a site removed before it saw its removal, rebuilt on an empty disk and added back, catches up',
  { timeout: 30_000 },
  async () => {
    const { world, scheduler, network } = threeSiteWorld();
    await scheduler.runUntilAsync(3_000);
    const leader = world.leaderSite();
    assert.ok(leader, 'a leader within 3 s');
    const victim = world.sites.find((s) => s !== leader)!;
    // The victim cannot hear about its removal; it is shut down once the removal commits.
    const cut = network.partition(cutOff([victim.name], world.siteNames()));
    world.membership.request(victim, 'absent');
    await scheduler.runUntilAsync(8_000);
    assert.ok(victim.downReasons.has('removed'), 'the removal committed and the site was shut down');
    network.heal(cut);
    await scheduler.runUntilAsync(10_000);
    world.membership.request(victim, 'member'); // added back as a learner; housekeeping promotes it
    await scheduler.runUntilAsync(25_000);
    assert.equal(world.leaderSite(), leader, 'the same leader throughout');
    const st = leader.replica!.status();
    assert.ok(st.conf.voters.includes(victim.name), `${victim.name} is a voter again: ${JSON.stringify(st.conf)}`);
    assert.equal(victim.replica!.appliedIndex, leader.replica!.appliedIndex, `progress kept for ${victim.name}: ${JSON.stringify(st.progress?.find((p) => p.member === victim.name))}`);
  },
);

test(
  'F1 storm: under message duplication the leader and a site re-added that way do not flood each other',
  { timeout: 30_000 },
  async () => {
    const { world, scheduler, network } = threeSiteWorld();
    await scheduler.runUntilAsync(3_000);
    const victim = world.sites.find((s) => s !== world.leaderSite())!;
    const cut = network.partition(cutOff([victim.name], world.siteNames()));
    world.membership.request(victim, 'absent');
    await scheduler.runUntilAsync(8_000);
    network.heal(cut);
    await scheduler.runUntilAsync(10_000);
    network.setLinkFault('duplication', 0.1);
    world.membership.request(victim, 'member'); // added back as a learner; housekeeping promotes it
    // Three sites exchange well under 1,000 messages a second; a storm grows without bound.
    const perSecondBound = 20_000;
    for (let t = 11_000; t <= 15_000; t += 1_000) {
      const before = scheduler.eventCount;
      const ran = await scheduler.runUntilAsync(t, perSecondBound);
      assert.ok(ran < perSecondBound, `more than ${perSecondBound} events in the second before ${t} ms (started with ${scheduler.eventCount - before})`);
    }
  },
);
